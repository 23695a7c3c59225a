/**
 * Calibration methods by name — Horizon's observer names `min_max`, `percentile`, `mse` and `kl` — and
 * the calibration qconfig of each: the method's observer on every activation, per-channel MinMax on the
 * weights (as every preset has).
 * @module
 */

import type { ObserverConfig } from "./observer_config.ts";
import { default_calib_8bit_fake_quant_qconfig, type QConfig, SPEC_FAKE_QUANT_SWITCH } from "./qconfig.ts";

/** A calibration method, by Horizon's observer name. */
export type CalibMethod = "min_max" | "percentile" | "mse" | "kl";

/** The calibration methods, by Horizon's observer names. */
export const CALIB_METHODS: readonly CalibMethod[] = Object.freeze(["min_max", "percentile", "mse", "kl"]);

/**
 * Whether `name` is a calibration method.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isCalibMethod } from "@hqat/qtensor";
 * assert(isCalibMethod("kl") && !isCalibMethod("mix"));
 * ```
 */
export function isCalibMethod(name: string): name is CalibMethod {
  return (CALIB_METHODS as readonly string[]).includes(name);
}

/**
 * The activation observer of a method: the SPEC.md observers with their defaults (averaging constant
 * 0.01; percentile 99.99 % over 2048 bins; MSE over 95 candidates; KL over 2048 bins).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { calibObserverConfig } from "@hqat/qtensor";
 * assert(calibObserverConfig("kl").kind === "kl" && calibObserverConfig("min_max").kind === "minMax");
 * ```
 */
export function calibObserverConfig(method: CalibMethod): ObserverConfig {
  switch (method) {
    case "min_max":
      return { kind: "minMax", averagingConstant: 0.01 };
    case "percentile":
      return { kind: "percentile", percentile: 99.99, bins: 2048, averagingConstant: 0.01 };
    case "mse":
      return { kind: "mse", averagingConstant: 0.01 };
    case "kl":
      return { kind: "kl", bins: 2048, averagingConstant: 0.01 };
    default: {
      const never: never = method;
      throw new TypeError(`Unknown calibration method "${never}"`);
    }
  }
}

/**
 * The calibration qconfig of a method, named `calib_<8|16>bit_<method>_fake_quant_qconfig` (the
 * percentile one at 8 bits is the seed's `default_calib_8bit_fake_quant_qconfig` itself).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { calibQConfigFor, default_calib_8bit_fake_quant_qconfig } from "@hqat/qtensor";
 * assert(calibQConfigFor("percentile") === default_calib_8bit_fake_quant_qconfig);
 * const q = calibQConfigFor("kl", { dtype: "qint16" });
 * assert(q.name === "calib_16bit_kl_fake_quant_qconfig" && q.activation?.dtype === "qint16");
 * ```
 */
export function calibQConfigFor(method: CalibMethod, options: { dtype?: "qint8" | "qint16" } = {}): QConfig {
  const dtype = options.dtype ?? "qint8";
  if (method === "percentile" && dtype === "qint8") return default_calib_8bit_fake_quant_qconfig;
  return Object.freeze({
    name: `calib_${dtype === "qint8" ? 8 : 16}bit_${method}_fake_quant_qconfig`,
    activation: Object.freeze({
      dtype,
      observer: calibObserverConfig(method),
      fakeQuant: SPEC_FAKE_QUANT_SWITCH,
    }),
    weight: default_calib_8bit_fake_quant_qconfig.weight,
    output: Object.freeze({ dtype }),
  });
}

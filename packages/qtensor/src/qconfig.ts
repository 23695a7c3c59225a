/**
 * The qconfig presets of the reference toolkit, as data: what each layer's activation (output) and
 * weight quantization use, under the seed's names and their camelCase twins.
 * @module
 */

import type { FakeQuantState } from "./fake_quant_state.ts";
import type { ObserverConfig } from "./observer_config.ts";

/** Whether fake quantization is on, per {@linkcode FakeQuantState} (the SPEC.md table). */
export type FakeQuantSwitch = Readonly<Record<FakeQuantState, boolean>>;

/** Fake quantization per state, from the SPEC.md table (off only in CALIBRATION). */
export const SPEC_FAKE_QUANT_SWITCH: FakeQuantSwitch = Object.freeze({
  QAT: true,
  CALIBRATION: false,
  VALIDATION: true,
});

/** How a layer's output (activation) is quantized: per tensor. */
export interface ActivationQConfig {
  /** The quantized type of the output. */
  readonly dtype: "qint8" | "qint16";
  /** The observer that determines the scale. */
  readonly observer: ObserverConfig;
  /** Whether fake quantization is on in each state. */
  readonly fakeQuant: FakeQuantSwitch;
  /**
   * LSQ: in QAT the scale is a trained parameter (initialized from the calibrated observer) instead of
   * the observer's; its gradient is LSQ's, scaled by 1/√(numel · qmax).
   */
  readonly learnableScale?: boolean;
}

/** How a layer's weight is quantized: qint8, per output channel. */
export interface WeightQConfig {
  /** Always qint8. */
  readonly dtype: "qint8";
  /** Channel axis of the per-channel scale (0, output channels). */
  readonly axis: 0;
  /** The observer that determines the per-channel scales. */
  readonly observer: ObserverConfig;
  /** Whether fake quantization is on in each state. */
  readonly fakeQuant: FakeQuantSwitch;
}

/** A qconfig: activation (null for a 32-bit output), weight, and the layer's output dtype. */
export interface QConfig {
  /** The seed's name, e.g. `default_qat_8bit_fake_quant_qconfig`. */
  readonly name: string;
  /** Output quantization; null when the layer keeps its 32-bit accumulator ("32-bit out"). */
  readonly activation: ActivationQConfig | null;
  /** Weight quantization. */
  readonly weight: WeightQConfig;
  /** The layer's output: the activation dtype, or qint32 for the 32-bit-out presets. */
  readonly output: { readonly dtype: "qint8" | "qint16" | "qint32" };
}

const WEIGHT: WeightQConfig = Object.freeze({
  dtype: "qint8",
  axis: 0,
  observer: Object.freeze({ kind: "minMax", averagingConstant: 0.01, axis: 0 }),
  fakeQuant: SPEC_FAKE_QUANT_SWITCH,
});

const PERCENTILE: ObserverConfig = Object.freeze({
  kind: "percentile",
  percentile: 99.99,
  bins: 2048,
  averagingConstant: 0.01,
});
const MIN_MAX: ObserverConfig = Object.freeze({ kind: "minMax", averagingConstant: 0.01 });

function preset(name: string, activation: ActivationQConfig | null): QConfig {
  return Object.freeze({
    name,
    activation: activation === null ? null : Object.freeze(activation),
    weight: WEIGHT,
    output: Object.freeze({ dtype: activation === null ? "qint32" : activation.dtype }),
  });
}

const act = (dtype: "qint8" | "qint16", observer: ObserverConfig): ActivationQConfig => ({
  dtype,
  observer,
  fakeQuant: SPEC_FAKE_QUANT_SWITCH,
});

/**
 * Calibration, 8-bit: activations qint8 with the percentile observer (99.99 %, 2048 bins, c = 0.01);
 * weights qint8 per channel with MinMax.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { default_calib_8bit_fake_quant_qconfig as q } from "@hqat/qtensor";
 * assert(q.activation?.observer.kind === "percentile" && q.weight.axis === 0);
 * ```
 */
export const default_calib_8bit_fake_quant_qconfig: QConfig = preset(
  "default_calib_8bit_fake_quant_qconfig",
  act("qint8", PERCENTILE),
);

/**
 * QAT, 8-bit: activations qint8 with MinMax (c = 0.01); weights qint8 per channel with MinMax.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { default_qat_8bit_fake_quant_qconfig as q } from "@hqat/qtensor";
 * assert(q.activation?.observer.kind === "minMax" && q.output.dtype === "qint8");
 * ```
 */
export const default_qat_8bit_fake_quant_qconfig: QConfig = preset(
  "default_qat_8bit_fake_quant_qconfig",
  act("qint8", MIN_MAX),
);

/**
 * QAT, 8-bit, with learned activation scales (LSQ): each activation's scale starts at its calibrated
 * value and is trained with the network; weights as in {@linkcode default_qat_8bit_fake_quant_qconfig}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { default_qat_8bit_lsq_fake_quant_qconfig as q } from "@hqat/qtensor";
 * assert(q.activation?.learnableScale === true && q.activation.dtype === "qint8");
 * ```
 */
export const default_qat_8bit_lsq_fake_quant_qconfig: QConfig = preset(
  "default_qat_8bit_lsq_fake_quant_qconfig",
  { ...act("qint8", MIN_MAX), learnableScale: true },
);

/**
 * Calibration, 8-bit weight with 32-bit output (a network's last layer): no output quantization.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { default_calib_8bit_weight_32bit_out_fake_quant_qconfig as q } from "@hqat/qtensor";
 * assert(q.activation === null && q.output.dtype === "qint32");
 * ```
 */
export const default_calib_8bit_weight_32bit_out_fake_quant_qconfig: QConfig = preset(
  "default_calib_8bit_weight_32bit_out_fake_quant_qconfig",
  null,
);

/**
 * QAT, 8-bit weight with 32-bit output: no output quantization.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { default_qat_8bit_weight_32bit_out_fake_quant_qconfig as q } from "@hqat/qtensor";
 * assert(q.activation === null && q.weight.dtype === "qint8");
 * ```
 */
export const default_qat_8bit_weight_32bit_out_fake_quant_qconfig: QConfig = preset(
  "default_qat_8bit_weight_32bit_out_fake_quant_qconfig",
  null,
);

/**
 * Calibration, 16-bit activations (percentile observer) with 8-bit per-channel weights.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { default_calib_16bit_fake_quant_qconfig as q } from "@hqat/qtensor";
 * assert(q.activation?.dtype === "qint16" && q.weight.dtype === "qint8");
 * ```
 */
export const default_calib_16bit_fake_quant_qconfig: QConfig = preset(
  "default_calib_16bit_fake_quant_qconfig",
  act("qint16", PERCENTILE),
);

/**
 * QAT, 16-bit activations (MinMax observer) with 8-bit per-channel weights.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { default_qat_16bit_fake_quant_qconfig as q } from "@hqat/qtensor";
 * assert(q.activation?.dtype === "qint16" && q.activation.observer.kind === "minMax");
 * ```
 */
export const default_qat_16bit_fake_quant_qconfig: QConfig = preset(
  "default_qat_16bit_fake_quant_qconfig",
  act("qint16", MIN_MAX),
);

/**
 * camelCase twin of {@linkcode default_calib_8bit_fake_quant_qconfig}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { default_calib_8bit_fake_quant_qconfig, defaultCalib8bitFakeQuantQconfig } from "@hqat/qtensor";
 * assert(defaultCalib8bitFakeQuantQconfig === default_calib_8bit_fake_quant_qconfig);
 * ```
 */
export const defaultCalib8bitFakeQuantQconfig: QConfig = default_calib_8bit_fake_quant_qconfig;

/**
 * camelCase twin of {@linkcode default_qat_8bit_fake_quant_qconfig}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { defaultQat8bitFakeQuantQconfig } from "@hqat/qtensor";
 * assert(defaultQat8bitFakeQuantQconfig.name === "default_qat_8bit_fake_quant_qconfig");
 * ```
 */
export const defaultQat8bitFakeQuantQconfig: QConfig = default_qat_8bit_fake_quant_qconfig;

/**
 * camelCase twin of {@linkcode default_calib_8bit_weight_32bit_out_fake_quant_qconfig}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { defaultCalib8bitWeight32bitOutFakeQuantQconfig as q } from "@hqat/qtensor";
 * assert(q.output.dtype === "qint32");
 * ```
 */
export const defaultCalib8bitWeight32bitOutFakeQuantQconfig: QConfig =
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig;

/**
 * camelCase twin of {@linkcode default_qat_8bit_weight_32bit_out_fake_quant_qconfig}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { defaultQat8bitWeight32bitOutFakeQuantQconfig as q } from "@hqat/qtensor";
 * assert(q.output.dtype === "qint32");
 * ```
 */
export const defaultQat8bitWeight32bitOutFakeQuantQconfig: QConfig =
  default_qat_8bit_weight_32bit_out_fake_quant_qconfig;

/**
 * camelCase twin of {@linkcode default_calib_16bit_fake_quant_qconfig}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { defaultCalib16bitFakeQuantQconfig as q } from "@hqat/qtensor";
 * assert(q.output.dtype === "qint16");
 * ```
 */
export const defaultCalib16bitFakeQuantQconfig: QConfig = default_calib_16bit_fake_quant_qconfig;

/**
 * camelCase twin of {@linkcode default_qat_16bit_fake_quant_qconfig}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { defaultQat16bitFakeQuantQconfig as q } from "@hqat/qtensor";
 * assert(q.output.dtype === "qint16");
 * ```
 */
export const defaultQat16bitFakeQuantQconfig: QConfig = default_qat_16bit_fake_quant_qconfig;

/**
 * Every preset by its seed name.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { QCONFIG_PRESETS } from "@hqat/qtensor";
 * assert(Object.keys(QCONFIG_PRESETS).length === 7);
 * ```
 */
export const QCONFIG_PRESETS: Readonly<Record<string, QConfig>> = Object.freeze(
  Object.fromEntries(
    [
      default_calib_8bit_fake_quant_qconfig,
      default_qat_8bit_fake_quant_qconfig,
      default_calib_8bit_weight_32bit_out_fake_quant_qconfig,
      default_qat_8bit_weight_32bit_out_fake_quant_qconfig,
      default_calib_16bit_fake_quant_qconfig,
      default_qat_16bit_fake_quant_qconfig,
      default_qat_8bit_lsq_fake_quant_qconfig,
    ].map((q) => [q.name, q]),
  ),
);

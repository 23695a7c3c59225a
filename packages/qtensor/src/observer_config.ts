/**
 * Observers described as data (what a qconfig holds) and built from that description.
 * @module
 */

import type { Observer, ObserverBaseOptions } from "./observer.ts";
import { fixedScaleObserver, minMaxObserver } from "./observer_minmax.ts";
import { klObserver } from "./observer_kl.ts";
import { mseObserver } from "./observer_mse.ts";
import { percentileObserver } from "./observer_percentile.ts";
import type { RoundingMode } from "./rounding.ts";

/** An observer as plain data: its kind and options (module name and dtype come when it is built). */
export type ObserverConfig =
  | { readonly kind: "minMax"; readonly averagingConstant?: number; readonly axis?: number }
  | {
    readonly kind: "percentile";
    readonly averagingConstant?: number;
    readonly percentile?: number;
    readonly bins?: number;
  }
  | {
    readonly kind: "mse";
    readonly averagingConstant?: number;
    readonly axis?: number;
    readonly stride?: number;
    readonly rounding?: RoundingMode;
  }
  | {
    readonly kind: "kl";
    readonly averagingConstant?: number;
    readonly axis?: number;
    readonly bins?: number;
  }
  | { readonly kind: "fixedScale"; readonly scale: number };

/** What {@linkcode createObserver} adds to a config: the module name and the range. */
export type ObserverBuildOptions = Omit<ObserverBaseOptions, "averagingConstant">;

/**
 * Builds the observer that `config` describes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { createObserver } from "@hqat/qtensor";
 * const obs = createObserver({ kind: "percentile", percentile: 99.99 }, { name: "layer1.act", dtype: "qint16" });
 * assert(obs.kind === "percentile" && obs.qmax === 32767);
 * ```
 */
export function createObserver(config: ObserverConfig, options: ObserverBuildOptions = {}): Observer {
  switch (config.kind) {
    case "minMax":
      return minMaxObserver({ ...options, averagingConstant: config.averagingConstant, axis: config.axis });
    case "percentile":
      return percentileObserver({
        ...options,
        averagingConstant: config.averagingConstant,
        percentile: config.percentile,
        bins: config.bins,
      });
    case "mse":
      return mseObserver({
        ...options,
        averagingConstant: config.averagingConstant,
        axis: config.axis,
        stride: config.stride,
        rounding: config.rounding,
      });
    case "kl":
      return klObserver({
        ...options,
        averagingConstant: config.averagingConstant,
        axis: config.axis,
        bins: config.bins,
      });
    case "fixedScale":
      return fixedScaleObserver(config.scale, options);
    default: {
      const never: never = config;
      throw new TypeError(`Unknown observer kind "${(never as { kind: string }).kind}"`);
    }
  }
}

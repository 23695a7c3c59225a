/**
 * Batch statistics of the histogram-based observers (percentile, MSE, KL). Their update depends on a
 * batch only through a few kilobytes per channel: the batch's min and max, and either the |x|
 * histogram or the squared error of each candidate range. An observer says which it needs
 * ({@linkcode BatchStatsPlan}); {@linkcode observeBatchStats} computes them on the CPU, a device kernel
 * may compute the same numbers where the data lives, and the observer's `updateFromStats` finishes the
 * update from them either way.
 * @module
 */

import { normalizeAxis } from "./dtypes.ts";
import { channelLayout } from "./layout.ts";
import { observedMinMax } from "./observer.ts";
import { absHistogram } from "./observer_histogram.ts";
import { candidateErrors, type ChannelSlice } from "./observer_sq_error.ts";
import type { RoundingMode } from "./rounding.ts";

/** What an observer needs of a batch besides its min and max. */
export type BatchStatsPlan =
  | {
    /** The |x| histogram of each channel over [0, absmax] (`absHistogram`). */
    readonly kind: "histogram";
    /** Bins per channel; 0 when the observer needs no histogram for this batch. */
    readonly bins: number;
  }
  | {
    /** The squared error of each candidate range of each channel (`candidateErrors`). */
    readonly kind: "squaredError";
    /** The candidate factors (`mseFactors`). */
    readonly factors: Float64Array;
    /** The rounding of the trial fake quantization. */
    readonly rounding: RoundingMode;
    /** The integer range. */
    readonly qmin: number;
    /** The integer range. */
    readonly qmax: number;
  };

/** One batch's statistics, per channel (one channel for a per-tensor observer). */
export interface BatchStats {
  /** Values per channel. */
  readonly count: number;
  /** The batch's float32 minimum per channel, as `observedMinMax` finds it. */
  readonly min: Float32Array;
  /** The batch's float32 maximum per channel. */
  readonly max: Float32Array;
  /** The histograms, channel after channel (`bins` counts each; empty without one). */
  readonly hist: Float64Array;
  /** The candidates' squared errors, channel after channel (empty for a histogram plan). */
  readonly errors: Float64Array;
}

/** Where the values of each channel lie: `outer` runs of `inner` values per channel. */
export interface BatchLayout {
  /** Runs per channel. */
  readonly outer: number;
  /** Channels. */
  readonly channels: number;
  /** Values per run. */
  readonly inner: number;
}

/**
 * The layout of a batch of `length` values for an observer along `axis` (one channel when undefined).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { batchLayout } from "@hqat/qtensor";
 * const l = batchLayout(24, { axis: 1, shape: [2, 3, 4], name: "w" });
 * assert(l.outer === 2 && l.channels === 3 && l.inner === 4 && batchLayout(5, { name: "a" }).inner === 5);
 * ```
 */
export function batchLayout(
  length: number,
  options: { readonly axis?: number; readonly shape?: readonly number[]; readonly name: string },
): BatchLayout {
  if (options.axis === undefined) return { outer: 1, channels: 1, inner: length };
  const shape = options.shape;
  if (shape === undefined) {
    throw new TypeError(
      `Observer "${options.name}" is per channel (axis ${options.axis}) and needs the shape`,
    );
  }
  const axis = normalizeAxis(options.axis, shape.length);
  const { outer, channels, inner } = channelLayout(shape, { axis, scaleCount: shape[axis], length });
  return { outer, channels, inner };
}

/**
 * The slice of channel `c` in a layout.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { channelSlice } from "@hqat/qtensor";
 * assert(channelSlice({ outer: 2, channels: 3, inner: 4 }, 1).offset === 4);
 * ```
 */
export function channelSlice(layout: BatchLayout, c: number): ChannelSlice {
  return {
    outer: layout.outer,
    inner: layout.inner,
    stride: layout.channels * layout.inner,
    offset: c * layout.inner,
  };
}

/**
 * The statistics of batch `x` that `plan` asks for, on the CPU; a non-finite value throws a RangeError
 * naming the module (as every observer's update does).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { observeBatchStats } from "@hqat/qtensor";
 * const s = observeBatchStats(Float32Array.of(-1, 0.1, 0.6), { kind: "histogram", bins: 2 }, { name: "act" });
 * assert(s.count === 3 && s.min[0] === -1 && s.hist.join() === "1,2");
 * ```
 */
export function observeBatchStats(
  x: ArrayLike<number>,
  plan: BatchStatsPlan,
  options: { readonly name: string; readonly axis?: number; readonly shape?: readonly number[] },
): BatchStats {
  const layout = batchLayout(x.length, options);
  const { min, max } = observedMinMax(x, options);
  const count = layout.outer * layout.inner, channels = layout.channels;
  if (plan.kind === "histogram") {
    const hist = new Float64Array(channels * plan.bins);
    if (plan.bins > 0) {
      for (let c = 0; c < channels; c++) {
        const absmax = Math.max(-min[c], max[c]);
        hist.set(absHistogram(x, { bins: plan.bins, absmax, slice: channelSlice(layout, c) }), c * plan.bins);
      }
    }
    return { count, min, max, hist, errors: new Float64Array(0) };
  }
  const k = plan.factors.length, errors = new Float64Array(channels * k);
  for (let c = 0; c < channels; c++) {
    errors.set(
      candidateErrors(x, {
        min: min[c],
        max: max[c],
        factors: plan.factors,
        qmin: plan.qmin,
        qmax: plan.qmax,
        rounding: plan.rounding,
        slice: channelSlice(layout, c),
      }),
      c * k,
    );
  }
  return { count, min, max, hist: new Float64Array(0), errors };
}

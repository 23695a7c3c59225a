/**
 * The observer contract. Observers are pure state transitions: an {@linkcode Observer} is an immutable
 * description (kind, range, options, module name) with `update(state, x) → state` and `scale(state)`;
 * the state is a plain, serializable `{ min, max }` (float32 per channel, empty before the first batch),
 * the `min_val` / `max_val` buffers of the reference implementation. A layer keeps its state and
 * replaces it after each update; nothing is mutated.
 * @module
 */

import { normalizeAxis, type QRange } from "./dtypes.ts";
import { channelLayout } from "./layout.ts";
import type { BatchStats, BatchStatsPlan } from "./observer_batch_stats.ts";
import { minMaxScanner } from "./observer_scan.ts";
import { determineScale, determineScalePerChannel } from "./scale.ts";

/** The observer kinds of SPEC.md. */
export type ObserverKind = "minMax" | "percentile" | "mse" | "kl" | "fixedScale";

/** Observer state: running float32 minimum and maximum per channel (length 1 per tensor; empty before any data). */
export interface ObserverState {
  /** Running minimum per channel. */
  readonly min: Float32Array;
  /** Running maximum per channel. */
  readonly max: Float32Array;
}

/** Options of an update. */
export interface ObserveOptions {
  /** Shape of the observed array; required by per-channel observers. */
  readonly shape?: readonly number[];
}

/** An observer: an immutable description plus pure transitions over {@linkcode ObserverState}. */
export interface Observer extends QRange {
  /** Which observer of SPEC.md this is. */
  readonly kind: ObserverKind;
  /** The module name used in error messages. */
  readonly name: string;
  /** Channel axis of a per-channel observer; absent for a per-tensor one. */
  readonly axis?: number;
  /** The state before the first batch. */
  readonly initialState: ObserverState;
  /** The state after observing `x` (non-finite values throw a RangeError naming the module). */
  update(state: ObserverState, x: ArrayLike<number>, options?: ObserveOptions): ObserverState;
  /** The float32 scales of `state` (length 1 or channels); `[1]` before the first batch. */
  scale(state: ObserverState): Float32Array;
  /**
   * For an observer whose update depends on a batch only through its statistics (percentile, mse, kl):
   * what it needs of a batch with `count` values per channel.
   */
  statsPlan?(count: number): BatchStatsPlan;
  /** The state after a batch with statistics `stats`; `update(state, x)` is this of `observeBatchStats(x, …)`. */
  updateFromStats?(state: ObserverState, stats: BatchStats): ObserverState;
}

/** Options every observer takes. */
export interface ObserverBaseOptions {
  /** Module name for error messages (default "observer"). */
  readonly name?: string;
  /** Quantized type (default qint8) … */
  readonly dtype?: "qint8" | "qint16";
  /** … or an explicit range. */
  readonly qmin?: number;
  /** … its upper end (with `qmin`). */
  readonly qmax?: number;
  /** Averaging constant `c` of the running min/max (default 0.01); 1 keeps only the last batch. */
  readonly averagingConstant?: number;
}

/** The empty state every data-driven observer starts from. */
export const EMPTY_OBSERVER_STATE: ObserverState = Object.freeze({
  min: new Float32Array(0),
  max: new Float32Array(0),
});

/**
 * Checks an averaging constant (a finite number in [0, 1]) and returns it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { checkAveragingConstant } from "@hqat/qtensor";
 * assert(checkAveragingConstant(undefined, "obs") === 0.01);
 * ```
 */
export function checkAveragingConstant(c: number | undefined, name: string): number {
  const v = c ?? 0.01;
  if (!(v >= 0 && v <= 1)) {
    throw new RangeError(`Observer "${name}": averaging constant ${v} must lie in [0, 1]`);
  }
  return v;
}

/**
 * The running min/max rule: the first batch sets the state; later batches move it by
 * `c · (current - previous)`, each step rounded to float32 (`prev + c32 · (cur - prev)` as PyTorch
 * computes it on float32 tensors, with `c32 = float32(c)`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { EMPTY_OBSERVER_STATE, movingAverageState } from "@hqat/qtensor";
 * const s1 = movingAverageState(EMPTY_OBSERVER_STATE, Float32Array.of(-1), Float32Array.of(1), 0.5);
 * const s2 = movingAverageState(s1, Float32Array.of(-3), Float32Array.of(2), 0.5);
 * assert(s2.min[0] === -2 && s2.max[0] === 1.5);
 * ```
 */
export function movingAverageState(
  state: ObserverState,
  min: Float32Array,
  max: Float32Array,
  averagingConstant: number,
): ObserverState {
  if (state.min.length === 0) return Object.freeze({ min, max });
  if (state.min.length !== min.length) {
    throw new RangeError(`Observer state has ${state.min.length} channels but the batch has ${min.length}`);
  }
  const c = Math.fround(averagingConstant);
  const nmin = new Float32Array(min.length);
  const nmax = new Float32Array(max.length);
  for (let i = 0; i < min.length; i++) {
    nmin[i] = state.min[i] + Math.fround(c * Math.fround(min[i] - state.min[i]));
    nmax[i] = state.max[i] + Math.fround(c * Math.fround(max[i] - state.max[i]));
  }
  return Object.freeze({ min: nmin, max: nmax });
}

/**
 * The error of an observer that saw a non-finite value `v` at element `i` of a batch (where the data
 * lives does not change the message).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { nonFiniteObservation } from "@hqat/qtensor";
 * assert(nonFiniteObservation("conv1", NaN, 3).message.includes('"conv1" saw a non-finite value (NaN) at element 3'));
 * ```
 */
export function nonFiniteObservation(name: string, v: number, i: number): RangeError {
  return new RangeError(
    `Observer "${name}" saw a non-finite value (${v}) at element ${i}; fix the input or the layer before calibrating`,
  );
}

/**
 * Float32 min and max of `x` per channel (one channel when `axis` is undefined); throws a RangeError
 * naming the module at the first NaN or ±Infinity.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { observedMinMax } from "@hqat/qtensor";
 * const { min, max } = observedMinMax(Float32Array.of(1, -2, 3, 4), { name: "m", axis: 0, shape: [2, 2] });
 * assert(min.join() === "-2,3" && max.join() === "1,4");
 * ```
 */
export function observedMinMax(
  x: ArrayLike<number>,
  options: { readonly name: string; readonly axis?: number; readonly shape?: readonly number[] },
): ObserverState {
  const { name } = options;
  let outer = 1, channels = 1, inner = x.length;
  if (options.axis !== undefined) {
    if (options.shape === undefined) {
      throw new TypeError(`Observer "${name}" is per channel (axis ${options.axis}) and needs the shape`);
    }
    const axis = normalizeAxis(options.axis, options.shape.length);
    ({ outer, channels, inner } = channelLayout(options.shape, {
      axis,
      scaleCount: options.shape[axis],
      length: x.length,
    }));
  }
  const min = new Float32Array(channels).fill(Infinity);
  const max = new Float32Array(channels).fill(-Infinity);
  // The SIMD scan of each run where it can tell the result, else the sequential scan (which also
  // reports a non-finite value).
  const scanner = x instanceof Float32Array && inner > 0 ? minMaxScanner(x) : undefined;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let lo = min[c], hi = max[c];
      const end = i + inner;
      const run = scanner?.scan(i, inner);
      if (run) {
        // Strict compares, as below: on a tie the earlier value stays.
        if (run[0] < lo) lo = run[0];
        if (run[1] > hi) hi = run[1];
        i = end;
      }
      for (; i < end; i++) {
        const v = Math.fround(x[i]);
        if (v - v !== 0) throw nonFiniteObservation(name, v, i);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      min[c] = lo;
      max[c] = hi;
    }
  }
  return { min, max };
}

/**
 * The scales of a min/max state: `[1]` before any data, else the SPEC.md rule per channel.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { scaleOfState } from "@hqat/qtensor";
 * const s = scaleOfState({ min: Float32Array.of(-1), max: Float32Array.of(0.5) }, { qmin: -128, qmax: 127 });
 * assert(s[0] === Math.fround(1 / 127.5));
 * ```
 */
export function scaleOfState(state: ObserverState, range: QRange): Float32Array {
  if (state.min.length === 0) return Float32Array.of(1);
  if (state.min.length === 1) return Float32Array.of(determineScale(state.min[0], state.max[0], range));
  return determineScalePerChannel(state.min, state.max, range);
}

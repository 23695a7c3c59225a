/**
 * The MSE observer: per batch, the range among `absmax · (1 - 0.01 i)`, i = 0..94, whose fake
 * quantization has the least squared error; then the running-average rule of the MinMax observer.
 * @module
 */

import { resolveRange } from "./dtypes.ts";
import {
  checkAveragingConstant,
  EMPTY_OBSERVER_STATE,
  movingAverageState,
  type ObserveOptions,
  type Observer,
  type ObserverBaseOptions,
  type ObserverState,
  scaleOfState,
} from "./observer.ts";
import { type BatchStats, type BatchStatsPlan, observeBatchStats } from "./observer_batch_stats.ts";
import { mseFactors } from "./observer_sq_error.ts";
import { roundingFunction, type RoundingMode } from "./rounding.ts";

/** Options of {@linkcode mseObserver}. */
export interface MseObserverOptions extends ObserverBaseOptions {
  /** Channel axis for a per-channel observer; absent for per tensor. */
  readonly axis?: number;
  /** Step of `i` over 0..94 (default 1). */
  readonly stride?: number;
  /** Rounding used for the trial fake quantization (default half to even). */
  readonly rounding?: RoundingMode;
}

/**
 * The MSE observer (per tensor, or per channel along `axis`). For each channel with batch range
 * `[min, max]`, candidate `i` (0, stride, …, ≤ 94) is `[float32(min · f), float32(max · f)]` with
 * `f = 1 - 0.01 i`; its scale follows the SPEC.md rule; the candidate with the least squared
 * fake-quantization error ({@linkcode candidateErrors}) wins (ties go to the larger `i`, the narrower range). The winners then
 * follow the running-average rule with constant `c`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mseObserver } from "@hqat/qtensor";
 * const obs = mseObserver({ name: "act", averagingConstant: 1 });
 * const x = Float32Array.from({ length: 1000 }, (_, i) => (i === 0 ? 10 : Math.sin(i)));
 * const st = obs.update(obs.initialState, x);
 * assert(st.max[0] < 10 && st.max[0] >= 0.05 * 10);
 * ```
 */
export function mseObserver(options: MseObserverOptions = {}): Observer {
  const name = options.name ?? "observer";
  const range = resolveRange(options);
  const c = checkAveragingConstant(options.averagingConstant, name);
  const stride = options.stride ?? 1;
  if (!Number.isInteger(stride) || stride < 1) {
    throw new RangeError(`Observer "${name}": stride ${stride} must be a positive integer`);
  }
  const rounding = options.rounding ?? "halfToEven";
  roundingFunction(rounding); // checks the mode
  const factors = mseFactors(stride);
  const axis = options.axis;
  const plan: BatchStatsPlan = Object.freeze({ kind: "squaredError", factors, rounding, ...range });
  const updateFromStats = (state: ObserverState, stats: BatchStats) => {
    const channels = stats.min.length, k = factors.length;
    const bmin = new Float32Array(channels), bmax = new Float32Array(channels);
    for (let ch = 0; ch < channels; ch++) {
      let best = Infinity;
      for (let i = 0; i < k; i++) {
        const err = stats.errors[ch * k + i];
        if (err <= best) {
          best = err;
          bmin[ch] = Math.fround(stats.min[ch] * factors[i]);
          bmax[ch] = Math.fround(stats.max[ch] * factors[i]);
        }
      }
    }
    return movingAverageState(state, bmin, bmax, c);
  };
  return Object.freeze({
    kind: "mse" as const,
    name,
    ...range,
    ...(axis === undefined ? {} : { axis }),
    initialState: EMPTY_OBSERVER_STATE,
    update(state: ObserverState, x: ArrayLike<number>, opts: ObserveOptions = {}) {
      if (x.length === 0) return state;
      return updateFromStats(state, observeBatchStats(x, plan, { name, axis, shape: opts.shape }));
    },
    scale: (state: ObserverState) => scaleOfState(state, range),
    statsPlan: () => plan,
    updateFromStats,
  });
}

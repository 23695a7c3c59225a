/**
 * The MSE observer: per batch, the range among `absmax · (1 - 0.01 i)`, i = 0..94, whose fake
 * quantization has the least squared error; then the running-average rule of the MinMax observer.
 * @module
 */

import { normalizeAxis, resolveRange } from "./dtypes.ts";
import { channelLayout } from "./layout.ts";
import {
  checkAveragingConstant,
  EMPTY_OBSERVER_STATE,
  movingAverageState,
  observedMinMax,
  type ObserveOptions,
  type Observer,
  type ObserverBaseOptions,
  type ObserverState,
  scaleOfState,
} from "./observer.ts";
import { roundingFunction, type RoundingMode } from "./rounding.ts";
import { determineScale } from "./scale.ts";

/** Options of {@linkcode mseObserver}. */
export interface MseObserverOptions extends ObserverBaseOptions {
  /** Channel axis for a per-channel observer; absent for per tensor. */
  readonly axis?: number;
  /** Step of `i` over 0..94 (default 1). */
  readonly stride?: number;
  /** Rounding used for the trial fake quantization (default half to even). */
  readonly rounding?: RoundingMode;
}

/** The number of candidate factors `1 - 0.01 i`, i = 0..94. */
export const MSE_CANDIDATES = 95;

/** The squared fake-quantization error `Σ (fakeQuantize(x_j, s) - x_j)²` (float64) over one channel. */
function squaredError(
  x: ArrayLike<number>,
  s: number,
  slice: { outer: number; inner: number; stride: number; offset: number },
  range: { qmin: number; qmax: number },
  round: (v: number) => number,
): number {
  let err = 0;
  for (let o = 0; o < slice.outer; o++) {
    const base = o * slice.stride + slice.offset;
    for (let j = base; j < base + slice.inner; j++) {
      const v = Math.fround(x[j]);
      const r = round(Math.fround(v / s));
      const q = r < range.qmin ? range.qmin : r > range.qmax ? range.qmax : r;
      const d = Math.fround(q * s) - v;
      err += d * d;
    }
  }
  return err;
}

/**
 * The MSE observer (per tensor, or per channel along `axis`). For each channel with batch range
 * `[min, max]`, candidate `i` (0, stride, …, ≤ 94) is `[float32(min · f), float32(max · f)]` with
 * `f = 1 - 0.01 i`; its scale follows the SPEC.md rule; the candidate with the least squared
 * fake-quantization error wins (ties go to the larger `i`, the narrower range). The winners then
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
  const round = roundingFunction(options.rounding);
  const axis = options.axis;
  return Object.freeze({
    kind: "mse" as const,
    name,
    ...range,
    ...(axis === undefined ? {} : { axis }),
    initialState: EMPTY_OBSERVER_STATE,
    update(state: ObserverState, x: ArrayLike<number>, opts: ObserveOptions = {}) {
      if (x.length === 0) return state;
      const cur = observedMinMax(x, { name, axis, shape: opts.shape });
      let outer = 1, inner = x.length;
      if (axis !== undefined) {
        const shape = opts.shape as readonly number[];
        const a = normalizeAxis(axis, shape.length);
        ({ outer, inner } = channelLayout(shape, { axis: a, scaleCount: shape[a], length: x.length }));
      }
      const channels = cur.min.length;
      const bmin = new Float32Array(channels), bmax = new Float32Array(channels);
      for (let ch = 0; ch < channels; ch++) {
        const slice = { outer, inner, stride: channels * inner, offset: ch * inner };
        let best = Infinity;
        for (let i = 0; i < MSE_CANDIDATES; i += stride) {
          const f = 1 - 0.01 * i;
          const lo = Math.fround(cur.min[ch] * f), hi = Math.fround(cur.max[ch] * f);
          const err = squaredError(x, determineScale(lo, hi, range), slice, range, round);
          if (err <= best) {
            best = err;
            bmin[ch] = lo;
            bmax[ch] = hi;
          }
        }
      }
      return movingAverageState(state, bmin, bmax, c);
    },
    scale: (state: ObserverState) => scaleOfState(state, range),
  });
}

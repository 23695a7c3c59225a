/**
 * The entropy (KL) observer: per batch, the clipping threshold whose quantized histogram of |x| is
 * closest to the clipped float histogram in Kullback–Leibler divergence (TensorRT's entropy calibration,
 * Horizon's `kl` calibration method); the clipped min/max then follow the running-average
 * rule of the MinMax observer.
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
import {
  batchLayout,
  type BatchStats,
  type BatchStatsPlan,
  observeBatchStats,
} from "./observer_batch_stats.ts";

/** Options of {@linkcode klObserver}. */
export interface KlObserverOptions extends ObserverBaseOptions {
  /** Channel axis for a per-channel observer; absent for per tensor. */
  readonly axis?: number;
  /** Histogram bins over [0, absmax] (default 2048). */
  readonly bins?: number;
}

/**
 * The KL divergence of candidate `i` (the first `i` bins kept), as TensorRT's own calibration toolkit
 * (pytorch-quantization's entropy calibrator) computes it: the reference `P` is `hist[0, i)` with the
 * count of every later bin added to bin `i - 1` (clipped values saturate); the candidate `Q` merges
 * `hist[0, i)` (without those outliers) into `levels` groups — bin `j` joins group
 * `floor(j · levels / i)` — and spreads each group's count evenly over the group's non-empty bins of
 * `hist`. Both are normalized; the result is `Σ_{P_j > 0} P_j · ln(P_j / Q_j)` in float64, Infinity where
 * `Q_j` is 0 and `P_j` is not (the kept range ends in an empty bin that only clipped values fill).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { klDivergenceOfClip } from "@hqat/qtensor";
 * // Two bins, one level: P = [3, 1] / 4, Q = [2, 2] / 4.
 * const kl = klDivergenceOfClip(Float64Array.of(3, 1), 2, 1);
 * assert(Math.abs(kl - (0.75 * Math.log(1.5) + 0.25 * Math.log(0.5))) < 1e-15);
 * ```
 */
export function klDivergenceOfClip(hist: Float64Array, i: number, levels: number): number {
  let outliers = 0;
  for (let j = i; j < hist.length; j++) outliers += hist[j];
  const sums = new Float64Array(levels), counts = new Float64Array(levels);
  for (let j = 0; j < i; j++) {
    if (hist[j] === 0) continue;
    const g = Math.floor((j * levels) / i);
    sums[g] += hist[j];
    counts[g]++;
  }
  let ps = outliers, qs = 0;
  for (let j = 0; j < i; j++) {
    ps += hist[j];
    if (hist[j] !== 0) qs += sums[Math.floor((j * levels) / i)] / counts[Math.floor((j * levels) / i)];
  }
  let kl = 0;
  for (let j = 0; j < i; j++) {
    const p = j === i - 1 ? hist[j] + outliers : hist[j];
    if (p === 0) continue;
    if (hist[j] === 0) return Infinity;
    const g = Math.floor((j * levels) / i);
    kl += (p / ps) * Math.log((p / ps) / (sums[g] / counts[g] / qs));
  }
  return kl;
}

/**
 * The KL clipping threshold of a histogram of |x| with `bins` bins of width `absmax / bins`. The first
 * bin's count is replaced by the second's (the zeros a ReLU leaves would otherwise dominate, as in the
 * reference); among the candidates `i = levels … bins`, the one with the least
 * {@linkcode klDivergenceOfClip} wins (ties go to the larger `i`, the smaller clip), giving
 * `float32(i · absmax / bins)`, the upper edge of the kept range. With `levels ≥ bins` nothing is
 * clipped (the threshold is `absmax`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { klThreshold } from "@hqat/qtensor";
 * // Worked in the tests: [30, 6, 3, 2, 1, 1] becomes [6, 6, 3, 2, 1, 1]; keeping 4 bins is best.
 * assert(klThreshold(Float64Array.of(30, 6, 3, 2, 1, 1), { absmax: 6, levels: 2 }) === 4);
 * ```
 */
export function klThreshold(
  hist: Float64Array,
  options: { readonly absmax: number; readonly levels: number },
): number {
  const bins = hist.length, { absmax, levels } = options;
  if (absmax === 0 || levels >= bins) return Math.fround(absmax);
  const h = Float64Array.from(hist);
  h[0] = h[1];
  let best = Infinity, bestI = bins;
  for (let i = levels; i <= bins; i++) {
    const kl = klDivergenceOfClip(h, i, levels);
    if (kl <= best) {
      best = kl;
      bestI = i;
    }
  }
  return Math.fround((bestI * absmax) / bins);
}

/**
 * The entropy (KL) observer, per tensor or per channel along `axis`. Per batch and channel, the
 * histogram of |x| ({@linkcode absHistogram}, default 2048 bins, fewer when the batch has under 16 values
 * per bin: `min(bins, floor(n / 16))`) gives the threshold of {@linkcode klThreshold} with
 * `levels = (qmax - qmin + 1) / 2` (128 for qint8), or no clipping when that leaves no more bins than
 * levels (hqat's choice: a histogram that sparse has no shape for the divergence to follow); the batch's min and
 * max are clipped to `∓threshold` and then averaged with constant `c` like the MinMax observer. The
 * histogram is per batch rather than accumulated over batches, so the state stays the
 * `min_val`/`max_val` pair every observer saves (an hqat choice).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { klObserver } from "@hqat/qtensor";
 * const obs = klObserver({ name: "act", averagingConstant: 1 });
 * // Laplace-distributed values: a long tail that the threshold cuts.
 * const x = Float32Array.from({ length: 20000 }, (_, i) => -Math.log(((i * 0.6180339887) % 1) + 1e-9));
 * const st = obs.update(obs.initialState, x);
 * assert(st.max[0] < Math.max(...x) / 2 && st.max[0] > 2);
 * ```
 */
export function klObserver(options: KlObserverOptions = {}): Observer {
  const name = options.name ?? "observer";
  const range = resolveRange(options);
  const c = checkAveragingConstant(options.averagingConstant, name);
  const bins = options.bins ?? 2048;
  if (!Number.isInteger(bins) || bins < 1 || bins > 1 << 20) {
    throw new RangeError(`Observer "${name}": bins ${bins} must be an integer in [1, 2^20]`);
  }
  const levels = Math.floor((range.qmax - range.qmin + 1) / 2);
  const axis = options.axis;
  // At least 16 values per bin on average: a sparse histogram (a classifier's logits) has no shape for the
  // divergence to follow, and with no more bins than levels nothing is clipped (no histogram needed).
  const statsPlan = (count: number): BatchStatsPlan => {
    const used = Math.min(bins, Math.floor(count / 16));
    return { kind: "histogram", bins: used <= levels ? 0 : used };
  };
  const updateFromStats = (state: ObserverState, stats: BatchStats) => {
    const channels = stats.min.length, used = stats.hist.length / channels;
    const cmin = new Float32Array(channels), cmax = new Float32Array(channels);
    for (let ch = 0; ch < channels; ch++) {
      const absmax = Math.max(-stats.min[ch], stats.max[ch]);
      const t = used === 0
        ? Math.fround(absmax)
        : klThreshold(stats.hist.subarray(ch * used, (ch + 1) * used), { absmax, levels });
      cmin[ch] = Math.max(stats.min[ch], -t);
      cmax[ch] = Math.min(stats.max[ch], t);
    }
    return movingAverageState(state, cmin, cmax, c);
  };
  return Object.freeze({
    kind: "kl" as const,
    name,
    ...range,
    ...(axis === undefined ? {} : { axis }),
    initialState: EMPTY_OBSERVER_STATE,
    update(state: ObserverState, x: ArrayLike<number>, opts: ObserveOptions = {}) {
      if (x.length === 0) return state;
      const layout = batchLayout(x.length, { name, axis, shape: opts.shape });
      const plan = statsPlan(layout.outer * layout.inner);
      return updateFromStats(state, observeBatchStats(x, plan, { name, axis, shape: opts.shape }));
    },
    scale: (state: ObserverState) => scaleOfState(state, range),
    statsPlan,
    updateFromStats,
  });
}

/**
 * The percentile observer: per batch, a histogram of |x| clips the range at a percentile; the clipped
 * min/max then follow the running-average rule of the MinMax observer.
 * @module
 */

import { resolveRange } from "./dtypes.ts";
import {
  checkAveragingConstant,
  EMPTY_OBSERVER_STATE,
  movingAverageState,
  type Observer,
  type ObserverBaseOptions,
  type ObserverState,
  scaleOfState,
} from "./observer.ts";
import { type BatchStats, type BatchStatsPlan, observeBatchStats } from "./observer_batch_stats.ts";
import { absHistogram } from "./observer_histogram.ts";

/** Options of {@linkcode percentileObserver}. */
export interface PercentileObserverOptions extends ObserverBaseOptions {
  /** Percentile of |x| kept, in [0, 100] (default 99.99). */
  readonly percentile?: number;
  /** Number of histogram bins over [0, absmax] (default 2048). */
  readonly bins?: number;
}

/**
 * The clip of a histogram of |x| (`count` values over [0, absmax], bins of width `w = absmax / bins`):
 * `i` is the first bin whose cumulative count reaches `percentile / 100 · count`; the clip is
 * `float32((i + 0.5) · w)`, or 0 when absmax is 0.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { percentileOfHistogram } from "@hqat/qtensor";
 * const clip = percentileOfHistogram(Float64Array.of(5, 3, 2), { percentile: 60, count: 10, absmax: 3 });
 * assert(clip === 1.5);
 * ```
 */
export function percentileOfHistogram(
  hist: Float64Array,
  options: { readonly percentile: number; readonly count: number; readonly absmax: number },
): number {
  const { percentile, count, absmax } = options, bins = hist.length;
  if (absmax === 0) return 0;
  const target = (percentile / 100) * count;
  let i = 0, cum = hist[0];
  while (cum < target && i < bins - 1) cum += hist[++i];
  return Math.fround((i + 0.5) * (absmax / bins));
}

/**
 * The clipping value of one batch: the {@linkcode percentileOfHistogram} of its |x| histogram
 * ({@linkcode absHistogram}: |x| falls in bin `min(bins - 1, floor(|x| · bins / absmax))`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { percentileClip } from "@hqat/qtensor";
 * const x = Float32Array.from({ length: 100 }, (_, i) => i / 99);
 * assert(percentileClip(x, { percentile: 50, bins: 10, absmax: 1 }) === Math.fround(0.45));
 * ```
 */
export function percentileClip(
  x: ArrayLike<number>,
  options: { readonly percentile: number; readonly bins: number; readonly absmax: number },
): number {
  const hist = absHistogram(x, { bins: options.bins, absmax: options.absmax });
  return percentileOfHistogram(hist, { ...options, count: x.length });
}

/**
 * The percentile observer (per tensor), default 99.99 % over 2048 bins of |x|. Each batch's min and
 * max are clipped to `∓clip` (see {@linkcode percentileClip}), then averaged with constant `c` like
 * the MinMax observer (first batch sets).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { percentileObserver } from "@hqat/qtensor";
 * const obs = percentileObserver({ name: "act", percentile: 90, bins: 100 });
 * const x = Float32Array.from({ length: 1000 }, (_, i) => (i === 999 ? 100 : (i % 10) / 10));
 * const st = obs.update(obs.initialState, x);
 * assert(st.max[0] === 0.5 && st.min[0] === 0);
 * ```
 */
export function percentileObserver(options: PercentileObserverOptions = {}): Observer {
  const name = options.name ?? "observer";
  const range = resolveRange(options);
  const c = checkAveragingConstant(options.averagingConstant, name);
  const percentile = options.percentile ?? 99.99;
  const bins = options.bins ?? 2048;
  if (!(percentile >= 0 && percentile <= 100)) {
    throw new RangeError(`Observer "${name}": percentile ${percentile} must lie in [0, 100]`);
  }
  if (!Number.isInteger(bins) || bins < 1 || bins > 1 << 24) {
    throw new RangeError(`Observer "${name}": bins ${bins} must be an integer in [1, 2^24]`);
  }
  const plan: BatchStatsPlan = Object.freeze({ kind: "histogram", bins });
  const updateFromStats = (state: ObserverState, stats: BatchStats) => {
    const { min, max } = stats;
    const absmax = Math.max(-min[0], max[0]);
    const clip = percentileOfHistogram(stats.hist, { percentile, count: stats.count, absmax });
    const cmin = Float32Array.of(Math.max(min[0], -clip));
    const cmax = Float32Array.of(Math.min(max[0], clip));
    return movingAverageState(state, cmin, cmax, c);
  };
  return Object.freeze({
    kind: "percentile" as const,
    name,
    ...range,
    initialState: EMPTY_OBSERVER_STATE,
    update(state: ObserverState, x: ArrayLike<number>) {
      if (x.length === 0) return state;
      return updateFromStats(state, observeBatchStats(x, plan, { name }));
    },
    scale: (state: ObserverState) => scaleOfState(state, range),
    statsPlan: () => plan,
    updateFromStats,
  });
}

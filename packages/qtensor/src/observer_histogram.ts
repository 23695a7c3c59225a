/**
 * The |x| histogram of the percentile and KL observers: `bins` bins of width `absmax / bins` over
 * [0, absmax], each value in the bin `floor(|x| · bins / absmax)` of the exact quotient (the last bin
 * also holds absmax itself), so that any backend that divides exactly puts every value in the same bin.
 * @module
 */

/**
 * The bin of `ax` (a float32 |x| in [0, absmax]) among `bins` bins (at most 2^24) over [0, absmax]:
 * `min(bins - 1, floor(ax · bins / absmax))` of the exact quotient. `ax · bins` is exact in float64
 * (at most 48 significant bits) and a correctly rounded float64 quotient of at most 2^24 never rounds
 * up to the next integer, so the float64 expression is the exact floor.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { histogramBin } from "@hqat/qtensor";
 * assert(histogramBin(0.5, { bins: 4, absmax: 1 }) === 2 && histogramBin(1, { bins: 4, absmax: 1 }) === 3);
 * ```
 */
export function histogramBin(
  ax: number,
  options: { readonly bins: number; readonly absmax: number },
): number {
  const b = Math.floor((ax * options.bins) / options.absmax);
  return b < options.bins ? b : options.bins - 1;
}

/**
 * The histogram of |x| over `bins` bins on [0, absmax] for one channel (see {@linkcode histogramBin});
 * all zeros when `absmax` is 0. `slice` picks one channel of a per-channel layout.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { absHistogram } from "@hqat/qtensor";
 * const h = absHistogram(Float32Array.of(-1, 0.1, 0.6), { bins: 2, absmax: 1 });
 * assert(h.join() === "1,2");
 * ```
 */
export function absHistogram(
  x: ArrayLike<number>,
  options: {
    readonly bins: number;
    readonly absmax: number;
    readonly slice?: { outer: number; inner: number; stride: number; offset: number };
  },
): Float64Array {
  const { bins, absmax } = options;
  const slice = options.slice ?? { outer: 1, inner: x.length, stride: x.length, offset: 0 };
  const hist = new Float64Array(bins);
  if (absmax === 0) return hist;
  for (let o = 0; o < slice.outer; o++) {
    const base = o * slice.stride + slice.offset;
    for (let j = base; j < base + slice.inner; j++) {
      const b = Math.floor((Math.abs(Math.fround(x[j])) * bins) / absmax);
      hist[b < bins ? b : bins - 1]++;
    }
  }
  return hist;
}

/*
 * Batch normalization with batch statistics over N, H, W of NCHW float32 data, forward and backward, for
 * the channels [c0, c1) of one call (the TypeScript side splits the channels across threads). The sums are
 * float64 (two lanes each) as the plain-TypeScript kernels keep them; the elementwise passes are float32.
 */
#include "affine.h"
#include "common.h"

/* Σ x over a channel's planes, in float64. */
static double channel_sum(const float *x, int n, int c, int hw, int ch) {
  v128_t s0 = wasm_f64x2_splat(0), s1 = wasm_f64x2_splat(0);
  double tail = 0;
  for (int b = 0; b < n; b++) {
    const float *p = x + ((long)b * c + ch) * hw;
    int i = 0;
    for (; i + 4 <= hw; i += 4) {
      const v128_t v = wasm_v128_load(p + i);
      s0 = wasm_f64x2_add(s0, wasm_f64x2_promote_low_f32x4(v));
      s1 = wasm_f64x2_add(s1, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)));
    }
    for (; i < hw; i++) tail += p[i];
  }
  const v128_t s = wasm_f64x2_add(s0, s1);
  return wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1) + tail;
}

/* Σ (x - m)² over a channel's planes, in float64. */
static double channel_sq(const float *x, int n, int c, int hw, int ch, double m) {
  const v128_t mv = wasm_f64x2_splat(m);
  v128_t s0 = wasm_f64x2_splat(0), s1 = wasm_f64x2_splat(0);
  double tail = 0;
  for (int b = 0; b < n; b++) {
    const float *p = x + ((long)b * c + ch) * hw;
    int i = 0;
    for (; i + 4 <= hw; i += 4) {
      const v128_t v = wasm_v128_load(p + i);
      const v128_t d0 = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(v), mv);
      const v128_t d1 = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)), mv);
      s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(d0, d0));
      s1 = wasm_f64x2_add(s1, wasm_f64x2_mul(d1, d1));
    }
    for (; i < hw; i++) {
      const double d = p[i] - m;
      tail += d * d;
    }
  }
  const v128_t s = wasm_f64x2_add(s0, s1);
  return wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1) + tail;
}

/*
 * out = clamp(x · a + b, lo, hi) over a channel's planes (float32; the clamp as max then min, so NaN stays NaN
 * and −0 becomes +0 under a zero lower bound; ±∞ bounds leave every value as it is).
 */
static void channel_affine(const float *x, float *out, int n, int c, int hw, int ch, float a, float b, clamp_v cl) {
  const v128_t av = wasm_f32x4_splat(a), bv = wasm_f32x4_splat(b);
  for (int k = 0; k < n; k++) {
    const long base = ((long)k * c + ch) * hw;
    int i = 0;
    for (; i + 4 <= hw; i += 4)
      wasm_v128_store(out + base + i, clamp4(FMA(wasm_v128_load(x + base + i), av, bv), cl));
    for (; i < hw; i++) {
      const float v = x[base + i] * a + b;
      out[base + i] = wasm_f32x4_extract_lane(clamp4(wasm_f32x4_splat(v), cl), 0);
    }
  }
}

/*
 * y = clamp((x - mean) / sqrt(var + eps) · gamma + beta, lo, hi) for channels [c0, c1), with the batch mean and
 * (biased) variance written to mean[] and var[]; eps is read from `epsp`, [lo, hi] from `clampp` (part
 * arguments are int32).
 */
void EXPORT(batch_norm_train)(const float *x, float *y, int n, int c, int hw, const float *gamma, const float *beta,
                              const float *epsp, const float *clampp, float *mean, float *var, int c0, int c1) {
  const double count = (double)n * hw, eps = *epsp;
  const clamp_v cl = clamp_of(clampp);
  for (int ch = c0; ch < c1; ch++) {
    const double m = channel_sum(x, n, c, hw, ch) / count;
    const double v = channel_sq(x, n, c, hw, ch, m) / count;
    mean[ch] = (float)m;
    var[ch] = (float)v;
    const double scale = gamma[ch] / __builtin_sqrt(v + eps), shift = beta[ch] - m * scale;
    channel_affine(x, y, n, c, hw, ch, (float)scale, (float)shift, cl);
  }
}

/*
 * dx = dy where 0 < y < *maxp, else +0, over a channel's planes: the gradient of the clamp to [0, max] fused
 * into batch_norm_train (clampBackward's open rule: NaN and the bounds themselves pass nothing).
 */
static void channel_clamp_grad(const float *dy, const float *y, const float *maxp, float *dx, int n, int c, int hw,
                               int ch) {
  const v128_t zero = wasm_f32x4_splat(0.0f), hi = wasm_v128_load32_splat(maxp);
  for (int b = 0; b < n; b++) {
    const long base = ((long)b * c + ch) * hw;
    int i = 0;
    for (; i + 4 <= hw; i += 4) {
      const v128_t v = wasm_v128_load(y + base + i);
      const v128_t keep = wasm_v128_and(wasm_f32x4_gt(v, zero), wasm_f32x4_lt(v, hi));
      wasm_v128_store(dx + base + i, wasm_v128_and(wasm_v128_load(dy + base + i), keep));
    }
    for (; i < hw; i++) dx[base + i] = y[base + i] > 0.0f && y[base + i] < *maxp ? dy[base + i] : 0.0f;
  }
}

/*
 * The gradient of batch_norm_train for cotangents dy, dmean, dvar: dx, and dgamma, dbeta per channel, for
 * channels [c0, c1). With `yc` (the clamped output y) and `maxp`, dy is first masked by the clamp's gradient
 * (into dx, which each channel's passes then read in place of dy).
 */
void EXPORT(batch_norm_train_backward)(const float *dy0, const float *dmean, const float *dvar, const float *x, int n,
                                       int c, int hw, const float *gamma, const float *mean, const float *var,
                                       const float *epsp, float *dx, float *dgamma, float *dbeta, const float *yc,
                                       const float *maxp, int c0, int c1) {
  const double count = (double)n * hw, eps = *epsp;
  const float *dy = yc ? dx : dy0;
  for (int ch = c0; ch < c1; ch++) {
    if (yc) channel_clamp_grad(dy0, yc, maxp, dx, n, c, hw, ch);
    const double m = mean[ch], invstd = 1 / __builtin_sqrt((double)var[ch] + eps), g = gamma[ch];
    v128_t s0 = wasm_f64x2_splat(0), s1 = wasm_f64x2_splat(0);
    const v128_t mv = wasm_f64x2_splat(m);
    double sdy = channel_sum(dy, n, c, hw, ch), tail = 0;
    for (int b = 0; b < n; b++) {
      const long base = ((long)b * c + ch) * hw;
      int i = 0;
      for (; i + 4 <= hw; i += 4) {
        const v128_t d = wasm_v128_load(dy + base + i), v = wasm_v128_load(x + base + i);
        const v128_t d0 = wasm_f64x2_promote_low_f32x4(d);
        const v128_t d1 = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(d, d, 2, 3, 0, 1));
        const v128_t x0 = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(v), mv);
        const v128_t x1 = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)), mv);
        s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(d0, x0));
        s1 = wasm_f64x2_add(s1, wasm_f64x2_mul(d1, x1));
      }
      for (; i < hw; i++) tail += dy[base + i] * (x[base + i] - m);
    }
    const v128_t s = wasm_f64x2_add(s0, s1);
    const double sdyxh = (wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1) + tail) * invstd;
    dbeta[ch] = (float)sdy;
    dgamma[ch] = (float)sdyxh;
    /* dx = k·(count·dy - Σdy - xhat·Σdy·xhat) + dmean/count + 2·dvar·(x - m)/count, as a·dy + b·(x - m) + c */
    const double k = g * invstd / count, a1 = dmean[ch] / count, a2 = 2 * dvar[ch] / count;
    const double ca = k * count, cb = -k * invstd * sdyxh + a2, cc = -k * sdy + a1;
    const v128_t av = wasm_f32x4_splat((float)ca), bv = wasm_f32x4_splat((float)cb), cv = wasm_f32x4_splat((float)cc);
    const v128_t mf = wasm_f32x4_splat((float)m);
    for (int b = 0; b < n; b++) {
      const long base = ((long)b * c + ch) * hw;
      int i = 0;
      for (; i + 4 <= hw; i += 4) {
        const v128_t t = FMA(wasm_f32x4_sub(wasm_v128_load(x + base + i), mf), bv, cv);
        wasm_v128_store(dx + base + i, FMA(wasm_v128_load(dy + base + i), av, t));
      }
      for (; i < hw; i++) dx[base + i] = (float)(ca * dy[base + i] + cb * (x[base + i] - m) + cc);
    }
  }
}

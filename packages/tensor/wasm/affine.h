/*
 * The epilogue of an inference convolution: batch normalization with fixed statistics, y · scale[c] + shift[c],
 * then a clamp to [lo, hi] (a fused ReLU / ReLU6, or ±∞ for none). The affine map is computed the way the
 * TypeScript channelAffine kernel computes it — the exact float64 product plus the shift, rounded once to
 * float64 and then to float32 — and the clamp as the clamp kernel does (max, then min; NaN stays NaN, −0
 * becomes +0 under a zero lower bound), so a fused convolution equals the three ops bit for bit.
 */
#ifndef HQAT_AFFINE_H
#define HQAT_AFFINE_H

#include <wasm_simd128.h>

/* Per-channel scale and shift (float32 [co]) and the clamp bounds clamp[0] = lo, clamp[1] = hi. */
typedef struct {
  const float *scale, *shift, *clamp;
} affine_ep;

/* clamp(v · s + t, lo, hi) on four lanes, the affine map in float64. */
static inline v128_t affine4(v128_t v, v128_t s, v128_t t, v128_t lo, v128_t hi) {
  const v128_t vh = wasm_i32x4_shuffle(v, v, 2, 3, 0, 1), sh = wasm_i32x4_shuffle(s, s, 2, 3, 0, 1),
               th = wasm_i32x4_shuffle(t, t, 2, 3, 0, 1);
  const v128_t a = wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(v), wasm_f64x2_promote_low_f32x4(s)),
                                  wasm_f64x2_promote_low_f32x4(t));
  const v128_t b = wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(vh), wasm_f64x2_promote_low_f32x4(sh)),
                                  wasm_f64x2_promote_low_f32x4(th));
  const v128_t r =
      wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(a), wasm_f32x4_demote_f64x2_zero(b), 0, 1, 4, 5);
  return wasm_f32x4_min(wasm_f32x4_max(r, lo), hi);
}

#endif

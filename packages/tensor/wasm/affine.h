/*
 * The epilogue of an inference convolution: batch normalization with fixed statistics, y · scale[c] + shift[c],
 * then a clamp to [lo, hi] (a fused ReLU / ReLU6, or ±∞ for none). The affine map is computed the way the
 * TypeScript channelAffine kernel computes it — a float32 product, then a float32 sum — and the clamp as the
 * clamp kernel does (max, then min; NaN stays NaN, −0 becomes +0 under a zero lower bound), so a fused
 * convolution equals the three ops bit for bit.
 */
#ifndef HQAT_AFFINE_H
#define HQAT_AFFINE_H

#include <wasm_simd128.h>

/*
 * Per-channel scale and shift (float32 [co]) and the clamp bounds clamp[0] = lo, clamp[1] = hi. When `res` is
 * not zero (the GEMM honours it; the depthwise kernels take no residual), the float `res` floats past each
 * output element (a residual of the output's layout, never the output itself) is added after the clamp, as
 * a separate float32 add would (an inverted residual block's skip connection).
 */
typedef struct {
  const float *scale, *shift, *clamp;
  int res;
} affine_ep;

/* clamp(v · s + t, lo, hi) on four lanes: a float32 product, then a float32 sum (no fused multiply-add). */
static inline v128_t affine4(v128_t v, v128_t s, v128_t t, v128_t lo, v128_t hi) {
  return wasm_f32x4_min(wasm_f32x4_max(wasm_f32x4_add(wasm_f32x4_mul(v, s), t), lo), hi);
}

#endif

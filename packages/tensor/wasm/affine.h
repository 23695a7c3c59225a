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

/*
 * A clamp's bounds as vectors, for clamp4. f32x4.max and f32x4.min give clamp's values exactly, but V8 spends
 * seven or eight instructions on each (the NaN and signed-zero rules); f32x4.pmax / pmin (`a < b ? b : a`,
 * `b < a ? b : a`: one instruction each) give the same values for every input once the bounds are not NaN and
 * the upper bound is not −0 — pmax(v, lo) differs from max only for v = −0 under lo = +0, which adding z = +0
 * turns into +0 (for any other lo, z = −0: x + −0 = x for every x, NaN included).
 */
typedef struct {
  v128_t lo, hi, z;
  int exact; /* 1 where only f32x4.max / f32x4.min give clamp's values: a NaN bound, or an upper bound of −0 */
} clamp_v;

/* The clamp [clamp[0], clamp[1]] for clamp4. */
static inline __attribute__((always_inline)) clamp_v clamp_of(const float *clamp) {
  union {
    float f;
    unsigned u;
  } lo = {clamp[0]}, hi = {clamp[1]};
  clamp_v c;
  c.lo = wasm_f32x4_splat(lo.f);
  c.hi = wasm_f32x4_splat(hi.f);
  c.z = wasm_f32x4_splat(lo.u == 0u ? 0.0f : -0.0f);
  c.exact = lo.f != lo.f || hi.f != hi.f || hi.u == 0x80000000u;
  return c;
}

/* clamp(y, lo, hi) on four lanes as the clamp kernel computes it: max, then min. */
static inline __attribute__((always_inline)) v128_t clamp4(v128_t y, clamp_v c) {
  if (c.exact) return wasm_f32x4_min(wasm_f32x4_max(y, c.lo), c.hi);
  return wasm_f32x4_pmin(wasm_f32x4_add(wasm_f32x4_pmax(y, c.lo), c.z), c.hi);
}

/* clamp(v · s + t, lo, hi) on four lanes: a float32 product, then a float32 sum (no fused multiply-add). */
static inline __attribute__((always_inline)) v128_t affine4(v128_t v, v128_t s, v128_t t, clamp_v c) {
  return clamp4(wasm_f32x4_add(wasm_f32x4_mul(v, s), t), c);
}

#endif

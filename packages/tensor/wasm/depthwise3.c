/*
 * 3×3 depthwise convolution (padding 1, stride 1 or 2, one output channel per input channel) straight on
 * NCHW planes whose output rows are a multiple of four wide (at least eight). Planes 8 or 16 columns wide are
 * read in place (depthwise3_direct.c); any other is copied once into a zero-padded scratch plane, its nine
 * weights are held in registers, and two output rows are computed at a time as independent chains of fused
 * multiply-adds (unaligned loads give the shifted taps; for stride 2 each padded row is stored deinterleaved,
 * its even columns then its odd ones, so that every tap is one load rather than two loads and a shuffle). With
 * an epilogue (see affine.h) the batch norm and the clamp are applied before the store. No transposes; smaller
 * outputs go to the small-plane kernel (depthwise_small.c).
 */
#include "affine.h"
#include "common.h"
#include "kernels.h"

static inline int d3_pitch(const conv_geo *g) { return ((g->w + 2 + 3) & ~3) + 8; }

/* Whether the geometry is one this kernel runs. */
int EXPORT(depthwise3_fits)(const conv_geo *g) {
  return g->kh == 3 && g->kw == 3 && g->ph == 1 && g->pw == 1 && g->dh == 1 && g->dw == 1 && g->groups == g->c &&
         g->co == g->c && (g->sh == 1 || g->sh == 2) && g->sw == g->sh && g->wo >= 8 && g->wo % 4 == 0 &&
         g->ho >= 1 && g->h == (g->ho - 1) * g->sh + 1 + (g->sh == 2 ? 1 : 0) && g->w == g->wo * g->sw;
}

/* Scratch floats one thread needs. */
int EXPORT(depthwise3_scratch_floats)(const conv_geo *g) { return (g->h + 3) * d3_pitch(g) + 16; }

/* The sum of the nine taps for four outputs starting at column `col` of padded rows r0..r2 (stride 1). */
#define TAPS(acc, r0, r1, r2, col, LOAD)                                                               \
  do {                                                                                              \
    acc = wasm_f32x4_mul(w0, LOAD((r0) + (col)));                                                   \
    acc = FMA(w1, LOAD((r0) + (col) + 1), acc);                                                     \
    acc = FMA(w2, LOAD((r0) + (col) + 2), acc);                                                     \
    acc = FMA(w3, LOAD((r1) + (col)), acc);                                                         \
    acc = FMA(w4, LOAD((r1) + (col) + 1), acc);                                                     \
    acc = FMA(w5, LOAD((r1) + (col) + 2), acc);                                                     \
    acc = FMA(w6, LOAD((r2) + (col)), acc);                                                         \
    acc = FMA(w7, LOAD((r2) + (col) + 1), acc);                                                     \
    acc = FMA(w8, LOAD((r2) + (col) + 2), acc);                                                     \
  } while (0)

/*
 * The same sum for stride 2 on a row stored deinterleaved (padded column 2j at r[j], 2j + 1 at r[half + j]):
 * every tap of four outputs is one contiguous load, in TAPS's order.
 */
#define TAPS2(acc, r0, r1, r2, col, half)                                                              \
  do {                                                                                              \
    acc = wasm_f32x4_mul(w0, wasm_v128_load((r0) + (col)));                                         \
    acc = FMA(w1, wasm_v128_load((r0) + (half) + (col)), acc);                                      \
    acc = FMA(w2, wasm_v128_load((r0) + (col) + 1), acc);                                           \
    acc = FMA(w3, wasm_v128_load((r1) + (col)), acc);                                               \
    acc = FMA(w4, wasm_v128_load((r1) + (half) + (col)), acc);                                      \
    acc = FMA(w5, wasm_v128_load((r1) + (col) + 1), acc);                                           \
    acc = FMA(w6, wasm_v128_load((r2) + (col)), acc);                                               \
    acc = FMA(w7, wasm_v128_load((r2) + (half) + (col)), acc);                                      \
    acc = FMA(w8, wasm_v128_load((r2) + (col) + 1), acc);                                           \
  } while (0)

/*
 * TAPS (one = 1: stride 1, taps at col, col + 1, col + 2) or TAPS2 (one = 0: stride 2 deinterleaved, taps at
 * col, half + col, col + 1) of four outputs at once — columns col and col + 4 (u, u4) of rows r0..r2 and (v, v4)
 * of rows q0..q2 — as four independent chains, each with TAPS's products in TAPS's order.
 */
#define TAP4(k, ra, qa, off)                                                                            \
  do {                                                                                                  \
    u = FMA(w##k, wasm_v128_load((ra) + (off)), u);                                                     \
    u4 = FMA(w##k, wasm_v128_load((ra) + (off) + 4), u4);                                   \
    v = FMA(w##k, wasm_v128_load((qa) + (off)), v);                                                     \
    v4 = FMA(w##k, wasm_v128_load((qa) + (off) + 4), v4);                                   \
  } while (0)
#define TAPS_X4(u, u4, v, v4, r0, r1, r2, q0, q1, q2, col, one, half)                                   \
  do {                                                                                                  \
    const int c1_ = one ? (col) + 1 : (half) + (col), c2_ = one ? (col) + 2 : (col) + 1;                 \
    u = wasm_f32x4_mul(w0, wasm_v128_load((r0) + (col)));                                              \
    u4 = wasm_f32x4_mul(w0, wasm_v128_load((r0) + (col) + 4));                             \
    v = wasm_f32x4_mul(w0, wasm_v128_load((q0) + (col)));                                              \
    v4 = wasm_f32x4_mul(w0, wasm_v128_load((q0) + (col) + 4));                             \
    TAP4(1, r0, q0, c1_);                                                                               \
    TAP4(2, r0, q0, c2_);                                                                               \
    TAP4(3, r1, q1, (col));                                                                             \
    TAP4(4, r1, q1, c1_);                                                                               \
    TAP4(5, r1, q1, c2_);                                                                               \
    TAP4(6, r2, q2, (col));                                                                             \
    TAP4(7, r2, q2, c1_);                                                                               \
    TAP4(8, r2, q2, c2_);                                                                               \
  } while (0)

/* The forward for one stride `s` (a constant where it is inlined, so that each stride gets its own loops). */
static inline __attribute__((always_inline)) void d3_forward(const conv_geo *g, const float *x, const float *w,
                                                             float *y, int q0, int q1, const affine_ep *ep,
                                                             float *scratch, const int s) {
  const int h = g->h, wd = g->w, ho = g->ho, wo = g->wo, c = g->c, pitch = d3_pitch(g), half = pitch / 2;
  const int rows = h + 3; /* one zero row above, one or two below, and a spare for stride 2 */
  for (int i = 0; i < rows * pitch; i++) scratch[i] = 0.0f;
  static const float no_clamp[2] = {0.0f, 0.0f};
  const clamp_v cl = clamp_of(ep ? ep->clamp : no_clamp);
  for (int q = q0; q < q1; q++) {
    const int ch = q % c;
    const float *src = x + (long)q * h * wd;
    for (int iy = 0; iy < h; iy++) {
      const float *sr = src + iy * wd;
      if (s == 2) {
        /* deinterleaved: input column ix is padded column ix + 1 (wd is a multiple of 8 here) */
        float *ev = scratch + (iy + 1) * pitch, *od = ev + half;
        for (int ix = 0; ix < wd; ix += 8) {
          const v128_t a = wasm_v128_load(sr + ix), b = wasm_v128_load(sr + ix + 4);
          wasm_v128_store(od + ix / 2, wasm_i32x4_shuffle(a, b, 0, 2, 4, 6));
          wasm_v128_store(ev + ix / 2 + 1, wasm_i32x4_shuffle(a, b, 1, 3, 5, 7));
        }
        continue;
      }
      float *d = scratch + (iy + 1) * pitch + 1;
      int ix = 0;
      for (; ix + 4 <= wd; ix += 4) wasm_v128_store(d + ix, wasm_v128_load(sr + ix));
      for (; ix < wd; ix++) d[ix] = sr[ix];
    }
    const float *wk = w + ch * 9;
    const v128_t w0 = wasm_v128_load32_splat(wk), w1 = wasm_v128_load32_splat(wk + 1),
                 w2 = wasm_v128_load32_splat(wk + 2), w3 = wasm_v128_load32_splat(wk + 3),
                 w4 = wasm_v128_load32_splat(wk + 4), w5 = wasm_v128_load32_splat(wk + 5),
                 w6 = wasm_v128_load32_splat(wk + 6), w7 = wasm_v128_load32_splat(wk + 7),
                 w8 = wasm_v128_load32_splat(wk + 8);
    const v128_t sc = ep ? wasm_v128_load32_splat(ep->scale + ch) : w0;
    const v128_t sh = ep ? wasm_v128_load32_splat(ep->shift + ch) : w0;
    float *dst = y + (long)q * ho * wo;
    int oy = 0;
    for (; oy + 2 <= ho; oy += 2) {
      const float *a0 = scratch + oy * s * pitch, *a1 = a0 + pitch, *a2 = a1 + pitch;
      const float *b0 = a0 + s * pitch, *b1 = b0 + pitch, *b2 = b1 + pitch;
      int ox = 0;
      /* eight columns of both rows: four independent chains, each in TAPS's order */
      for (; ox + 8 <= wo; ox += 8) {
        v128_t u, u4, v, v4;
        if (s == 1) {
          TAPS_X4(u, u4, v, v4, a0, a1, a2, b0, b1, b2, ox, 1, 0);
        } else {
          TAPS_X4(u, u4, v, v4, a0, a1, a2, b0, b1, b2, ox, 0, half);
        }
        if (ep) {
          u = affine4(u, sc, sh, cl);
          u4 = affine4(u4, sc, sh, cl);
          v = affine4(v, sc, sh, cl);
          v4 = affine4(v4, sc, sh, cl);
        }
        wasm_v128_store(dst + oy * wo + ox, u);
        wasm_v128_store(dst + oy * wo + ox + 4, u4);
        wasm_v128_store(dst + (oy + 1) * wo + ox, v);
        wasm_v128_store(dst + (oy + 1) * wo + ox + 4, v4);
      }
      for (; ox < wo; ox += 4) {
        v128_t u, v;
        if (s == 1) {
          TAPS(u, a0, a1, a2, ox, wasm_v128_load);
          TAPS(v, b0, b1, b2, ox, wasm_v128_load);
        } else {
          TAPS2(u, a0, a1, a2, ox, half);
          TAPS2(v, b0, b1, b2, ox, half);
        }
        if (ep) {
          u = affine4(u, sc, sh, cl);
          v = affine4(v, sc, sh, cl);
        }
        wasm_v128_store(dst + oy * wo + ox, u);
        wasm_v128_store(dst + (oy + 1) * wo + ox, v);
      }
    }
    for (; oy < ho; oy++) {
      const float *a0 = scratch + oy * s * pitch, *a1 = a0 + pitch, *a2 = a1 + pitch;
      for (int ox = 0; ox < wo; ox += 4) {
        v128_t u;
        if (s == 1) {
          TAPS(u, a0, a1, a2, ox, wasm_v128_load);
        } else {
          TAPS2(u, a0, a1, a2, ox, half);
        }
        if (ep) u = affine4(u, sc, sh, cl);
        wasm_v128_store(dst + oy * wo + ox, u);
      }
    }
  }
}

int d3_direct_fits(const conv_geo *g);
void d3_direct_forward(const conv_geo *g, const float *x, const float *w, float *y, int q0, int q1,
                       const affine_ep *ep);

/*
 * Planes q in [q0, q1) (q = image · channels + channel): y = the correlation, then the epilogue if any. Planes 8
 * or 16 columns wide (16 at stride 2) are read in place (depthwise3_direct.c), the same sums.
 */
void EXPORT(depthwise3_forward)(const conv_geo *g, const float *x, const float *w, float *y, int q0, int q1,
                                const affine_ep *ep, float *scratch) {
  if (d3_direct_fits(g)) {
    d3_direct_forward(g, x, w, y, q0, q1, ep);
  } else if (g->sh == 2) {
    d3_forward(g, x, w, y, q0, q1, ep, scratch, 2);
  } else {
    d3_forward(g, x, w, y, q0, q1, ep, scratch, 1);
  }
}

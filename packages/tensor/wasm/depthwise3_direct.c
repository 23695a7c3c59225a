/*
 * 3×3 depthwise convolution (padding 1) on planes 8 or 16 columns wide at stride 1, 16 wide at stride 2, read in
 * place: each input row is loaded as whole vectors once per pair of output rows, and the shifted taps are made in
 * registers (one shuffle each) instead of unaligned loads from a zero-padded copy of the plane; rows and
 * columns past the plane are zero vectors. Every output's sum has the plane kernel's (depthwise3.c) products in
 * its order, the padding's zeros included, so both give the same bits.
 */
#include "affine.h"
#include "common.h"

/* [p3, x0, x1, x2]: the vector one column to the left of x (p the vector before it). */
#define LEFT(p, x) wasm_i32x4_shuffle(p, x, 3, 4, 5, 6)
/* [x1, x2, x3, n0]: the vector one column to the right of x (n the vector after it). */
#define RIGHT(x, n) wasm_i32x4_shuffle(x, n, 1, 2, 3, 4)
/* acc gets one row's three taps t0, t1, t2 with weights a, b, c (starting from the first product when `first`). */
#define ROW3(acc, first, a, b, c, t0, t1, t2)                                                                 \
  do {                                                                                                        \
    acc = (first) ? wasm_f32x4_mul(a, t0) : FMA(a, t0, acc);                                                  \
    acc = FMA(b, t1, acc);                                                                                    \
    acc = FMA(c, t2, acc);                                                                                    \
  } while (0)

/* Whether depthwise3_direct takes the geometry (one the plane kernel also takes). */
int d3_direct_fits(const conv_geo *g) {
  return g->kh == 3 && g->kw == 3 && g->ph == 1 && g->pw == 1 && g->dh == 1 && g->dw == 1 && g->groups == g->c &&
         g->co == g->c && g->sh == g->sw &&
         ((g->sh == 1 && (g->w == 8 || g->w == 16) && g->h >= 1 && g->ho == g->h && g->wo == g->w) ||
          (g->sh == 2 && g->w == 16 && g->wo == 8 && g->h >= 2 && g->h % 2 == 0 && g->ho == g->h / 2));
}

/* One group of four columns, taps t0, t1, t2, into accumulators ug (output row u) and vg (row v) as S1_ROW says. */
#define UV(ug, vg, t0, t1, t2, DO_U, FU, ua, ub, uc, DO_V, FV, va, vb, vc)                                   \
  do {                                                                                                        \
    if (DO_U) ROW3(ug, FU, ua, ub, uc, t0, t1, t2);                                                           \
    if (DO_V) ROW3(vg, FV, va, vb, vc, t0, t1, t2);                                                           \
  } while (0)

/*
 * The output rows' sums of one step: for each input row in turn (its vectors X0..X3, zero outside the plane),
 * the taps of output row u with weights (ua, ub, uc) when DO_U, of output row v with (va, vb, vc) when DO_V.
 * Stride 1: G groups of four columns, taps (LEFT, X, RIGHT).
 */
#define S1_ROW(DO_U, FU, ua, ub, uc, DO_V, FV, va, vb, vc)                                                   \
  do {                                                                                                        \
    UV(u0, v0, LEFT(z, X0), X0, RIGHT(X0, X1), DO_U, FU, ua, ub, uc, DO_V, FV, va, vb, vc);                   \
    UV(u1, v1, LEFT(X0, X1), X1, RIGHT(X1, G > 2 ? X2 : z), DO_U, FU, ua, ub, uc, DO_V, FV, va, vb, vc);      \
    if (G > 2) {                                                                                              \
      UV(u2, v2, LEFT(X1, X2), X2, RIGHT(X2, X3), DO_U, FU, ua, ub, uc, DO_V, FV, va, vb, vc);                \
      UV(u3, v3, LEFT(X2, X3), X3, RIGHT(X3, z), DO_U, FU, ua, ub, uc, DO_V, FV, va, vb, vc);                 \
    }                                                                                                         \
  } while (0)

/* Input row iy of the plane (G vectors of W = 4G columns) into X0..X3, zero vectors outside it. */
#define S1_LOAD(iy)                                                                                           \
  do {                                                                                                        \
    if ((iy) >= 0 && (iy) < h) {                                                                              \
      const float *p_ = src + (iy) * (4 * G);                                                                 \
      X0 = wasm_v128_load(p_);                                                                                \
      X1 = wasm_v128_load(p_ + 4);                                                                            \
      if (G > 2) {                                                                                            \
        X2 = wasm_v128_load(p_ + 8);                                                                          \
        X3 = wasm_v128_load(p_ + 12);                                                                         \
      }                                                                                                       \
    } else {                                                                                                  \
      X0 = X1 = X2 = X3 = z;                                                                                  \
    }                                                                                                         \
  } while (0)

/* Stores output row `oy` (accumulators a0..a3, G of them) after the epilogue. */
#define STORE_ROW(oy, a0, a1, a2, a3, GO)                                                                     \
  do {                                                                                                        \
    float *d_ = dst + (oy) * (4 * (GO));                                                                      \
    if (ep) {                                                                                                 \
      a0 = affine4(a0, sc, sh, cl);                                                                           \
      a1 = affine4(a1, sc, sh, cl);                                                                           \
      if ((GO) > 2) {                                                                                         \
        a2 = affine4(a2, sc, sh, cl);                                                                         \
        a3 = affine4(a3, sc, sh, cl);                                                                         \
      }                                                                                                       \
    }                                                                                                         \
    wasm_v128_store(d_, a0);                                                                                  \
    wasm_v128_store(d_ + 4, a1);                                                                              \
    if ((GO) > 2) {                                                                                           \
      wasm_v128_store(d_ + 8, a2);                                                                            \
      wasm_v128_store(d_ + 12, a3);                                                                           \
    }                                                                                                         \
  } while (0)

/* The plane's nine weights and its epilogue's constants. */
#define PLANE_CONSTANTS()                                                                                     \
  const int ch = q % g->c;                                                                                    \
  const float *wk = w + ch * 9;                                                                               \
  const v128_t w0 = wasm_v128_load32_splat(wk), w1 = wasm_v128_load32_splat(wk + 1),                          \
               w2 = wasm_v128_load32_splat(wk + 2), w3 = wasm_v128_load32_splat(wk + 3),                      \
               w4 = wasm_v128_load32_splat(wk + 4), w5 = wasm_v128_load32_splat(wk + 5),                      \
               w6 = wasm_v128_load32_splat(wk + 6), w7 = wasm_v128_load32_splat(wk + 7),                      \
               w8 = wasm_v128_load32_splat(wk + 8);                                                           \
  const v128_t sc = ep ? wasm_v128_load32_splat(ep->scale + ch) : z;                                          \
  const v128_t sh = ep ? wasm_v128_load32_splat(ep->shift + ch) : z

/* Stride 1 on planes of G groups of four columns: two output rows per step (input rows oy - 1 .. oy + 2). */
static inline __attribute__((always_inline)) void direct_s1(const conv_geo *g, const float *x, const float *w,
                                                            float *y, int q0, int q1, const affine_ep *ep,
                                                            clamp_v cl, const int G) {
  const int h = g->h;
  const v128_t z = wasm_f32x4_splat(0.0f);
  for (int q = q0; q < q1; q++) {
    PLANE_CONSTANTS();
    const float *src = x + (long)q * h * 4 * G;
    float *dst = y + (long)q * h * 4 * G;
    v128_t X0 = z, X1 = z, X2 = z, X3 = z, u0 = z, u1 = z, u2 = z, u3 = z, v0 = z, v1 = z, v2 = z, v3 = z;
    for (int oy = 0; oy < h; oy += 2) {
      const int two = oy + 1 < h; /* a second output row (not past an odd height's last) */
      S1_LOAD(oy - 1);
      S1_ROW(1, 1, w0, w1, w2, 0, 0, w0, w1, w2);
      S1_LOAD(oy);
      S1_ROW(1, 0, w3, w4, w5, two, 1, w0, w1, w2);
      S1_LOAD(oy + 1);
      S1_ROW(1, 0, w6, w7, w8, two, 0, w3, w4, w5);
      STORE_ROW(oy, u0, u1, u2, u3, G);
      if (two) {
        S1_LOAD(oy + 2);
        S1_ROW(0, 0, w0, w1, w2, 1, 0, w6, w7, w8);
        STORE_ROW(oy + 1, v0, v1, v2, v3, G);
      }
    }
  }
}

/*
 * Stride 2 on planes 16 columns wide (8 outputs): input row iy's even columns E0, E1 and odd ones O0, O1 (zero
 * outside the plane); output columns 4j.. take input columns 8j - 1, 8j, 8j + 1, ...: taps (LEFT(·, O), E, O).
 */
#define S2_LOAD(iy)                                                                                           \
  do {                                                                                                        \
    if ((iy) >= 0) {                                                                                          \
      const float *p_ = src + (iy) * 16;                                                                      \
      const v128_t a_ = wasm_v128_load(p_), b_ = wasm_v128_load(p_ + 4);                                      \
      const v128_t c_ = wasm_v128_load(p_ + 8), d_ = wasm_v128_load(p_ + 12);                                 \
      E0 = wasm_i32x4_shuffle(a_, b_, 0, 2, 4, 6);                                                            \
      O0 = wasm_i32x4_shuffle(a_, b_, 1, 3, 5, 7);                                                            \
      E1 = wasm_i32x4_shuffle(c_, d_, 0, 2, 4, 6);                                                            \
      O1 = wasm_i32x4_shuffle(c_, d_, 1, 3, 5, 7);                                                            \
    } else {                                                                                                  \
      E0 = O0 = E1 = O1 = z;                                                                                  \
    }                                                                                                         \
  } while (0)
#define S2_ROW(DO_U, FU, ua, ub, uc, DO_V, FV, va, vb, vc)                                                   \
  do {                                                                                                        \
    UV(u0, v0, LEFT(z, O0), E0, O0, DO_U, FU, ua, ub, uc, DO_V, FV, va, vb, vc);                             \
    UV(u1, v1, LEFT(O0, O1), E1, O1, DO_U, FU, ua, ub, uc, DO_V, FV, va, vb, vc);                            \
  } while (0)

static inline __attribute__((always_inline)) void direct_s2(const conv_geo *g, const float *x, const float *w,
                                                            float *y, int q0, int q1, const affine_ep *ep,
                                                            clamp_v cl) {
  const int h = g->h, ho = g->ho;
  const v128_t z = wasm_f32x4_splat(0.0f);
  for (int q = q0; q < q1; q++) {
    PLANE_CONSTANTS();
    const float *src = x + (long)q * h * 16;
    float *dst = y + (long)q * ho * 8;
    v128_t E0 = z, O0 = z, E1 = z, O1 = z, u0 = z, u1 = z, u2 = z, u3 = z, v0 = z, v1 = z, v2 = z, v3 = z;
    for (int oy = 0; oy < ho; oy += 2) {
      const int two = oy + 1 < ho;
      S2_LOAD(2 * oy - 1);
      S2_ROW(1, 1, w0, w1, w2, 0, 0, w0, w1, w2);
      S2_LOAD(2 * oy);
      S2_ROW(1, 0, w3, w4, w5, 0, 0, w0, w1, w2);
      S2_LOAD(2 * oy + 1);
      S2_ROW(1, 0, w6, w7, w8, two, 1, w0, w1, w2);
      STORE_ROW(oy, u0, u1, u2, u3, 2);
      if (two) {
        S2_LOAD(2 * oy + 2);
        S2_ROW(0, 0, w0, w1, w2, 1, 0, w3, w4, w5);
        S2_LOAD(2 * oy + 3);
        S2_ROW(0, 0, w0, w1, w2, 1, 0, w6, w7, w8);
        STORE_ROW(oy + 1, v0, v1, v2, v3, 2);
      }
    }
  }
}

/* Planes [q0, q1) where d3_direct_fits(g): the correlation, then the epilogue if any. */
void d3_direct_forward(const conv_geo *g, const float *x, const float *w, float *y, int q0, int q1,
                       const affine_ep *ep) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  clamp_v cl = {zero, zero, zero, 0};
  if (ep) cl = clamp_of(ep->clamp);
  if (g->sh == 2) direct_s2(g, x, w, y, q0, q1, ep, cl);
  else if (g->w == 16) direct_s1(g, x, w, y, q0, q1, ep, cl, 4);
  else direct_s1(g, x, w, y, q0, q1, ep, cl, 2);
}

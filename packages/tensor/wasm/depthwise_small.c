/*
 * 3×3 depthwise convolution (padding 1, stride 1 or 2) on NCHW planes of 1×1, 2×2 or 4×4 positions, four channels
 * to a vector. The four channels' planes of one image are contiguous, so they are loaded as whole vectors and
 * transposed in registers to one vector per position; every output position's taps are then unrolled at compile
 * time (the taps that land in the padding are left out), and the results are transposed back and stored as
 * whole vectors. Nothing goes through scratch memory and there is no per-tap table.
 *
 * The sums are the channels-innermost kernel's (depthwise_cl.c), term for term: a position whose nine taps all
 * lie inside the plane starts from the first product and adds the other eight with fused multiply-adds; any
 * other starts from zero and adds each tap inside the plane in tap order. So on these planes both kernels give
 * the same bits.
 */
#include "affine.h"
#include "common.h"
#include "kernels.h"

/* Side of the square input planes this kernel takes for the geometry, or 0 where it does not apply. */
static int small_side(const conv_geo *g) {
  if (g->kh != 3 || g->kw != 3 || g->ph != 1 || g->pw != 1 || g->dh != 1 || g->dw != 1) return 0;
  if (g->sh != g->sw || (g->sh != 1 && g->sh != 2) || g->h != g->w) return 0;
  if (g->h != 1 && g->h != 2 && g->h != 4 && (g->h != 8 || g->sh != 2)) return 0;
  if (g->groups != g->c || g->co != g->c || g->c % 4 != 0) return 0;
  const int ho = (g->h - 1) / g->sh + 1;
  return g->ho == ho && g->wo == ho ? g->h : 0;
}

/* 1 where depthwise_small_forward takes the geometry (it needs no scratch), else 0. */
int EXPORT(depthwise_small_fits)(const conv_geo *g) { return small_side(g) != 0; }

/* Whether tap t of output (oy, ox) lands inside an H × H plane (stride S, padding 1). */
#define INSIDE(oy, ox, t) \
  ((oy) * S - 1 + (t) / 3 >= 0 && (oy) * S - 1 + (t) / 3 < H && (ox) * S - 1 + (t) % 3 >= 0 && (ox) * S - 1 + (t) % 3 < H)
/* The input vector tap t of output (oy, ox) reads. */
#define AT(oy, ox, t) xv[((oy) * S - 1 + (t) / 3) * H + (ox) * S - 1 + (t) % 3]
#define TAP(oy, ox, t)                                        \
  if (INSIDE(oy, ox, t)) {                                    \
    if (first) acc = wasm_f32x4_mul(wv[t], AT(oy, ox, t));   \
    else acc = FMA(wv[t], AT(oy, ox, t), acc);                \
    first = 0;                                                \
  }
/* Output (oy, ox) where it exists: its taps in order, then the epilogue. */
#define OUT(oy, ox)                                                                                           \
  if ((oy) < HO && (ox) < HO) {                                                                               \
    const int count = INSIDE(oy, ox, 0) + INSIDE(oy, ox, 1) + INSIDE(oy, ox, 2) + INSIDE(oy, ox, 3) +          \
                      INSIDE(oy, ox, 4) + INSIDE(oy, ox, 5) + INSIDE(oy, ox, 6) + INSIDE(oy, ox, 7) +          \
                      INSIDE(oy, ox, 8);                                                                      \
    v128_t acc = wasm_f32x4_splat(0.0f);                                                                      \
    int first = count == 9;                                                                                   \
    TAP(oy, ox, 0) TAP(oy, ox, 1) TAP(oy, ox, 2) TAP(oy, ox, 3) TAP(oy, ox, 4) TAP(oy, ox, 5) TAP(oy, ox, 6)  \
    TAP(oy, ox, 7) TAP(oy, ox, 8)                                                                             \
    yv[(oy) * HO + (ox)] = affine ? affine4(acc, sc, sh, cl) : acc;                                           \
  }
/* Positions b..b + 3 of the four channels' planes (P positions each) at x, as one vector per position. */
#define LOAD_BLOCK(b)                                                                                         \
  if (P > (b)) {                                                                                              \
    const v128_t r0 = wasm_v128_load(x + (b)), r1 = wasm_v128_load(x + P + (b));                              \
    const v128_t r2 = wasm_v128_load(x + 2 * P + (b)), r3 = wasm_v128_load(x + 3 * P + (b));                  \
    transpose4v(r0, r1, r2, r3, xv + (b));                                                                   \
  }
/* The inverse of LOAD_BLOCK for output positions b..b + 3 (PO positions per plane) at y. */
#define STORE_BLOCK(b)                                                                                        \
  if (PO > (b)) {                                                                                             \
    transpose4_store(yv[(b)], yv[(b) + 1], yv[(b) + 2], yv[(b) + 3], y + (b), PO);                           \
  }

/*
 * Four channels of one image: x and y point at the first channel's input and output planes (side H and HO,
 * stride S), wv holds the nine taps' weights of the four channels. With `affine`, clamp(sum · sc + sh). Written
 * without loops, so that every index is a constant once H and S are: the vectors then stay out of memory.
 */
static inline __attribute__((always_inline)) void group4(const float *x, float *y, const v128_t *wv, const int H,
                                                         const int S, const int affine, v128_t sc, v128_t sh,
                                                         clamp_v cl) {
  const int P = H * H, HO = (H - 1) / S + 1, PO = HO * HO;
  v128_t xv[64], yv[16];
  if (P == 1) xv[0] = wasm_v128_load(x);
  else {
    LOAD_BLOCK(0) LOAD_BLOCK(4) LOAD_BLOCK(8) LOAD_BLOCK(12) LOAD_BLOCK(16) LOAD_BLOCK(20) LOAD_BLOCK(24)
    LOAD_BLOCK(28) LOAD_BLOCK(32) LOAD_BLOCK(36) LOAD_BLOCK(40) LOAD_BLOCK(44) LOAD_BLOCK(48) LOAD_BLOCK(52)
    LOAD_BLOCK(56) LOAD_BLOCK(60)
  }
  OUT(0, 0) OUT(0, 1) OUT(0, 2) OUT(0, 3) OUT(1, 0) OUT(1, 1) OUT(1, 2) OUT(1, 3)
  OUT(2, 0) OUT(2, 1) OUT(2, 2) OUT(2, 3) OUT(3, 0) OUT(3, 1) OUT(3, 2) OUT(3, 3)
  if (PO == 1) wasm_v128_store(y, yv[0]);
  else {
    STORE_BLOCK(0) STORE_BLOCK(4) STORE_BLOCK(8) STORE_BLOCK(12)
  }
}

/* Channels [c0, c1) (multiples of four) of images [n0, n1) on H × H planes, stride S. */
static inline __attribute__((always_inline)) void small_part(const conv_geo *g, const float *x, const float *w,
                                                             float *y, int c0, int c1, int n0, int n1,
                                                             const affine_ep *ep, const int H, const int S) {
  const int P = H * H, HO = (H - 1) / S + 1, PO = HO * HO, c = g->c;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  clamp_v cl = {zero, zero, zero, 0};
  if (ep) cl = clamp_of(ep->clamp);
  for (int ch = c0; ch < c1; ch += 4) {
    const float *wc = w + ch * 9;
#define W(t) wasm_f32x4_make(wc[t], wc[9 + t], wc[18 + t], wc[27 + t])
    const v128_t wv[9] = {W(0), W(1), W(2), W(3), W(4), W(5), W(6), W(7), W(8)};
#undef W
    const float *xc = x + ((long)n0 * c + ch) * P;
    float *yc = y + ((long)n0 * c + ch) * PO;
    if (ep) {
      const v128_t sc = wasm_v128_load(ep->scale + ch), sh = wasm_v128_load(ep->shift + ch);
      for (int n = n0; n < n1; n++, xc += c * P, yc += c * PO) group4(xc, yc, wv, H, S, 1, sc, sh, cl);
    } else {
      for (int n = n0; n < n1; n++, xc += c * P, yc += c * PO) group4(xc, yc, wv, H, S, 0, zero, zero, cl);
    }
  }
}

/* One function per plane geometry, each unrolled for it. */
#define SMALL_CASE(NAME, H, S)                                                                                 \
  static __attribute__((noinline)) void NAME(const conv_geo *g, const float *x, const float *w, float *y, int c0, \
                                             int c1, int n0, int n1, const affine_ep *ep) {                      \
    small_part(g, x, w, y, c0, c1, n0, n1, ep, H, S);                                                            \
  }
SMALL_CASE(small_1, 1, 1)
SMALL_CASE(small_2s1, 2, 1)
SMALL_CASE(small_2s2, 2, 2)
SMALL_CASE(small_4s1, 4, 1)
SMALL_CASE(small_4s2, 4, 2)
SMALL_CASE(small_8s2, 8, 2)

/*
 * y for channels [c0, c1) (multiples of four) of images [n0, n1), where depthwise_small_fits(g); with `ep` not
 * zero, clamp(y · scale + shift) (see affine.h).
 */
void EXPORT(depthwise_small_forward)(const conv_geo *g, const float *x, const float *w, float *y, int c0, int c1,
                                     int n0, int n1, const affine_ep *ep) {
  const int h = small_side(g), s = g->sh;
  if (h == 1) small_1(g, x, w, y, c0, c1, n0, n1, ep);
  else if (h == 2 && s == 1) small_2s1(g, x, w, y, c0, c1, n0, n1, ep);
  else if (h == 2) small_2s2(g, x, w, y, c0, c1, n0, n1, ep);
  else if (h == 4 && s == 1) small_4s1(g, x, w, y, c0, c1, n0, n1, ep);
  else if (h == 4) small_4s2(g, x, w, y, c0, c1, n0, n1, ep);
  else if (h == 8) small_8s2(g, x, w, y, c0, c1, n0, n1, ep);
}

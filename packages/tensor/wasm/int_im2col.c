/*
 * im2col for the integer convolutions: the int8 or int16 NCHW input laid out as the [C/groups · kh · kw,
 * N · Ho · Wo] matrix that int_gemm_run multiplies (same element type, zero outside the input). Every call
 * takes a row range so that threads split the work without writing the same element.
 */
#include "common.h"

/* First o in [0, limit] with o * s + off >= bound. */
static inline int first_at_least(int s, int off, int bound, int limit) {
  int need = bound - off;
  int o = need <= 0 ? 0 : (need + s - 1) / s;
  return o > limit ? limit : o;
}

#define DEFINE_IM2COL(NAME, T)                                                                              \
  static void NAME(const conv_geo *g, const T *x, int c0, int n0, int n1, T *col, int r0, int r1) {         \
    const int kh = g->kh, kw = g->kw, h = g->h, w = g->w, ho = g->ho, wo = g->wo, sw = g->sw;               \
    const int p = ho * wo, np = (n1 - n0) * p;                                                              \
    for (int r = r0; r < r1; r++) {                                                                         \
      const int kx = r % kw, ky = (r / kw) % kh, c = r / (kw * kh);                                         \
      const int xoff = kx * g->dw - g->pw;                                                                  \
      const int lo = first_at_least(sw, xoff, 0, wo);                                                       \
      int hi = first_at_least(sw, xoff, w, wo);                                                             \
      if (hi < lo) hi = lo;                                                                                 \
      T *row = col + (long)r * np;                                                                          \
      for (int n = n0; n < n1; n++) {                                                                       \
        const T *plane = x + ((long)n * g->c + c0 + c) * h * w;                                             \
        T *dst = row + (n - n0) * p;                                                                        \
        for (int oy = 0; oy < ho; oy++, dst += wo) {                                                        \
          const int iy = oy * g->sh - g->ph + ky * g->dh;                                                   \
          if (iy < 0 || iy >= h) {                                                                          \
            for (int ox = 0; ox < wo; ox++) dst[ox] = 0;                                                    \
            continue;                                                                                       \
          }                                                                                                 \
          const T *src = plane + iy * w + xoff;                                                             \
          for (int ox = 0; ox < lo; ox++) dst[ox] = 0;                                                      \
          if (sw == 1) {                                                                                    \
            for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox];                                             \
          } else {                                                                                          \
            for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox * sw];                                        \
          }                                                                                                 \
          for (int ox = hi; ox < wo; ox++) dst[ox] = 0;                                                     \
        }                                                                                                   \
      }                                                                                                     \
    }                                                                                                       \
  }

DEFINE_IM2COL(im2col_i8, signed char)
DEFINE_IM2COL(im2col_i16, short)

/*
 * col[r, (n - n0) * P + oy * wo + ox] = x[n, c0 + c, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw] (zero outside),
 * with r = (c * kh + ky) * kw + kx, for rows r in [r0, r1) and images n in [n0, n1); `bytes` is the size of
 * one element (1: int8, 2: int16).
 */
void EXPORT(int_im2col)(const conv_geo *g, const void *x, int bytes, int c0, int n0, int n1, void *col, int r0,
                        int r1) {
  if (bytes == 1) {
    im2col_i8(g, (const signed char *)x, c0, n0, n1, (signed char *)col, r0, r1);
  } else {
    im2col_i16(g, (const short *)x, c0, n0, n1, (short *)col, r0, r1);
  }
}

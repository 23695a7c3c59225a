/*
 * im2col / col2im for general convolutions (the GEMM then does the arithmetic), and the bias add.
 * All tensors are NCHW float32; every function takes a range so that threads can split the work
 * without writing the same element.
 */
#include "affine.h"
#include "common.h"

/* First o in [0, limit] with o * s + off >= bound. */
static inline int first_at_least(int s, int off, int bound, int limit) {
  int need = bound - off;
  int o = need <= 0 ? 0 : (need + s - 1) / s;
  return o > limit ? limit : o;
}

/*
 * col[r, (n - n0) * P + oy * wo + ox] = x[n, c0 + c, oy*sh - ph + ky*dh, ox*sw - pw + kx*dw] (zero outside),
 * with r = (c * kh + ky) * kw + kx, for rows r in [r0, r1) and images n in [n0, n1).
 */
void EXPORT(im2col)(const conv_geo *g, const float *x, int c0, int n0, int n1, float *col, int r0, int r1) {
  const int kh = g->kh, kw = g->kw, h = g->h, w = g->w, ho = g->ho, wo = g->wo, sw = g->sw;
  const int p = ho * wo, np = (n1 - n0) * p;
  for (int r = r0; r < r1; r++) {
    const int kx = r % kw, ky = (r / kw) % kh, c = r / (kw * kh);
    const int xoff = kx * g->dw - g->pw;
    const int lo = first_at_least(sw, xoff, 0, wo);
    int hi = first_at_least(sw, xoff, w, wo);
    if (hi < lo) hi = lo;
    float *row = col + (long)r * np;
    for (int n = n0; n < n1; n++) {
      const float *plane = x + ((long)n * g->c + c0 + c) * h * w;
      float *dst = row + (n - n0) * p;
      for (int oy = 0; oy < ho; oy++, dst += wo) {
        const int iy = oy * g->sh - g->ph + ky * g->dh;
        if (iy < 0 || iy >= h) {
          for (int ox = 0; ox < wo; ox++) dst[ox] = 0.0f;
          continue;
        }
        const float *src = plane + iy * w + xoff;
        for (int ox = 0; ox < lo; ox++) dst[ox] = 0.0f;
        if (sw == 1) {
          for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox];
        } else {
          int ox = lo;
          if (sw == 2) {
            /* every other input column, four at a time from two vectors (read only inside the input row) */
            for (; ox + 4 <= hi && 2 * ox + 8 + xoff <= w; ox += 4)
              wasm_v128_store(dst + ox, wasm_i32x4_shuffle(wasm_v128_load(src + 2 * ox), wasm_v128_load(src + 2 * ox + 4),
                                                           0, 2, 4, 6));
          }
          for (; ox < hi; ox++) dst[ox] = src[ox * sw];
        }
        for (int ox = hi; ox < wo; ox++) dst[ox] = 0.0f;
      }
    }
  }
}

/* The adjoint of im2col: dx[n, c0 + c, ...] += col[...] for group channels c in [cl0, cl1). */
void EXPORT(col2im)(const conv_geo *g, const float *col, int c0, int n0, int n1, float *dx, int cl0, int cl1) {
  const int kh = g->kh, kw = g->kw, h = g->h, w = g->w, ho = g->ho, wo = g->wo, sw = g->sw;
  const int p = ho * wo, np = (n1 - n0) * p;
  for (int c = cl0; c < cl1; c++) {
    for (int ky = 0; ky < kh; ky++) {
      for (int kx = 0; kx < kw; kx++) {
        const int xoff = kx * g->dw - g->pw;
        const int lo = first_at_least(sw, xoff, 0, wo);
        int hi = first_at_least(sw, xoff, w, wo);
        if (hi < lo) hi = lo;
        const float *row = col + (long)((c * kh + ky) * kw + kx) * np;
        for (int n = n0; n < n1; n++) {
          float *plane = dx + ((long)n * g->c + c0 + c) * h * w;
          const float *src = row + (n - n0) * p;
          for (int oy = 0; oy < ho; oy++, src += wo) {
            const int iy = oy * g->sh - g->ph + ky * g->dh;
            if (iy < 0 || iy >= h) continue;
            float *d = plane + iy * w + xoff;
            if (sw == 1) {
              for (int ox = lo; ox < hi; ox++) d[ox] += src[ox];
            } else {
              for (int ox = lo; ox < hi; ox++) d[ox * sw] += src[ox];
            }
          }
        }
      }
    }
  }
}

/* y[n, o, :] += bias[o]. */
void EXPORT(add_bias)(float *y, const float *bias, int n, int co, int p) {
  for (int i = 0; i < n; i++)
    for (int o = 0; o < co; o++) {
      const float b = bias[o];
      float *row = y + ((long)i * co + o) * p;
      for (int j = 0; j < p; j++) row[j] += b;
    }
}


/* y[i, o, :] = clamp(y[i, o, :] · scale[o] + shift[o], lo, hi) for images [n0, n1) (see affine.h). */
void EXPORT(affine_act)(float *y, const affine_ep *ep, int n0, int n1, int co, int p) {
  const clamp_v cl = clamp_of(ep->clamp);
  for (int i = n0; i < n1; i++)
    for (int o = 0; o < co; o++) {
      const v128_t s = wasm_v128_load32_splat(ep->scale + o), t = wasm_v128_load32_splat(ep->shift + o);
      float *row = y + ((long)i * co + o) * p;
      int j = 0;
      for (; j + 4 <= p; j += 4) wasm_v128_store(row + j, affine4(wasm_v128_load(row + j), s, t, cl));
      for (; j < p; j++)
        row[j] = wasm_f32x4_extract_lane(affine4(wasm_f32x4_splat(row[j]), s, t, cl), 0);
    }
}

/*
 * Depthwise convolution (groups == c, co = mult * c) on zero-padded planes: direct vectorized loops
 * along the output width, with stride-1 and stride-2 fast paths. Used when a channel has several
 * outputs or there are few channels; depthwise_cl.c covers the common one-to-one case.
 */
#include "common.h"

/* Rows and row pitch of the zero-padded plane that the outputs read. */
static inline int dw_rows(const conv_geo *g) { return (g->ho - 1) * g->sh + (g->kh - 1) * g->dh + 1; }
static inline int dw_cols(const conv_geo *g) { return (g->wo - 1) * g->sw + (g->kw - 1) * g->dw + 1; }
static inline int dw_pitch(const conv_geo *g) { return ((dw_cols(g) + 8 + 3) / 4) * 4; }

/* Scratch floats one thread needs for the depthwise kernels. */
int EXPORT(depthwise_scratch_floats)(const conv_geo *g) { return dw_rows(g) * dw_pitch(g) + g->kh * g->kw + 8; }

/* dst (rows × pitch) = the plane src (h × w) shifted by (ph, pw), zero elsewhere. */
static void pad_plane(const conv_geo *g, const float *src, float *dst) {
  const int rows = dw_rows(g), pitch = dw_pitch(g), h = g->h, w = g->w, ph = g->ph, pw = g->pw;
  int lo = pw < pitch ? pw : pitch;
  int hi = pw + w < pitch ? pw + w : pitch;
  if (hi < lo) hi = lo;
  for (int yy = 0; yy < rows; yy++) {
    float *d = dst + yy * pitch;
    const int iy = yy - ph;
    if (iy < 0 || iy >= h) {
      for (int xx = 0; xx < pitch; xx++) d[xx] = 0.0f;
      continue;
    }
    const float *s = src + iy * w - pw;
    for (int xx = 0; xx < lo; xx++) d[xx] = 0.0f;
    for (int xx = lo; xx < hi; xx++) d[xx] = s[xx];
    for (int xx = hi; xx < pitch; xx++) d[xx] = 0.0f;
  }
}

static inline v128_t even_lanes(const float *s) {
  return wasm_i32x4_shuffle(wasm_v128_load(s), wasm_v128_load(s + 4), 0, 2, 4, 6);
}

static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
         wasm_f32x4_extract_lane(v, 3);
}

/* y plane (ho × wo) = the padded plane xp correlated with the kernel wk. */
static void dw_plane_forward(const conv_geo *g, const float *xp, const float *wk, float *y) {
  const int kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw, dh = g->dh, dw = g->dw, ho = g->ho, wo = g->wo;
  const int pitch = dw_pitch(g);
  for (int oy = 0; oy < ho; oy++) {
    const float *x0 = xp + oy * sh * pitch;
    float *yr = y + oy * wo;
    int ox = 0;
    if (sw == 1) {
      for (; ox + 4 <= wo; ox += 4) {
        v128_t acc = wasm_f32x4_splat(0.0f);
        for (int ky = 0; ky < kh; ky++) {
          const float *xr = x0 + ky * dh * pitch + ox;
          const float *wr = wk + ky * kw;
          for (int kx = 0; kx < kw; kx++)
            acc = FMA(wasm_v128_load32_splat(wr + kx), wasm_v128_load(xr + kx * dw), acc);
        }
        wasm_v128_store(yr + ox, acc);
      }
    } else if (sw == 2) {
      for (; ox + 4 <= wo; ox += 4) {
        v128_t acc = wasm_f32x4_splat(0.0f);
        for (int ky = 0; ky < kh; ky++) {
          const float *xr = x0 + ky * dh * pitch + 2 * ox;
          const float *wr = wk + ky * kw;
          for (int kx = 0; kx < kw; kx++) acc = FMA(wasm_v128_load32_splat(wr + kx), even_lanes(xr + kx * dw), acc);
        }
        wasm_v128_store(yr + ox, acc);
      }
    }
    for (; ox < wo; ox++) {
      float acc = 0.0f;
      for (int ky = 0; ky < kh; ky++) {
        const float *xr = x0 + ky * dh * pitch + ox * sw;
        const float *wr = wk + ky * kw;
        for (int kx = 0; kx < kw; kx++) acc += wr[kx] * xr[kx * dw];
      }
      yr[ox] = acc;
    }
  }
}

/* y[n, o] for output channels o in [o0, o1) and every image. */
void EXPORT(depthwise_forward)(const conv_geo *g, const float *x, const float *w, float *y, int o0, int o1,
                               float *scratch) {
  const int mult = g->co / g->c, hw = g->h * g->w, ohw = g->ho * g->wo, taps = g->kh * g->kw;
  for (int n = 0; n < g->n; n++)
    for (int o = o0; o < o1; o++) {
      pad_plane(g, x + ((long)n * g->c + o / mult) * hw, scratch);
      dw_plane_forward(g, scratch, w + o * taps, y + ((long)n * g->co + o) * ohw);
    }
}

/* dxp += the transposed correlation of the dy plane with the kernel wk (dxp is the padded plane). */
static void dw_plane_backward_input(const conv_geo *g, const float *dyp, const float *wk, float *dxp) {
  const int kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw, dh = g->dh, dw = g->dw, ho = g->ho, wo = g->wo;
  const int pitch = dw_pitch(g);
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int oy = 0; oy < ho; oy++) {
    const float *dyr = dyp + oy * wo;
    for (int ky = 0; ky < kh; ky++) {
      float *dr = dxp + (oy * sh + ky * dh) * pitch;
      for (int kx = 0; kx < kw; kx++) {
        const float wv = wk[ky * kw + kx];
        const v128_t wvv = wasm_f32x4_splat(wv);
        float *d = dr + kx * dw;
        int ox = 0;
        if (sw == 1) {
          for (; ox + 4 <= wo; ox += 4)
            wasm_v128_store(d + ox, FMA(wvv, wasm_v128_load(dyr + ox), wasm_v128_load(d + ox)));
        } else if (sw == 2) {
          for (; ox + 4 <= wo; ox += 4) {
            const v128_t v = wasm_f32x4_mul(wvv, wasm_v128_load(dyr + ox));
            float *q = d + 2 * ox;
            wasm_v128_store(q, wasm_f32x4_add(wasm_v128_load(q), wasm_i32x4_shuffle(v, zero, 0, 4, 1, 5)));
            wasm_v128_store(q + 4, wasm_f32x4_add(wasm_v128_load(q + 4), wasm_i32x4_shuffle(v, zero, 2, 6, 3, 7)));
          }
        }
        for (; ox < wo; ox++) d[ox * sw] += wv * dyr[ox];
      }
    }
  }
}

/* dx[n, c] for input channels c in [c0, c1) and every image. */
void EXPORT(depthwise_backward_input)(const conv_geo *g, const float *dy, const float *w, float *dx, int c0, int c1,
                                      float *scratch) {
  const int mult = g->co / g->c, h = g->h, wd = g->w, ohw = g->ho * g->wo, taps = g->kh * g->kw;
  const int rows = dw_rows(g), cols = dw_cols(g), pitch = dw_pitch(g), ph = g->ph, pw = g->pw;
  for (int n = 0; n < g->n; n++)
    for (int c = c0; c < c1; c++) {
      for (int i = 0; i < rows * pitch; i++) scratch[i] = 0.0f;
      for (int j = 0; j < mult; j++) {
        const int o = c * mult + j;
        dw_plane_backward_input(g, dy + ((long)n * g->co + o) * ohw, w + o * taps, scratch);
      }
      float *plane = dx + ((long)n * g->c + c) * h * wd;
      for (int iy = 0; iy < h; iy++) {
        float *d = plane + iy * wd;
        const int yy = iy + ph;
        if (yy >= rows) {
          for (int ix = 0; ix < wd; ix++) d[ix] = 0.0f;
          continue;
        }
        const float *s = scratch + yy * pitch + pw;
        int valid = cols - pw;
        if (valid > wd) valid = wd;
        if (valid < 0) valid = 0;
        for (int ix = 0; ix < valid; ix++) d[ix] = s[ix];
        for (int ix = valid; ix < wd; ix++) d[ix] = 0.0f;
      }
    }
}

/* dw[o] for output channels o in [o0, o1), summed over every image. */
void EXPORT(depthwise_backward_weight)(const conv_geo *g, const float *dy, const float *x, float *dw, int o0, int o1,
                                       float *scratch) {
  const int mult = g->co / g->c, hw = g->h * g->w, ho = g->ho, wo = g->wo, taps = g->kh * g->kw;
  const int kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw, dh = g->dh, dlw = g->dw, pitch = dw_pitch(g);
  float *sums = scratch + dw_rows(g) * pitch;
  for (int o = o0; o < o1; o++) {
    for (int t = 0; t < taps; t++) sums[t] = 0.0f;
    for (int n = 0; n < g->n; n++) {
      pad_plane(g, x + ((long)n * g->c + o / mult) * hw, scratch);
      const float *dyp = dy + ((long)n * g->co + o) * ho * wo;
      for (int ky = 0; ky < kh; ky++)
        for (int kx = 0; kx < kw; kx++) {
          v128_t acc = wasm_f32x4_splat(0.0f);
          float s = 0.0f;
          for (int oy = 0; oy < ho; oy++) {
            const float *xr = scratch + (oy * sh + ky * dh) * pitch + kx * dlw;
            const float *dyr = dyp + oy * wo;
            int ox = 0;
            if (sw == 1) {
              for (; ox + 4 <= wo; ox += 4) acc = FMA(wasm_v128_load(dyr + ox), wasm_v128_load(xr + ox), acc);
            } else if (sw == 2) {
              for (; ox + 4 <= wo; ox += 4) acc = FMA(wasm_v128_load(dyr + ox), even_lanes(xr + 2 * ox), acc);
            }
            for (; ox < wo; ox++) s += dyr[ox] * xr[ox * sw];
          }
          sums[ky * kw + kx] += hsum(acc) + s;
        }
    }
    for (int t = 0; t < taps; t++) dw[o * taps + t] = sums[t];
  }
}


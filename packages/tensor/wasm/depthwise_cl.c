/*
 * Depthwise convolution with one output channel per input channel, channels innermost. Each image's
 * channels [c0, c1) are transposed to [positions, channels] (pitch cp = channels rounded up to 4),
 * so every (output position, tap) pair is one vector loop over channels: no padding, no per-stride
 * code, and small planes (4×4, 2×2, 1×1) cost no more per element than big ones.
 */
#include "affine.h"
#include "common.h"

static inline int round4(int v) { return (v + 3) & ~3; }

/* Scratch floats one thread needs for the channels-innermost kernels on cw channels. */
int EXPORT(depthwise_cl_scratch_floats)(const conv_geo *g, int cw) {
  const int cp = round4(cw), taps = g->kh * g->kw, ohw = g->ho * g->wo;
  return (g->h * g->w + ohw + taps) * cp + ohw * (2 * taps + 1) + 16;
}

/* t[p * cp + j] = plane (c0 + j)[p] of image n, for j < cw (4 × 4 blocks transposed in registers). */
static void to_cl(const float *src, int channels, int positions, int c0, int cw, int cp, int n, float *t) {
  const float *base = src + ((long)n * channels + c0) * positions;
  if (positions == 1) {
    for (int j = 0; j < cw; j++) t[j] = base[j];
    return;
  }
  int j = 0;
  for (; j + 4 <= cw; j += 4) {
    const float *s = base + j * positions;
    int p = 0;
    for (; p + 4 <= positions; p += 4)
      transpose4_store(wasm_v128_load(s + p), wasm_v128_load(s + positions + p), wasm_v128_load(s + 2 * positions + p),
                       wasm_v128_load(s + 3 * positions + p), t + p * cp + j, cp);
    for (; p < positions; p++)
      for (int q = 0; q < 4; q++) t[p * cp + j + q] = s[q * positions + p];
  }
  for (; j < cw; j++)
    for (int p = 0; p < positions; p++) t[p * cp + j] = base[j * positions + p];
}

/* The inverse of to_cl: plane (c0 + j)[p] of image n = t[p * cp + j]. */
static void from_cl(const float *t, int channels, int positions, int c0, int cw, int cp, int n, float *dst) {
  float *base = dst + ((long)n * channels + c0) * positions;
  if (positions == 1) {
    for (int j = 0; j < cw; j++) base[j] = t[j];
    return;
  }
  int p = 0;
  for (; p + 4 <= positions; p += 4) {
    const float *s = t + p * cp;
    int j = 0;
    for (; j + 4 <= cw; j += 4)
      transpose4_store(wasm_v128_load(s + j), wasm_v128_load(s + cp + j), wasm_v128_load(s + 2 * cp + j),
                       wasm_v128_load(s + 3 * cp + j), base + j * positions + p, positions);
    for (; j < cw; j++)
      for (int q = 0; q < 4; q++) base[j * positions + p + q] = s[q * cp + j];
  }
  for (; p < positions; p++)
    for (int j = 0; j < cw; j++) base[j * positions + p] = t[p * cp + j];
}

/* wt[t * cp + j] = w[c0 + j, t]. */
static void weights_cl(const conv_geo *g, const float *w, int c0, int cw, int cp, float *wt) {
  const int taps = g->kh * g->kw;
  for (int t = 0; t < taps; t++) {
    for (int j = 0; j < cw; j++) wt[t * cp + j] = w[(c0 + j) * taps + t];
    for (int j = cw; j < cp; j++) wt[t * cp + j] = 0.0f;
  }
}

typedef struct {
  float *in, *out, *wt;
  /* per output position o: count[o] taps, tap[o * taps + i] (as wt row offset), pos[o * taps + i] (as in row
   * offset) */
  int *count, *tap, *pos;
  int cw, cp;
} cl_scratch;

/* Lays out the scratch and fills the table of taps that land inside the input, per output position. */
static inline __attribute__((always_inline)) cl_scratch cl_layout(const conv_geo *g, int c0, int c1, float *scratch) {
  cl_scratch s;
  const int taps = g->kh * g->kw, ohw = g->ho * g->wo;
  s.cw = c1 - c0;
  s.cp = round4(s.cw);
  s.in = scratch;
  s.out = s.in + g->h * g->w * s.cp;
  s.wt = s.out + ohw * s.cp;
  s.count = (int *)(s.wt + taps * s.cp);
  s.tap = s.count + ohw;
  s.pos = s.tap + ohw * taps;
  for (int oy = 0; oy < g->ho; oy++)
    for (int ox = 0; ox < g->wo; ox++) {
      const int o = oy * g->wo + ox;
      int count = 0;
      for (int ky = 0; ky < g->kh; ky++) {
        const int iy = oy * g->sh - g->ph + ky * g->dh;
        if (iy < 0 || iy >= g->h) continue;
        for (int kx = 0; kx < g->kw; kx++) {
          const int ix = ox * g->sw - g->pw + kx * g->dw;
          if (ix < 0 || ix >= g->w) continue;
          s.tap[o * taps + count] = (ky * g->kw + kx) * s.cp;
          s.pos[o * taps + count] = (iy * g->w + ix) * s.cp;
          count++;
        }
      }
      s.count[o] = count;
    }
  return s;
}

/* Applies the epilogue to the channels-innermost output rows of channels [c0, c0 + cp). */
static void affine_cl(const affine_ep *ep, float *out, int ohw, int c0, int cp) {
  const clamp_v cl = clamp_of(ep->clamp);
  for (int c = 0; c < cp; c += 4) {
    /* lanes past the range read the next channels' (or the allocation's padding) values and are never stored */
    const v128_t sc = wasm_v128_load(ep->scale + c0 + c), sh = wasm_v128_load(ep->shift + c0 + c);
    for (int o = 0; o < ohw; o++) {
      float *r = out + o * cp + c;
      wasm_v128_store(r, affine4(wasm_v128_load(r), sc, sh, cl));
    }
  }
}

static inline __attribute__((always_inline)) void cl_forward(const conv_geo *g, const float *x, const float *w,
                                                             float *y, int c0, int c1, int n0, int n1,
                                                             float *scratch, const affine_ep *ep) {
  cl_scratch s = cl_layout(g, c0, c1, scratch);
  const int hw = g->h * g->w, ohw = g->ho * g->wo, cp = s.cp, taps = g->kh * g->kw;
  weights_cl(g, w, c0, s.cw, cp, s.wt);
  for (int n = n0; n < n1; n++) {
    to_cl(x, g->c, hw, c0, s.cw, cp, n, s.in);
    for (int o = 0; o < ohw; o++) {
      const int count = s.count[o];
      const int *tap = s.tap + o * taps, *pos = s.pos + o * taps;
      float *yr = s.out + o * cp;
      int c = 0;
      if (count == 9) {
        /* a 3×3 kernel fully inside the input: the taps unrolled */
        const float *w0 = s.wt + tap[0], *w1 = s.wt + tap[1], *w2 = s.wt + tap[2], *w3 = s.wt + tap[3];
        const float *w4 = s.wt + tap[4], *w5 = s.wt + tap[5], *w6 = s.wt + tap[6], *w7 = s.wt + tap[7];
        const float *w8 = s.wt + tap[8];
        const float *x0 = s.in + pos[0], *x1 = s.in + pos[1], *x2 = s.in + pos[2], *x3 = s.in + pos[3];
        const float *x4 = s.in + pos[4], *x5 = s.in + pos[5], *x6 = s.in + pos[6], *x7 = s.in + pos[7];
        const float *x8 = s.in + pos[8];
        for (; c + 8 <= cp; c += 8) {
          v128_t a = wasm_f32x4_mul(wasm_v128_load(w0 + c), wasm_v128_load(x0 + c));
          v128_t b = wasm_f32x4_mul(wasm_v128_load(w0 + c + 4), wasm_v128_load(x0 + c + 4));
#define TAP(i)                                                        \
  a = FMA(wasm_v128_load(w##i + c), wasm_v128_load(x##i + c), a);     \
  b = FMA(wasm_v128_load(w##i + c + 4), wasm_v128_load(x##i + c + 4), b);
          TAP(1) TAP(2) TAP(3) TAP(4) TAP(5) TAP(6) TAP(7) TAP(8)
#undef TAP
          wasm_v128_store(yr + c, a);
          wasm_v128_store(yr + c + 4, b);
        }
      }
      for (; c + 16 <= cp; c += 16) {
        v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < count; t++) {
          const float *wr = s.wt + tap[t] + c, *xr = s.in + pos[t] + c;
          a0 = FMA(wasm_v128_load(wr), wasm_v128_load(xr), a0);
          a1 = FMA(wasm_v128_load(wr + 4), wasm_v128_load(xr + 4), a1);
          a2 = FMA(wasm_v128_load(wr + 8), wasm_v128_load(xr + 8), a2);
          a3 = FMA(wasm_v128_load(wr + 12), wasm_v128_load(xr + 12), a3);
        }
        wasm_v128_store(yr + c, a0);
        wasm_v128_store(yr + c + 4, a1);
        wasm_v128_store(yr + c + 8, a2);
        wasm_v128_store(yr + c + 12, a3);
      }
      for (; c < cp; c += 4) {
        v128_t acc = wasm_f32x4_splat(0.0f);
        for (int t = 0; t < count; t++)
          acc = FMA(wasm_v128_load(s.wt + tap[t] + c), wasm_v128_load(s.in + pos[t] + c), acc);
        wasm_v128_store(yr + c, acc);
      }
    }
    if (ep) affine_cl(ep, s.out, ohw, c0, cp);
    from_cl(s.out, g->co, ohw, c0, s.cw, cp, n, y);
  }
}

/* y for channels [c0, c1) of images [n0, n1) (co == c). */
void EXPORT(depthwise_cl_forward)(const conv_geo *g, const float *x, const float *w, float *y, int c0, int c1,
                                  int n0, int n1, float *scratch) {
  cl_forward(g, x, w, y, c0, c1, n0, n1, scratch, 0);
}

/* clamp(y · scale + shift) for channels [c0, c1) of images [n0, n1) (co == c; see affine.h). */
void EXPORT(depthwise_cl_forward_affine)(const conv_geo *g, const float *x, const float *w, float *y, int c0,
                                         int c1, int n0, int n1, const affine_ep *ep, float *scratch) {
  cl_forward(g, x, w, y, c0, c1, n0, n1, scratch, ep);
}

/* dx for channels [c0, c1) of images [n0, n1) (co == c). */
void EXPORT(depthwise_cl_backward_input)(const conv_geo *g, const float *dy, const float *w, float *dx, int c0,
                                         int c1, int n0, int n1, float *scratch) {
  cl_scratch s = cl_layout(g, c0, c1, scratch);
  const int hw = g->h * g->w, ohw = g->ho * g->wo, cp = s.cp, taps = g->kh * g->kw;
  weights_cl(g, w, c0, s.cw, cp, s.wt);
  for (int n = n0; n < n1; n++) {
    to_cl(dy, g->co, ohw, c0, s.cw, cp, n, s.out);
    for (int i = 0; i < hw * cp; i++) s.in[i] = 0.0f;
    for (int o = 0; o < ohw; o++) {
      const int count = s.count[o];
      const int *tap = s.tap + o * taps, *pos = s.pos + o * taps;
      const float *dyr = s.out + o * cp;
      for (int t = 0; t < count; t++) {
        const float *wr = s.wt + tap[t];
        float *dr = s.in + pos[t];
        for (int c = 0; c < cp; c += 4)
          wasm_v128_store(dr + c, FMA(wasm_v128_load(wr + c), wasm_v128_load(dyr + c), wasm_v128_load(dr + c)));
      }
    }
    from_cl(s.in, g->c, hw, c0, s.cw, cp, n, dx);
  }
}

/* dw for channels [c0, c1), summed over every image (co == c). */
void EXPORT(depthwise_cl_backward_weight)(const conv_geo *g, const float *dy, const float *x, float *dw, int c0,
                                          int c1, float *scratch) {
  cl_scratch s = cl_layout(g, c0, c1, scratch);
  const int hw = g->h * g->w, ohw = g->ho * g->wo, cp = s.cp, taps = g->kh * g->kw;
  for (int i = 0; i < taps * cp; i++) s.wt[i] = 0.0f;
  for (int n = 0; n < g->n; n++) {
    to_cl(x, g->c, hw, c0, s.cw, cp, n, s.in);
    to_cl(dy, g->co, ohw, c0, s.cw, cp, n, s.out);
    for (int o = 0; o < ohw; o++) {
      const int count = s.count[o];
      const int *tap = s.tap + o * taps, *pos = s.pos + o * taps;
      const float *dyr = s.out + o * cp;
      for (int t = 0; t < count; t++) {
        float *ar = s.wt + tap[t];
        const float *xr = s.in + pos[t];
        for (int c = 0; c < cp; c += 4)
          wasm_v128_store(ar + c, FMA(wasm_v128_load(dyr + c), wasm_v128_load(xr + c), wasm_v128_load(ar + c)));
      }
    }
  }
  for (int j = 0; j < s.cw; j++)
    for (int t = 0; t < taps; t++) dw[(c0 + j) * taps + t] = s.wt[t * cp + j];
}

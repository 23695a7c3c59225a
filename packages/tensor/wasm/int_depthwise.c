/*
 * Exact integer depthwise convolution (groups == c == co, int8 weights, int8 or int16 input, int32
 * output with the bias): each image's channels [c0, c1) are laid out channels innermost on the
 * zero-padded plane ([rows, cols, cp] int16, cp = channels rounded up to 8), so that every output
 * position is the same few vector loops over channels whatever the stride, dilation or plane size.
 * Two taps are interleaved per step and multiplied with i32x4.dot_i16x8_s: every product and pair sum
 * is exact in int32.
 */
#include "common.h"

static inline int round8(int v) { return (v + 7) & ~7; }

/* Rows and columns of the zero-padded plane that the outputs read. */
static inline int pad_rows(const conv_geo *g) { return (g->ho - 1) * g->sh + (g->kh - 1) * g->dh + 1; }
static inline int pad_cols(const conv_geo *g) { return (g->wo - 1) * g->sw + (g->kw - 1) * g->dw + 1; }

/* Bytes of scratch one thread needs for int_depthwise_forward on cw channels. */
int EXPORT(int_depthwise_scratch_bytes)(const conv_geo *g, int cw) {
  const int cp = round8(cw), taps = g->kh * g->kw, ohw = g->ho * g->wo;
  return pad_rows(g) * pad_cols(g) * cp * 2 + ohw * cp * 4 + (taps + 1) * cp * 2 + cp * 4 + taps * 4 + 64;
}

/* Eight consecutive input elements as int16 lanes. */
static inline v128_t row8_i8(const signed char *s) { return wasm_i16x8_load8x8(s); }
static inline v128_t row8_i16(const short *s) { return wasm_v128_load(s); }

/* Stores the transpose of the 8 × 8 int16 block with rows r[0..8): row q of the result at d + q * pitch. */
static inline void transpose8(const v128_t *r, short *d, int pitch) {
  const v128_t a0 = wasm_i16x8_shuffle(r[0], r[1], 0, 8, 1, 9, 2, 10, 3, 11);
  const v128_t a1 = wasm_i16x8_shuffle(r[0], r[1], 4, 12, 5, 13, 6, 14, 7, 15);
  const v128_t a2 = wasm_i16x8_shuffle(r[2], r[3], 0, 8, 1, 9, 2, 10, 3, 11);
  const v128_t a3 = wasm_i16x8_shuffle(r[2], r[3], 4, 12, 5, 13, 6, 14, 7, 15);
  const v128_t a4 = wasm_i16x8_shuffle(r[4], r[5], 0, 8, 1, 9, 2, 10, 3, 11);
  const v128_t a5 = wasm_i16x8_shuffle(r[4], r[5], 4, 12, 5, 13, 6, 14, 7, 15);
  const v128_t a6 = wasm_i16x8_shuffle(r[6], r[7], 0, 8, 1, 9, 2, 10, 3, 11);
  const v128_t a7 = wasm_i16x8_shuffle(r[6], r[7], 4, 12, 5, 13, 6, 14, 7, 15);
  const v128_t b0 = wasm_i32x4_shuffle(a0, a2, 0, 4, 1, 5), b1 = wasm_i32x4_shuffle(a0, a2, 2, 6, 3, 7);
  const v128_t b2 = wasm_i32x4_shuffle(a1, a3, 0, 4, 1, 5), b3 = wasm_i32x4_shuffle(a1, a3, 2, 6, 3, 7);
  const v128_t b4 = wasm_i32x4_shuffle(a4, a6, 0, 4, 1, 5), b5 = wasm_i32x4_shuffle(a4, a6, 2, 6, 3, 7);
  const v128_t b6 = wasm_i32x4_shuffle(a5, a7, 0, 4, 1, 5), b7 = wasm_i32x4_shuffle(a5, a7, 2, 6, 3, 7);
  wasm_v128_store(d, wasm_i64x2_shuffle(b0, b4, 0, 2));
  wasm_v128_store(d + pitch, wasm_i64x2_shuffle(b0, b4, 1, 3));
  wasm_v128_store(d + 2 * pitch, wasm_i64x2_shuffle(b1, b5, 0, 2));
  wasm_v128_store(d + 3 * pitch, wasm_i64x2_shuffle(b1, b5, 1, 3));
  wasm_v128_store(d + 4 * pitch, wasm_i64x2_shuffle(b2, b6, 0, 2));
  wasm_v128_store(d + 5 * pitch, wasm_i64x2_shuffle(b2, b6, 1, 3));
  wasm_v128_store(d + 6 * pitch, wasm_i64x2_shuffle(b3, b7, 0, 2));
  wasm_v128_store(d + 7 * pitch, wasm_i64x2_shuffle(b3, b7, 1, 3));
}

/*
 * in[((iy + ph) * cols + ix + pw) * cp + j] = channel c0 + j of image n at (iy, ix), for the input positions
 * that the padded plane holds; eight channels × eight positions at a time where they fit.
 */
#define DEFINE_TO_CL(NAME, T, ROW8)                                                                     \
  static void NAME(const conv_geo *g, const T *x, int n, int c0, int cw, int cp, short *in) {          \
    const int h = g->h, w = g->w, rows = pad_rows(g), cols = pad_cols(g), hw = h * w;                   \
    const int ylim = h < rows - g->ph ? h : rows - g->ph, xlim = w < cols - g->pw ? w : cols - g->pw; \
    const T *base = x + ((long)n * g->c + c0) * hw;                                                     \
    int j = 0;                                                                                          \
    for (; j + 8 <= cw; j += 8) {                                                                       \
      for (int iy = 0; iy < ylim; iy++) {                                                               \
        short *d = in + ((iy + g->ph) * cols + g->pw) * cp + j;                                         \
        const T *s = base + j * hw + iy * w;                                                            \
        int ix = 0;                                                                                     \
        for (; ix + 8 <= xlim; ix += 8) {                                                               \
          v128_t r[8];                                                                                  \
          _Pragma("clang loop unroll(full)") for (int q = 0; q < 8; q++) r[q] = ROW8(s + q * hw + ix);  \
          transpose8(r, d + ix * cp, cp);                                                               \
        }                                                                                               \
        for (; ix < xlim; ix++)                                                                         \
          for (int q = 0; q < 8; q++) d[ix * cp + q] = s[q * hw + ix];                                  \
      }                                                                                                 \
    }                                                                                                   \
    for (; j < cw; j++) {                                                                               \
      for (int iy = 0; iy < ylim; iy++) {                                                               \
        short *d = in + ((iy + g->ph) * cols + g->pw) * cp + j;                                         \
        const T *s = base + j * hw + iy * w;                                                            \
        for (int ix = 0; ix < xlim; ix++) d[ix * cp] = s[ix];                                           \
      }                                                                                                 \
    }                                                                                                   \
  }

DEFINE_TO_CL(to_cl_i8, signed char, row8_i8)
DEFINE_TO_CL(to_cl_i16, short, row8_i16)

/* y[n, c0 + j, o] = out[o * cp + j] for j < cw (4 × 4 blocks transposed in registers). */
static void from_cl(const int *out, int channels, int positions, int c0, int cw, int cp, int n, int *y) {
  int *base = y + ((long)n * channels + c0) * positions;
  int p = 0;
  for (; p + 4 <= positions; p += 4) {
    const int *s = out + p * cp;
    int j = 0;
    for (; j + 4 <= cw; j += 4)
      transpose4_store(wasm_v128_load(s + j), wasm_v128_load(s + cp + j), wasm_v128_load(s + 2 * cp + j),
                       wasm_v128_load(s + 3 * cp + j), base + j * positions + p, positions);
    for (; j < cw; j++)
      for (int q = 0; q < 4; q++) base[j * positions + p + q] = s[q * cp + j];
  }
  for (; p < positions; p++)
    for (int j = 0; j < cw; j++) base[j * positions + p] = out[p * cp + j];
}

/* out[o, c..c+8) for every output position, with `taps` known at compile time when inlined. */
static inline __attribute__((always_inline)) void positions_loop(const conv_geo *g, const short *in, const short *wt,
                                                                 const int *bias, const int *off, int taps, int cp,
                                                                 int *out) {
  const int cols = pad_cols(g), pairs = taps / 2;
  const v128_t zero = wasm_i32x4_splat(0);
  for (int oy = 0; oy < g->ho; oy++) {
    for (int ox = 0; ox < g->wo; ox++) {
      const short *xb = in + (oy * g->sh * cols + ox * g->sw) * cp;
      int *o = out + (oy * g->wo + ox) * cp;
      for (int c = 0; c < cp; c += 8) {
        v128_t a0 = wasm_v128_load(bias + c), a1 = wasm_v128_load(bias + c + 4);
        const short *wc = wt + 2 * c;
        for (int t = 0; t < pairs; t++) {
          const v128_t x0 = wasm_v128_load(xb + off[2 * t] + c), x1 = wasm_v128_load(xb + off[2 * t + 1] + c);
          const short *wp = wc + 2 * t * cp;
          a0 = wasm_i32x4_add(a0, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(x0, x1, 0, 8, 1, 9, 2, 10, 3, 11),
                                                       wasm_v128_load(wp)));
          a1 = wasm_i32x4_add(a1, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(x0, x1, 4, 12, 5, 13, 6, 14, 7, 15),
                                                       wasm_v128_load(wp + 8)));
        }
        if (taps & 1) {
          const v128_t x0 = wasm_v128_load(xb + off[taps - 1] + c);
          const short *wp = wc + 2 * pairs * cp;
          a0 = wasm_i32x4_add(a0, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(x0, zero, 0, 8, 1, 9, 2, 10, 3, 11),
                                                       wasm_v128_load(wp)));
          a1 = wasm_i32x4_add(a1, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(x0, zero, 4, 12, 5, 13, 6, 14, 7, 15),
                                                       wasm_v128_load(wp + 8)));
        }
        wasm_v128_store(o + c, a0);
        wasm_v128_store(o + c + 4, a1);
      }
    }
  }
}

/*
 * y[n, c] = bias[c] + the depthwise correlation of input channel c, for channels [c0, c1) of every image
 * (co == c == groups); `bytes` is the size of one input element (1: int8, 2: int16); `bias` may be 0.
 */
void EXPORT(int_depthwise_forward)(const conv_geo *g, const void *x, int bytes, const signed char *w,
                                   const int *bias, int *y, int c0, int c1, char *scratch) {
  const int cw = c1 - c0, cp = round8(cw), taps = g->kh * g->kw, ohw = g->ho * g->wo;
  const int rows = pad_rows(g), cols = pad_cols(g), pairs = (taps + 1) / 2;
  short *in = (short *)scratch;
  int *out = (int *)(in + rows * cols * cp);
  short *wt = (short *)(out + ohw * cp);
  int *bl = (int *)(wt + pairs * cp * 2);
  int *off = bl + cp;
  /* wt[(t * cp + j) * 2 + s] = w[c0 + j, 2t + s]: two taps interleaved per channel, zero past the taps */
  for (int t = 0; t < pairs; t++)
    for (int j = 0; j < cp; j++)
      for (int s = 0; s < 2; s++) {
        const int tap = 2 * t + s;
        wt[(t * cp + j) * 2 + s] = j < cw && tap < taps ? w[(c0 + j) * taps + tap] : 0;
      }
  for (int j = 0; j < cp; j++) bl[j] = bias && j < cw ? bias[c0 + j] : 0;
  for (int ky = 0; ky < g->kh; ky++)
    for (int kx = 0; kx < g->kw; kx++) off[ky * g->kw + kx] = (ky * g->dh * cols + kx * g->dw) * cp;
  for (int i = 0; i < rows * cols * cp; i++) in[i] = 0;
  for (int n = 0; n < g->n; n++) {
    if (bytes == 1) {
      to_cl_i8(g, (const signed char *)x, n, c0, cw, cp, in);
    } else {
      to_cl_i16(g, (const short *)x, n, c0, cw, cp, in);
    }
    if (taps == 9) {
      positions_loop(g, in, wt, bl, off, 9, cp, out);
    } else {
      positions_loop(g, in, wt, bl, off, taps, cp, out);
    }
    from_cl(out, g->c, ohw, c0, cw, cp, n, y);
  }
}

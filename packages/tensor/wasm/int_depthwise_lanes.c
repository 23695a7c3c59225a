/*
 * Exact requantized depthwise convolution on tiny planes (int8 input in NCHW, one input and one output channel
 * per group, 1 or 4 input positions and 1 or 4 output positions per plane: MobileNet's 2×2 and 1×1 stages),
 * with sixteen channels in the lanes of a vector instead of a few positions of one plane. Such a plane is a
 * dense P × HW matrix of taps per channel (a zero where no tap joins an output to an input), so each output
 * is one extending multiply-add across sixteen channels (one input) or two i32x4.dot_i16x8_s on interleaved
 * pairs of inputs (four), exact in int32. The requantization is per lane — each lane its own channel's
 * M · 2^-n — in float64, exact: with A = acc · M (|A| < 2^52 when M < 2^21), floor((A + 2^(n-1)) / 2^n) is
 * the nearest integer to (2A + 1) / 2^(n+1) (never a tie: 2A + 1 is odd) for n ≥ 1, and A itself for n = 0;
 * acc · (M · 2^-n) + 2^-(n+1) is that value without rounding (the sum has at most 53 significant bits), the
 * clamp to [lo, hi] commutes with the rounding, and adding 1.5 · 2^52 rounds to nearest (even) and leaves
 * the integer in the low 32 bits. Where every M ≤ 2^n of a group, |y| < 2^31 before the clamp, which then
 * takes int16 lanes after a saturating narrowing instead. The outputs are interleaved back to NCHW and
 * stored sixteen channels at a time. Channels of a partial last group, or of a group with an M ≥ 2^21, take
 * the scalar rule.
 */
#include "common.h"
#include "requant.h"

/* One group of 16 channels, as int_depthwise_lanes_prepare lays it out. */
typedef struct {
  /*
   * The tap joining input i to output o of each lane (0 where none): with one input at [o][lane], with four
   * the inputs in pairs (2r, 2r + 1) interleaved per lane at [(o · 2 + r) · 32 + 2 · lane + (0 or 1)].
   */
  short w[256];
  int bias[16];      /* per lane */
  double s[16];      /* M · 2^-n */
  double e[16];      /* 2^-(n+1), 0 for n = 0 */
  double lo[16], hi[16];
  short lo16[16], hi16[16];
  int exact;         /* every lane's M < 2^21 (else the scalar rule) */
  int fits;          /* every lane's M ≤ 2^n: |y| < 2^31 before the clamp, which then takes int16 lanes */
  int pad[2];
} lane_group;

/* Header of the shared scratch: the tap of each (output, input) pair, -1 where none. */
typedef struct {
  int tap[16];
  int pad[4];
} lanes_header;

static inline int plane_in(const conv_geo *g) { return g->h * g->w; }
static inline int plane_out(const conv_geo *g) { return g->ho * g->wo; }

/* The TypeScript side sizes the shared scratch as 80 bytes + 1168 per started group of 16 channels. */
_Static_assert(sizeof(lanes_header) == 80, "lanes_header size is mirrored in int_conv_wasm.ts");
_Static_assert(sizeof(lane_group) == 1168, "lane_group size is mirrored in int_conv_wasm.ts");

static inline lane_group *groups_of(char *scratch) { return (lane_group *)(scratch + sizeof(lanes_header)); }

/*
 * Fills `scratch` (the header and one lane_group per started group of 16 channels) for weights `w` [C, 1, kh, kw], `bias`
 * (0 for none) and `rq` (M, n, lo, hi per channel): the tap map and every full group of 16 channels.
 */
void EXPORT(int_depthwise_lanes_prepare)(const conv_geo *g, const signed char *w, const int *bias, const int *rq,
                                         char *scratch) {
  const int hw = plane_in(g), p = plane_out(g), taps = g->kh * g->kw;
  lanes_header *h = (lanes_header *)scratch;
  for (int k = 0; k < 16; k++) h->tap[k] = -1;
  for (int o = 0; o < p; o++)
    for (int t = 0; t < taps; t++) {
      const int ky = t / g->kw, kx = t % g->kw, oy = o / g->wo, ox = o % g->wo;
      const int iy = oy * g->sh - g->ph + ky * g->dh, ix = ox * g->sw - g->pw + kx * g->dw;
      if (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w) h->tap[o * hw + iy * g->w + ix] = t;
    }
  lane_group *grp = groups_of(scratch);
  for (int q = 0; q < g->c / 16; q++) {
    lane_group *b = grp + q;
    b->exact = 1;
    b->fits = 1;
    for (int j = 0; j < 16; j++) {
      const int c = q * 16 + j, m = rq[4 * c], n = rq[4 * c + 1];
      for (int o = 0; o < p; o++)
        for (int i = 0; i < hw; i++) {
          const int t = h->tap[o * hw + i];
          const int at = hw == 1 ? o * 16 + j : (o * 2 + i / 2) * 32 + 2 * j + i % 2;
          b->w[at] = t < 0 ? 0 : w[c * taps + t];
        }
      b->bias[j] = bias ? bias[c] : 0;
      /* 2^-n and 2^-(n+1) built from their exponent bits (n ≤ 62) */
      const double sc = __builtin_bit_cast(double, (long long)(1023 - n) << 52);
      const double ec = __builtin_bit_cast(double, (long long)(1023 - n - 1) << 52);
      b->s[j] = (double)m * sc;
      b->e[j] = n == 0 ? 0.0 : ec;
      b->lo[j] = rq[4 * c + 2];
      b->hi[j] = rq[4 * c + 3];
      b->lo16[j] = (short)rq[4 * c + 2];
      b->hi16[j] = (short)rq[4 * c + 3];
      if (m < 0 || m >= (1 << 21) || n < 0 || n > 62) b->exact = 0;
      if (b->s[j] > 1.0) b->fits = 0;
    }
  }
}

/* Four int32 sums requantized per lane (lanes' constants at s, e, lo, hi) and clamped, as int32 lanes. */
static inline v128_t requant4_lanes(v128_t acc, const double *s, const double *e, const double *lo,
                                    const double *hi) {
  const v128_t magic = wasm_f64x2_splat(6755399441055744.0); /* 1.5 · 2^52 */
  v128_t a = wasm_f64x2_convert_low_i32x4(acc);
  v128_t b = wasm_f64x2_convert_low_i32x4(wasm_i32x4_shuffle(acc, acc, 2, 3, 2, 3));
  a = wasm_f64x2_add(wasm_f64x2_mul(a, wasm_v128_load(s)), wasm_v128_load(e));
  b = wasm_f64x2_add(wasm_f64x2_mul(b, wasm_v128_load(s + 2)), wasm_v128_load(e + 2));
  a = wasm_f64x2_pmin(wasm_f64x2_pmax(a, wasm_v128_load(lo)), wasm_v128_load(hi));
  b = wasm_f64x2_pmin(wasm_f64x2_pmax(b, wasm_v128_load(lo + 2)), wasm_v128_load(hi + 2));
  a = wasm_f64x2_add(a, magic);
  b = wasm_f64x2_add(b, magic);
  return wasm_i32x4_shuffle(a, b, 0, 2, 4, 6);
}

/* The same without the clamp, for lanes whose |y| < 2^31 (M ≤ 2^n): the low words hold y. */
static inline v128_t requant4_lanes_noclamp(v128_t acc, const double *s, const double *e) {
  const v128_t magic = wasm_f64x2_splat(6755399441055744.0); /* 1.5 · 2^52 */
  v128_t a = wasm_f64x2_convert_low_i32x4(acc);
  v128_t b = wasm_f64x2_convert_low_i32x4(wasm_i32x4_shuffle(acc, acc, 2, 3, 2, 3));
  a = wasm_f64x2_add(wasm_f64x2_add(wasm_f64x2_mul(a, wasm_v128_load(s)), wasm_v128_load(e)), magic);
  b = wasm_f64x2_add(wasm_f64x2_add(wasm_f64x2_mul(b, wasm_v128_load(s + 2)), wasm_v128_load(e + 2)), magic);
  return wasm_i32x4_shuffle(a, b, 0, 2, 4, 6);
}

/*
 * Sixteen channels' outputs of one output position: (lo, hi) int16 halves, requantized and clamped. With one
 * input, `x` holds its (lo, hi) int16 halves; with four, the four vectors of input pairs (0, 1) of channels
 * 0-3, 4-7, 8-11, 12-15, then those of pair (2, 3).
 */
static inline __attribute__((always_inline)) void output16(const lane_group *b, int o, int hw, int fits,
                                                           const v128_t *x, v128_t *yl, v128_t *yh) {
  v128_t a0 = wasm_v128_load(b->bias), a1 = wasm_v128_load(b->bias + 4);
  v128_t a2 = wasm_v128_load(b->bias + 8), a3 = wasm_v128_load(b->bias + 12);
  if (hw == 1) {
    const v128_t wl = wasm_v128_load(b->w + o * 16), wh = wasm_v128_load(b->w + o * 16 + 8);
    a0 = wasm_i32x4_add(a0, wasm_i32x4_extmul_low_i16x8(x[0], wl));
    a1 = wasm_i32x4_add(a1, wasm_i32x4_extmul_high_i16x8(x[0], wl));
    a2 = wasm_i32x4_add(a2, wasm_i32x4_extmul_low_i16x8(x[1], wh));
    a3 = wasm_i32x4_add(a3, wasm_i32x4_extmul_high_i16x8(x[1], wh));
  } else {
    _Pragma("clang loop unroll(full)") for (int r = 0; r < 2; r++) {
      const short *wp = b->w + (o * 2 + r) * 32;
      a0 = wasm_i32x4_add(a0, wasm_i32x4_dot_i16x8(x[4 * r], wasm_v128_load(wp)));
      a1 = wasm_i32x4_add(a1, wasm_i32x4_dot_i16x8(x[4 * r + 1], wasm_v128_load(wp + 8)));
      a2 = wasm_i32x4_add(a2, wasm_i32x4_dot_i16x8(x[4 * r + 2], wasm_v128_load(wp + 16)));
      a3 = wasm_i32x4_add(a3, wasm_i32x4_dot_i16x8(x[4 * r + 3], wasm_v128_load(wp + 24)));
    }
  }
  if (fits) {
    /* int32 lanes already: the int16 narrowing saturates, and the clamp within int16 sees the same order */
    const v128_t q0 = requant4_lanes_noclamp(a0, b->s, b->e), q1 = requant4_lanes_noclamp(a1, b->s + 4, b->e + 4);
    const v128_t q2 = requant4_lanes_noclamp(a2, b->s + 8, b->e + 8);
    const v128_t q3 = requant4_lanes_noclamp(a3, b->s + 12, b->e + 12);
    *yl = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(q0, q1), wasm_v128_load(b->lo16)),
                         wasm_v128_load(b->hi16));
    *yh = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(q2, q3), wasm_v128_load(b->lo16 + 8)),
                         wasm_v128_load(b->hi16 + 8));
    return;
  }
  const v128_t q0 = requant4_lanes(a0, b->s, b->e, b->lo, b->hi);
  const v128_t q1 = requant4_lanes(a1, b->s + 4, b->e + 4, b->lo + 4, b->hi + 4);
  const v128_t q2 = requant4_lanes(a2, b->s + 8, b->e + 8, b->lo + 8, b->hi + 8);
  const v128_t q3 = requant4_lanes(a3, b->s + 12, b->e + 12, b->lo + 12, b->hi + 12);
  *yl = wasm_i16x8_narrow_i32x4(q0, q1);
  *yh = wasm_i16x8_narrow_i32x4(q2, q3);
}

/* Stores four positions × eight channels of int16 (y[o] lane j: channel j, output o) as [channel][position]. */
static inline __attribute__((always_inline)) void store4x8_i16(const v128_t *y, short *d) {
  const v128_t p0 = wasm_i16x8_shuffle(y[0], y[1], 0, 8, 1, 9, 2, 10, 3, 11);
  const v128_t p1 = wasm_i16x8_shuffle(y[0], y[1], 4, 12, 5, 13, 6, 14, 7, 15);
  const v128_t p2 = wasm_i16x8_shuffle(y[2], y[3], 0, 8, 1, 9, 2, 10, 3, 11);
  const v128_t p3 = wasm_i16x8_shuffle(y[2], y[3], 4, 12, 5, 13, 6, 14, 7, 15);
  wasm_v128_store(d, wasm_i32x4_shuffle(p0, p2, 0, 4, 1, 5));
  wasm_v128_store(d + 8, wasm_i32x4_shuffle(p0, p2, 2, 6, 3, 7));
  wasm_v128_store(d + 16, wasm_i32x4_shuffle(p1, p3, 0, 4, 1, 5));
  wasm_v128_store(d + 24, wasm_i32x4_shuffle(p1, p3, 2, 6, 3, 7));
}

/* One image's 16 channels of group `b`: inputs at `x` (16 · hw bytes), outputs at `out` (16 · p elements). */
static inline __attribute__((always_inline)) void group_image(const lane_group *b, int hw, int p, int fits,
                                                              const signed char *x, void *out, int bytes) {
  v128_t xv[8];
  if (hw == 1) {
    const v128_t v = wasm_v128_load(x);
    xv[0] = wasm_i16x8_extend_low_i8x16(v);
    xv[1] = wasm_i16x8_extend_high_i8x16(v);
  } else {
    /* 16 channels × 4 positions: positions (0, 1) and (2, 3) of each channel as int16 pairs */
    const v128_t r0 = wasm_v128_load(x), r1 = wasm_v128_load(x + 16);
    const v128_t r2 = wasm_v128_load(x + 32), r3 = wasm_v128_load(x + 48);
    _Pragma("clang loop unroll(full)") for (int k = 0; k < 2; k++) {
      /* channels 8k..8k+7: bytes (0, 1) of each, then (2, 3), as 16-bit units */
      const v128_t u = k == 0 ? r0 : r2, v = k == 0 ? r1 : r3;
      const v128_t p01 = wasm_i16x8_shuffle(u, v, 0, 2, 4, 6, 8, 10, 12, 14);
      const v128_t p23 = wasm_i16x8_shuffle(u, v, 1, 3, 5, 7, 9, 11, 13, 15);
      xv[2 * k] = wasm_i16x8_extend_low_i8x16(p01);
      xv[2 * k + 1] = wasm_i16x8_extend_high_i8x16(p01);
      xv[4 + 2 * k] = wasm_i16x8_extend_low_i8x16(p23);
      xv[4 + 2 * k + 1] = wasm_i16x8_extend_high_i8x16(p23);
    }
  }
  v128_t yl[4], yh[4];
  _Pragma("clang loop unroll(full)") for (int o = 0; o < p; o++) output16(b, o, hw, fits, xv, &yl[o], &yh[o]);
  if (bytes == 2) {
    short *d = (short *)out;
    if (p == 1) {
      wasm_v128_store(d, yl[0]);
      wasm_v128_store(d + 8, yh[0]);
    } else {
      store4x8_i16(yl, d);
      store4x8_i16(yh, d + 32);
    }
    return;
  }
  signed char *d = (signed char *)out;
  if (p == 1) {
    wasm_v128_store(d, wasm_i8x16_narrow_i16x8(yl[0], yh[0]));
    return;
  }
  v128_t y8[4];
  _Pragma("clang loop unroll(full)") for (int o = 0; o < 4; o++) y8[o] = wasm_i8x16_narrow_i16x8(yl[o], yh[o]);
  const v128_t z0 = wasm_i8x16_shuffle(y8[0], y8[1], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const v128_t z1 = wasm_i8x16_shuffle(y8[0], y8[1], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const v128_t z2 = wasm_i8x16_shuffle(y8[2], y8[3], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const v128_t z3 = wasm_i8x16_shuffle(y8[2], y8[3], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  wasm_v128_store(d, wasm_i16x8_shuffle(z0, z2, 0, 8, 1, 9, 2, 10, 3, 11));
  wasm_v128_store(d + 16, wasm_i16x8_shuffle(z0, z2, 4, 12, 5, 13, 6, 14, 7, 15));
  wasm_v128_store(d + 32, wasm_i16x8_shuffle(z1, z3, 0, 8, 1, 9, 2, 10, 3, 11));
  wasm_v128_store(d + 48, wasm_i16x8_shuffle(z1, z3, 4, 12, 5, 13, 6, 14, 7, 15));
}

/* Channel c of every image by the scalar rule (requant1: int64, exact). */
static void channel_scalar(const conv_geo *g, const lanes_header *h, const signed char *x, const signed char *w,
                           const int *bias, const int *rq, void *out, int bytes, int c) {
  const int hw = plane_in(g), p = plane_out(g), taps = g->kh * g->kw;
  const int *r = rq + 4 * c;
  for (int n = 0; n < g->n; n++) {
    const signed char *xc = x + ((long)n * g->c + c) * hw;
    const long o0 = ((long)n * g->c + c) * p;
    for (int o = 0; o < p; o++) {
      int acc = bias ? bias[c] : 0;
      for (int i = 0; i < hw; i++)
        if (h->tap[o * hw + i] >= 0) acc += xc[i] * w[c * taps + h->tap[o * hw + i]];
      const int y = clamp_scalar(requant1(acc, r[0], r[1]), r[2], r[3]);
      if (bytes == 1) {
        ((signed char *)out)[o0 + o] = (signed char)y;
      } else {
        ((short *)out)[o0 + o] = (short)y;
      }
    }
  }
}

/*
 * Groups [q0, q1) of 16 channels (the last may be partial) of every image: `x` int8 NCHW, `scratch` filled by
 * int_depthwise_lanes_prepare, outputs int8 (`bytes` 1) or int16 (2) in NCHW at `out`; `w`, `bias` and `rq`
 * as given to the prepare, for the channels on the scalar rule.
 */
void EXPORT(int_depthwise_lanes_forward)(const conv_geo *g, const signed char *x, const signed char *w,
                                         const int *bias, const int *rq, void *out, int bytes, int q0, int q1,
                                         char *scratch) {
  const int hw = plane_in(g), p = plane_out(g), full = g->c / 16;
  const lanes_header *h = (const lanes_header *)scratch;
  const lane_group *grp = groups_of(scratch);
  for (int q = q0; q < q1; q++) {
    const lane_group *b = grp + q;
    if (q >= full || !b->exact) {
      const int c1 = q * 16 + 16 < g->c ? q * 16 + 16 : g->c;
      for (int c = q * 16; c < c1; c++) channel_scalar(g, h, x, w, bias, rq, out, bytes, c);
      continue;
    }
    const long step = (long)g->c * hw, ostep = (long)g->c * p * bytes;
    const signed char *xq = x + (long)q * 16 * hw;
    char *oq = (char *)out + (long)q * 16 * p * bytes;
#define IMAGES(HW, P, FITS) \
  for (int n = 0; n < g->n; n++) group_image(b, HW, P, FITS, xq + n * step, oq + n * ostep, bytes)
    if (hw == 1 && p == 1) {
      if (b->fits) IMAGES(1, 1, 1); else IMAGES(1, 1, 0);
    } else if (hw == 4 && p == 4) {
      if (b->fits) IMAGES(4, 4, 1); else IMAGES(4, 4, 0);
    } else if (hw == 4) {
      if (b->fits) IMAGES(4, 1, 1); else IMAGES(4, 1, 0);
    } else {
      if (b->fits) IMAGES(1, 4, 1); else IMAGES(1, 4, 0);
    }
#undef IMAGES
  }
}

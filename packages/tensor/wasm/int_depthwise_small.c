/*
 * Exact integer depthwise convolution on small planes (int8 input, one input and one output channel per
 * group, at most 16 input and 16 output positions per plane), read and written in NCHW as they are: a
 * vector of 16 lanes holds G = 16 / L neighbouring channels, each in a lane group of L positions (L the
 * smallest power of two holding the plane's inputs and outputs). For each tap one i8x16.swizzle gathers
 * every output's input value from the plane bytes (indices past 15 give the zero padding), and the
 * products with the tap's weights are summed in int32 (extending multiplies: exact). Where a vector's input
 * bytes are all in [0, 127] (after a ReLU), one swizzle gathers four taps of four outputs instead and
 * i32x4.relaxed_dot_i8x16_i7x16_add_s sums them, exact for such inputs. With one channel per vector, only the
 * first four lanes are summed where the plane has at most four outputs; with int8 outputs (16 or 4 of them)
 * the channels are outermost, each one's requantization chosen once for the batch (one int32 product where
 * |bias| + 128 · Σ|w| bounds acc · M within int32), and a plane's outputs are stored as one vector.
 */
#include "common.h"
#include "requant.h"

/* The geometry's lane group width L (1, 2, 4, 8 or 16), or 0 when a plane does not fit one vector. */
static int lane_width(const conv_geo *g) {
  const int hw = g->h * g->w, p = g->ho * g->wo, need = hw > p ? hw : p;
  if (need > 16) return 0;
  int l = 1;
  while (l < need) l *= 2;
  return l;
}

/* Scratch bytes int_depthwise_small_forward needs for the geometry: tap indices and packed weights. */
int EXPORT(int_depthwise_small_scratch_bytes)(const conv_geo *g) {
  const int taps = g->kh * g->kw, l = lane_width(g), groups = l ? (g->c + 16 / l - 1) / (16 / l) : 0;
  const int quads = (taps + 3) / 4;
  return taps * 16 + taps * 4 + groups * (taps * 32 + 64) + quads * 64 + groups * quads * 64 + 64;
}

/* Whether int_depthwise_small_forward takes the geometry. */
int EXPORT(int_depthwise_small_fits)(const conv_geo *g) { return lane_width(g) != 0; }

/*
 * Packs what every call shares into `scratch` (int_depthwise_small_scratch_bytes): per tap, the swizzle
 * indices (16 bytes) and whether any output reads an input through it; per group of G channels, the tap
 * weights as int16 lanes (16 per tap) and the bias as int32 lanes (16).
 */
void EXPORT(int_depthwise_small_prepare)(const conv_geo *g, const signed char *w, const int *bias, char *scratch) {
  const int taps = g->kh * g->kw, l = lane_width(g), gc = 16 / l, hw = g->h * g->w, p = g->ho * g->wo;
  const int groups = (g->c + gc - 1) / gc;
  unsigned char *idx = (unsigned char *)scratch;
  int *used = (int *)(idx + taps * 16);
  short *wq = (short *)(used + taps);
  int *bq = (int *)(wq + groups * taps * 16);
  const int quads = (taps + 3) / 4;
  unsigned char *idx4 = (unsigned char *)(bq + groups * 16);
  signed char *w4 = (signed char *)(idx4 + quads * 64);
  for (int t = 0; t < taps; t++) {
    const int ky = t / g->kw, kx = t % g->kw;
    used[t] = 0;
    for (int lane = 0; lane < 16; lane++) {
      const int j = lane / l, o = lane % l;
      int v = 0x80;
      if (o < p) {
        const int oy = o / g->wo, ox = o % g->wo;
        const int iy = oy * g->sh - g->ph + ky * g->dh, ix = ox * g->sw - g->pw + kx * g->dw;
        if (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w) {
          v = j * hw + iy * g->w + ix;
          used[t] = 1;
        }
      }
      idx[t * 16 + lane] = (unsigned char)v;
    }
  }
  for (int q = 0; q < groups; q++) {
    for (int t = 0; t < taps; t++)
      for (int lane = 0; lane < 16; lane++) {
        const int c = q * gc + lane / l;
        wq[(q * taps + t) * 16 + lane] = c < g->c ? w[c * taps + t] : 0;
      }
    for (int lane = 0; lane < 16; lane++) {
      const int c = q * gc + lane / l;
      bq[q * 16 + lane] = bias && c < g->c ? bias[c] : 0;
    }
  }
  /*
   * For the relaxed dot product: output vector v (lanes 4v..4v+3), tap quad u (taps 4u..4u+3): byte 4i + b
   * gathers tap 4u + b of output lane 4v + i, and its weight; taps past the last are zero.
   */
  for (int v = 0; v < 4; v++)
    for (int u = 0; u < quads; u++)
      for (int i = 0; i < 4; i++)
        for (int b = 0; b < 4; b++) {
          const int t = 4 * u + b, lane = 4 * v + i;
          idx4[(v * quads + u) * 16 + 4 * i + b] = t < taps ? idx[t * 16 + lane] : 0x80;
        }
  for (int q = 0; q < groups; q++)
    for (int v = 0; v < 4; v++)
      for (int u = 0; u < quads; u++)
        for (int i = 0; i < 4; i++)
          for (int b = 0; b < 4; b++) {
            const int t = 4 * u + b, c = q * gc + (4 * v + i) / l;
            w4[((q * 4 + v) * quads + u) * 16 + 4 * i + b] = t < taps && c < g->c ? w[c * taps + t] : 0;
          }
}

/*
 * Requantizes lanes 4i..4i+3 of a channel group's sums (`a`: outputs (4i) % l.. of the group's channel
 * j = 4i / l, lane groups of l ≥ 4) by that channel's (M, n, lo, hi) at rq + 4j, and stores the outputs below
 * p as int8 or int16 into channel j's row of p outputs, `row` being the group's first. Channels past the
 * group's `cn` are not there.
 */
static inline void requant_store(v128_t a, int i, int l, int cn, const int *rq, void *q, int bytes, long row,
                                 int p) {
  const int j = 4 * i / l, o0 = 4 * i % l;
  if (j >= cn || o0 >= p) return;
  const int *r = rq + 4 * j;
  row = (row + j) * p;
  const v128_t y = narrow_rule(r[0], r[1]) ? requant4_32c(a, wasm_i32x4_splat(r[0]),
                                                          wasm_i32x4_splat((int)(1u << (r[1] - 1))),
                                                          wasm_i32x4_splat(1 << (32 - r[1])))
                                           : requant4_any(a, r[0], r[1]);
  const v128_t s16 = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(y, y), wasm_i16x8_splat(r[2])),
                                    wasm_i16x8_splat(r[3]));
  const int count = p - o0 < 4 ? p - o0 : 4;
  if (bytes == 1) {
    signed char *dst = (signed char *)q + row + o0;
    const v128_t s8 = wasm_i8x16_narrow_i16x8(s16, s16);
    if (count == 4) {
      wasm_v128_store32_lane(dst, s8, 0);
    } else {
      dst[0] = (signed char)wasm_i16x8_extract_lane(s16, 0);
      if (count > 1) dst[1] = (signed char)wasm_i16x8_extract_lane(s16, 1);
      if (count > 2) dst[2] = (signed char)wasm_i16x8_extract_lane(s16, 2);
    }
  } else {
    short *dst = (short *)q + row + o0;
    if (count == 4) {
      wasm_v128_store64_lane(dst, s16, 0);
    } else {
      dst[0] = (short)wasm_i16x8_extract_lane(s16, 0);
      if (count > 1) dst[1] = (short)wasm_i16x8_extract_lane(s16, 1);
      if (count > 2) dst[2] = (short)wasm_i16x8_extract_lane(s16, 2);
    }
  }
}

/* The layout int_depthwise_small_prepare wrote, as read by the forward kernel. */
typedef struct {
  const unsigned char *idx, *idx4;
  const int *used, *bq;
  const short *wq;
  const signed char *w4;
  int taps, quads;
} small_tables;

/* The tables in `scratch` for the geometry. */
static inline __attribute__((always_inline)) small_tables tables_of(const conv_geo *g, const char *scratch) {
  const int taps = g->kh * g->kw, l = lane_width(g), gc = 16 / l, groups = (g->c + gc - 1) / gc;
  small_tables t;
  t.taps = taps;
  t.quads = (taps + 3) / 4;
  t.idx = (const unsigned char *)scratch;
  t.used = (const int *)(t.idx + taps * 16);
  t.wq = (const short *)(t.used + taps);
  t.bq = (const int *)(t.wq + groups * taps * 16);
  t.idx4 = (const unsigned char *)(t.bq + groups * 16);
  t.w4 = (const signed char *)(t.idx4 + t.quads * 64);
  return t;
}

/*
 * The sums of channel group qg of one image whose plane bytes are `plane`, into a0..a3 (lanes 0..3, 4..7, ...).
 * With nv = 1 (one channel per vector whose outputs all lie in lanes 0..3) only a0 is formed and the others
 * are zero.
 */
static inline __attribute__((always_inline)) void group_sums(const small_tables *t, v128_t plane, int qg, int nv,
                                                             v128_t *a0, v128_t *a1, v128_t *a2, v128_t *a3) {
  const int taps = t->taps, quads = t->quads;
  const int *bq = t->bq + qg * 16;
  const v128_t zero = wasm_i32x4_splat(0);
  v128_t s0 = wasm_v128_load(bq), s1 = nv > 1 ? wasm_v128_load(bq + 4) : zero;
  v128_t s2 = nv > 1 ? wasm_v128_load(bq + 8) : zero, s3 = nv > 1 ? wasm_v128_load(bq + 12) : zero;
  if (wasm_i8x16_bitmask(plane) == 0) {
    /* every input in [0, 127] (after a ReLU): four taps per relaxed dot product, exact */
    const signed char *wv = t->w4 + qg * 4 * quads * 16;
    const unsigned char *ix = t->idx4;
#define QUAD(s, v) \
  s = DOT_I8_I7_ADD(wasm_v128_load(wv + ((v) * quads + u) * 16), \
                    wasm_i8x16_swizzle(plane, wasm_v128_load(ix + ((v) * quads + u) * 16)), s)
    for (int u = 0; u < quads; u++) {
      QUAD(s0, 0);
      if (nv == 1) continue;
      QUAD(s1, 1);
      QUAD(s2, 2);
      QUAD(s3, 3);
    }
#undef QUAD
  } else {
    const short *wt = t->wq + qg * taps * 16;
    for (int k = 0; k < taps; k++) {
      if (!t->used[k]) continue;
      const v128_t v = wasm_i8x16_swizzle(plane, wasm_v128_load(t->idx + k * 16));
      const v128_t lo = wasm_i16x8_extend_low_i8x16(v), w0 = wasm_v128_load(wt + k * 16);
      s0 = wasm_i32x4_add(s0, wasm_i32x4_extmul_low_i16x8(lo, w0));
      if (nv == 1) continue;
      const v128_t hi = wasm_i16x8_extend_high_i8x16(v), w1 = wasm_v128_load(wt + k * 16 + 8);
      s1 = wasm_i32x4_add(s1, wasm_i32x4_extmul_high_i16x8(lo, w0));
      s2 = wasm_i32x4_add(s2, wasm_i32x4_extmul_low_i16x8(hi, w1));
      s3 = wasm_i32x4_add(s3, wasm_i32x4_extmul_high_i16x8(hi, w1));
    }
  }
  *a0 = s0;
  *a1 = s1;
  *a2 = s2;
  *a3 = s3;
}

/*
 * One channel's 16 outputs (lane groups of 16, sums a0..a3) requantized by its (M, n, lo, hi) at `r`, with
 * the rule's vectors formed once, and stored as 16 int8 at `dst`.
 */
static inline __attribute__((always_inline)) void store_channel16_i8(v128_t a0, v128_t a1, v128_t a2, v128_t a3,
                                                                    const int *r, signed char *dst) {
  const int m = r[0], sh = r[1];
  v128_t y0, y1, y2, y3;
  if (narrow_rule(m, sh)) {
    const v128_t mv = wasm_i32x4_splat(m), half = wasm_i32x4_splat((int)(1u << (sh - 1)));
    const v128_t pk = wasm_i32x4_splat(1 << (32 - sh));
    y0 = requant4_32c(a0, mv, half, pk);
    y1 = requant4_32c(a1, mv, half, pk);
    y2 = requant4_32c(a2, mv, half, pk);
    y3 = requant4_32c(a3, mv, half, pk);
  } else {
    y0 = requant4_any(a0, m, sh);
    y1 = requant4_any(a1, m, sh);
    y2 = requant4_any(a2, m, sh);
    y3 = requant4_any(a3, m, sh);
  }
  const v128_t lov = wasm_i16x8_splat(r[2]), hiv = wasm_i16x8_splat(r[3]);
  const v128_t u = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(y0, y1), lov), hiv);
  const v128_t w = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(y2, y3), lov), hiv);
  wasm_v128_store(dst, wasm_i8x16_narrow_i16x8(u, w));
}

enum { RQ_ANY, RQ_32C, RQ_ONE };

/* Four sums requantized by the channel's `mode` (vectors mv = M, half = 2^(n-1), pk = 2^(32-n)). */
static inline __attribute__((always_inline)) v128_t rq_mode(v128_t a, int mode, v128_t mv, v128_t half, v128_t pk,
                                                            int m, int sh) {
  if (mode == RQ_ONE)
    return wasm_i32x4_shr(wasm_i32x4_mul(wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_mul(a, mv), half), 16), pk), 16);
  if (mode == RQ_32C) return requant4_32c(a, mv, half, pk);
  return requant4_any(a, m, sh);
}

/*
 * Channel qg (one channel per vector, int8 outputs, 16 or 4 outputs) of every image, requantized by `mode`
 * with the channel's vectors formed once for the batch: RQ_ONE (every acc · M + 2^(n-1) within int32, and
 * 16 ≤ n ≤ 31) is one product and constant shifts, floor(floor(t / 2^16) · 2^(32-n) / 2^16), exact.
 */
static inline __attribute__((always_inline)) void channel_i8(const char *scratch, const conv_geo *g,
                                                             const signed char *x, int qg, const int *r,
                                                             signed char *q, int nv, int mode) {
  const small_tables t = tables_of(g, scratch);
  const int hw = g->h * g->w, p = g->ho * g->wo, m = r[0], sh = r[1];
  const v128_t mv = wasm_i32x4_splat(m), half = wasm_i32x4_splat(mode != RQ_ANY ? (int)(1u << (sh - 1)) : 0);
  const v128_t pk = wasm_i32x4_splat(mode != RQ_ANY ? 1 << (32 - sh) : 0);
  const v128_t lov = wasm_i16x8_splat(r[2]), hiv = wasm_i16x8_splat(r[3]);
  for (int n = 0; n < g->n; n++) {
    const long row = (long)n * g->c + qg;
    const v128_t plane = wasm_v128_load(x + row * hw);
    v128_t a0, a1, a2, a3;
    group_sums(&t, plane, qg, nv, &a0, &a1, &a2, &a3);
    if (nv == 4) {
      const v128_t u = wasm_i16x8_narrow_i32x4(rq_mode(a0, mode, mv, half, pk, m, sh), rq_mode(a1, mode, mv, half, pk, m, sh));
      const v128_t v = wasm_i16x8_narrow_i32x4(rq_mode(a2, mode, mv, half, pk, m, sh), rq_mode(a3, mode, mv, half, pk, m, sh));
      wasm_v128_store(q + row * p, wasm_i8x16_narrow_i16x8(wasm_i16x8_min(wasm_i16x8_max(u, lov), hiv),
                                                           wasm_i16x8_min(wasm_i16x8_max(v, lov), hiv)));
    } else {
      const v128_t y = rq_mode(a0, mode, mv, half, pk, m, sh);
      const v128_t u = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(y, y), lov), hiv);
      wasm_v128_store32_lane(q + row * p, wasm_i8x16_narrow_i16x8(u, u), 0);
    }
  }
}

/* channel_i8 for each output count and mode, one function each. */
#define CHANNEL_VARIANT(NAME, NV, MODE)                                                                           \
  static __attribute__((noinline)) void NAME(const char *scratch, const conv_geo *g, const signed char *x,      \
                                             int qg, const int *r, signed char *q) {                             \
    channel_i8(scratch, g, x, qg, r, q, NV, MODE);                                                               \
  }
CHANNEL_VARIANT(channel16_any, 4, RQ_ANY)
CHANNEL_VARIANT(channel16_32c, 4, RQ_32C)
CHANNEL_VARIANT(channel16_one, 4, RQ_ONE)
CHANNEL_VARIANT(channel4_any, 1, RQ_ANY)
CHANNEL_VARIANT(channel4_32c, 1, RQ_32C)
CHANNEL_VARIANT(channel4_one, 1, RQ_ONE)
#undef CHANNEL_VARIANT

/*
 * y[n, c] = bias[c] + the depthwise correlation of input channel c, for the channel groups [q0, q1) (of
 * G channels each) of every image; `scratch` was filled by int_depthwise_small_prepare. The last group's
 * vector load may read past the input's last plane (the runtime leaves spare bytes after every array):
 * those lanes are never stored. `tmp` is the running thread's 16 ints of scratch. With `rq` (M, n, lo, hi
 * per channel; only for lane groups of at least four, so that each four lanes hold one channel), the sums
 * are requantized in the kernel and the int8/int16 outputs (`q_bytes`) written at `q` instead of y.
 */
void EXPORT(int_depthwise_small_forward)(const conv_geo *g, const signed char *x, int *y, int q0, int q1,
                                         const char *scratch, const int *rq, void *q, int q_bytes, int *tmp) {
  const int taps = g->kh * g->kw, l = lane_width(g), gc = 16 / l, hw = g->h * g->w, p = g->ho * g->wo;
  const small_tables t = tables_of(g, scratch);
  /* one channel per vector with at most four outputs: only lanes 0..3 are summed */
  const int one = l == 16 && p <= 4;
  if (rq && l == 16 && q_bytes == 1 && (p == 16 || p == 4)) {
    /* one channel per vector: channels outermost, each with its requantization chosen once */
    for (int qg = q0; qg < q1; qg++) {
      const int *r = rq + 4 * qg, m = r[0], sh = r[1];
      /* |acc| ≤ |bias| + 128 · Σ|w| */
      const int bias0 = t.bq[qg * 16];
      long long bound = bias0 < 0 ? -(long long)bias0 : bias0;
      for (int k = 0; k < taps; k++) {
        const int wk = t.wq[(qg * taps + k) * 16];
        bound += 128 * (wk < 0 ? -wk : wk);
      }
      const int mode = sh >= 16 && sh <= 31 && m >= 0 && bound * m + (1LL << (sh - 1)) < 2147483648LL ? RQ_ONE
                       : narrow_rule(m, sh)                                                             ? RQ_32C
                                                                                                        : RQ_ANY;
      signed char *qo = (signed char *)q;
      if (p == 16) {
        if (mode == RQ_ONE) channel16_one(scratch, g, x, qg, r, qo);
        else if (mode == RQ_32C) channel16_32c(scratch, g, x, qg, r, qo);
        else channel16_any(scratch, g, x, qg, r, qo);
      } else {
        if (mode == RQ_ONE) channel4_one(scratch, g, x, qg, r, qo);
        else if (mode == RQ_32C) channel4_32c(scratch, g, x, qg, r, qo);
        else channel4_any(scratch, g, x, qg, r, qo);
      }
    }
    return;
  }
  for (int n = 0; n < g->n; n++) {
    for (int qg = q0; qg < q1; qg++) {
      const int c0 = qg * gc, cn = g->c - c0 < gc ? g->c - c0 : gc;
      const v128_t plane = wasm_v128_load(x + ((long)n * g->c + c0) * hw);
      v128_t a0, a1, a2, a3;
      if (one) {
        group_sums(&t, plane, qg, 1, &a0, &a1, &a2, &a3);
      } else {
        group_sums(&t, plane, qg, 4, &a0, &a1, &a2, &a3);
      }
      if (rq) {
        /* lanes 4i..4i+3 are outputs (4i) % l.. of channel c0 + 4i / l */
        const long row = (long)n * g->c + c0;
        const int *rc = rq + 4 * c0;
        if (l == 16 && p == 16 && q_bytes == 1) {
          store_channel16_i8(a0, a1, a2, a3, rc, (signed char *)q + row * 16);
          continue;
        }
        requant_store(a0, 0, l, cn, rc, q, q_bytes, row, p);
        if (one) continue;
        requant_store(a1, 1, l, cn, rc, q, q_bytes, row, p);
        requant_store(a2, 2, l, cn, rc, q, q_bytes, row, p);
        requant_store(a3, 3, l, cn, rc, q, q_bytes, row, p);
        continue;
      }
      int *out = y + ((long)n * g->c + c0) * p;
      if (p == l && cn == gc) {
        /* the group's outputs are 16 consecutive values */
        wasm_v128_store(out, a0);
        wasm_v128_store(out + 4, a1);
        wasm_v128_store(out + 8, a2);
        wasm_v128_store(out + 12, a3);
      } else {
        wasm_v128_store(tmp, a0);
        wasm_v128_store(tmp + 4, a1);
        wasm_v128_store(tmp + 8, a2);
        wasm_v128_store(tmp + 12, a3);
        for (int j = 0; j < cn; j++)
          for (int o = 0; o < p; o++) out[j * p + o] = tmp[j * l + o];
      }
    }
  }
}

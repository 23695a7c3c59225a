/*
 * Exact requantized depthwise 3×3 convolution (padding 1, stride 1 or 2, dilation 1, int8 input in NCHW,
 * one input and one output channel per group), row by row on each channel's zero-padded plane, with the
 * requantization in the epilogue: the int8/int16 outputs are written in NCHW. Where a plane's inputs are all
 * in [0, 127] (after a ReLU), one i8x16.swizzle lays out the three taps of a kernel row for four outputs
 * (a fourth tap with weight 0) and i32x4.relaxed_dot_i8x16_i7x16_add_s sums them — exact for such inputs.
 * Other planes take int16 products (extending multiplies, exact as well). Planes at most 14 wide are read as
 * they are, each padded row one register (two for planes 16 wide with int8 outputs), rather than copied into
 * the padded plane first.
 */
#include "common.h"
#include "requant.h"

/* Bytes of scratch one thread needs: the padded plane, 16 spare bytes past each row's end and the last row. */
int EXPORT(int_depthwise_rows_scratch_bytes)(const conv_geo *g) { return (g->h + 2) * (g->w + 2 + 16) + 64; }

/* Whether int_depthwise_rows_forward takes the geometry. */
int EXPORT(int_depthwise_rows_fits)(const conv_geo *g) {
  return g->kh == 3 && g->kw == 3 && g->ph == 1 && g->pw == 1 && g->dh == 1 && g->dw == 1 && g->sh == g->sw &&
         (g->sh == 1 || g->sh == 2) && g->groups == g->c && g->co == g->c;
}

/* Four packed weight bytes (w0, w1, w2, 0) of one kernel row, as one int32. */
static inline int row_quad(const signed char *w) {
  return (int)(((unsigned)w[0] & 0xffu) | (((unsigned)w[1] & 0xffu) << 8) | (((unsigned)w[2] & 0xffu) << 16));
}

/* Stores the first `count` outputs of `q` (requantized int32 lanes) at out[o ..], clamped to [lo, hi]. */
static inline void store_out(v128_t q, int lo, int hi, void *out, int bytes, long o, int count) {
  store_first(q, wasm_i16x8_splat(lo), wasm_i16x8_splat(hi), out, bytes, o, count);
}

/* b + four outputs' sums over the three kernel rows from p (columns col..: one swizzle, one relaxed dot per row). */
static inline __attribute__((always_inline)) v128_t rows3(const signed char *p, int pitch, int col, v128_t idx,
                                                          v128_t w0, v128_t w1, v128_t w2, v128_t b) {
  v128_t a = DOT_I8_I7_ADD(w0, wasm_i8x16_swizzle(wasm_v128_load(p + col), idx), b);
  a = DOT_I8_I7_ADD(w1, wasm_i8x16_swizzle(wasm_v128_load(p + pitch + col), idx), a);
  return DOT_I8_I7_ADD(w2, wasm_i8x16_swizzle(wasm_v128_load(p + 2 * pitch + col), idx), a);
}

/*
 * The requantization a channel takes. RQ_ONE where every acc · M + 2^(n-1) of the channel lies in int32 and
 * 16 ≤ n ≤ 31: t = acc · M + 2^(n-1), then floor(t / 2^n) = floor(floor(t / 2^16) / 2^(n-16)), the outer
 * floor as (u · 2^(32-n)) >> 16 (|u · 2^(32-n)| ≤ 2^31: exact) — constant shift counts only, since a shift
 * by a variable count costs several instructions in V8 every time. RQ_32 where requant4_32 applies (as
 * requant4_32c), RQ_ANY otherwise.
 */
enum { RQ_ANY, RQ_32, RQ_ONE };

/* requant4_any, called rather than inlined: the multipliers that take it are rare, its code is long. */
static __attribute__((noinline)) v128_t requant4_any_call(v128_t acc, int m, int n) { return requant4_any(acc, m, n); }

/* Requantizes four sums by (M, n) by the channel's `mode`, its vectors formed once per plane. */
#define RQ(a)                                                                                                \
  (mode == RQ_ONE                                                                                            \
       ? wasm_i32x4_shr(wasm_i32x4_mul(wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_mul((a), mv), half), 16), pw), \
                        16)                                                                                  \
   : mode == RQ_32 ? requant4_32c((a), mv, half, pw)                                                        \
                   : requant4_any_call((a), m, sh))

/* Stores row r0's and row r1's eight int8 outputs (sums a0, a1 and e0, e1), clamped to [lov, hiv]. */
#define STORE_ROWS8(a0, a1, e0, e1, r0, r1)                                                                  \
  do {                                                                                                     \
    const v128_t u = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(RQ(a0), RQ(a1)), lov), hiv);   \
    const v128_t v = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(RQ(e0), RQ(e1)), lov), hiv);   \
    const v128_t y8 = wasm_i8x16_narrow_i16x8(u, v);                                                       \
    wasm_v128_store64_lane((signed char *)out + (r0), y8, 0);                                              \
    wasm_v128_store64_lane((signed char *)out + (r1), y8, 1);                                              \
  } while (0)

/*
 * One channel's plane of inputs in [0, 127] (laid out in `pad`), outputs from obase on: the three taps of a
 * kernel row for four outputs by one swizzle and one relaxed dot product. The stride `s` and the
 * requantization `mode` are constants where inlined: with stride 1 two rows share their loads, and the
 * requantization's vectors are formed once per plane. With int8 outputs, two rows of eight (or four)
 * outputs are narrowed, clamped and stored as one vector.
 */
static inline __attribute__((always_inline)) void relu_plane(const conv_geo *g, const signed char *pad, int pitch,
                                                             v128_t idx, const signed char *wc, v128_t b, int m,
                                                             int sh, int lo, int hi, void *out, int bytes,
                                                             long obase, int s, int mode) {
  const int ho = g->ho, wo = g->wo;
  const v128_t mv = wasm_i32x4_splat(m), half = wasm_i32x4_splat(mode != RQ_ANY ? (int)(1u << (sh - 1)) : 0);
  const v128_t pw = wasm_i32x4_splat(mode != RQ_ANY ? 1 << (32 - sh) : 0); /* 2^(32-n) */
  const v128_t lov = wasm_i16x8_splat(lo), hiv = wasm_i16x8_splat(hi);
  const v128_t w0 = wasm_i32x4_splat(row_quad(wc)), w1 = wasm_i32x4_splat(row_quad(wc + 3));
  const v128_t w2 = wasm_i32x4_splat(row_quad(wc + 6));
  int oy = 0;
  /* two output rows at a time (with stride 1 their kernels share two input rows) */
  for (; oy + 2 <= ho; oy += 2) {
    const signed char *p = pad + oy * s * pitch, *q = p + s * pitch;
    int ox = 0;
    if (bytes == 1) {
      for (; ox + 8 <= wo; ox += 8) {
        const int col = ox * s;
        const v128_t a0 = rows3(p, pitch, col, idx, w0, w1, w2, b), a1 = rows3(p, pitch, col + 4 * s, idx, w0, w1, w2, b);
        const v128_t e0 = rows3(q, pitch, col, idx, w0, w1, w2, b), e1 = rows3(q, pitch, col + 4 * s, idx, w0, w1, w2, b);
        STORE_ROWS8(a0, a1, e0, e1, obase + oy * wo + ox, obase + (oy + 1) * wo + ox);
      }
      for (; ox + 4 <= wo; ox += 4) {
        const v128_t a = rows3(p, pitch, ox * s, idx, w0, w1, w2, b), e = rows3(q, pitch, ox * s, idx, w0, w1, w2, b);
        const v128_t u = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(RQ(a), RQ(e)), lov), hiv);
        const v128_t y8 = wasm_i8x16_narrow_i16x8(u, u);
        wasm_v128_store32_lane((signed char *)out + obase + oy * wo + ox, y8, 0);
        wasm_v128_store32_lane((signed char *)out + obase + (oy + 1) * wo + ox, y8, 1);
      }
    }
    for (; ox < wo; ox += 4) {
      const v128_t a = rows3(p, pitch, ox * s, idx, w0, w1, w2, b), e = rows3(q, pitch, ox * s, idx, w0, w1, w2, b);
      const int count = wo - ox < 4 ? wo - ox : 4;
      store_out(RQ(a), lo, hi, out, bytes, obase + oy * wo + ox, count);
      store_out(RQ(e), lo, hi, out, bytes, obase + (oy + 1) * wo + ox, count);
    }
  }
  for (; oy < ho; oy++) {
    const signed char *p0 = pad + oy * s * pitch, *p1 = p0 + pitch, *p2 = p1 + pitch;
    for (int ox = 0; ox < wo; ox += 4) {
      const int col = ox * s;
      v128_t a = DOT_I8_I7_ADD(w0, wasm_i8x16_swizzle(wasm_v128_load(p0 + col), idx), b);
      a = DOT_I8_I7_ADD(w1, wasm_i8x16_swizzle(wasm_v128_load(p1 + col), idx), a);
      a = DOT_I8_I7_ADD(w2, wasm_i8x16_swizzle(wasm_v128_load(p2 + col), idx), a);
      store_out(RQ(a), lo, hi, out, bytes, obase + oy * wo + ox, wo - ox < 4 ? wo - ox : 4);
    }
  }
}


/* Padded row iy (-1 ≤ iy ≤ h) of a plane of width ≤ 14 at src, in a register: byte j + 1 is input column j. */
static inline v128_t reg_row(const signed char *src, int iy, int h, int wd, v128_t mask) {
  if (iy < 0 || iy >= h) return wasm_i32x4_splat(0);
  const v128_t v = wasm_v128_load(src + iy * wd);
  return wasm_v128_and(wasm_i8x16_shuffle(v, v, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14), mask);
}

/* Padded row iy of a plane 16 wide from byte 8 on (columns 7..15), zero past the row. */
static inline v128_t reg_row_b(const signed char *src, int iy, int h, int wd, v128_t maskb) {
  if (iy < 0 || iy >= h) return wasm_i32x4_splat(0);
  return wasm_v128_and(wasm_v128_load(src + iy * wd + 7), maskb);
}

/* b + four outputs' sums over the kernel rows r0, r1, r2 (registers), their taps at the bytes `ix` picks. */
static inline v128_t reg3(v128_t r0, v128_t r1, v128_t r2, v128_t ix, v128_t w0, v128_t w1, v128_t w2, v128_t b) {
  const v128_t a = DOT_I8_I7_ADD(w0, wasm_i8x16_swizzle(r0, ix), b);
  return DOT_I8_I7_ADD(w2, wasm_i8x16_swizzle(r2, ix), DOT_I8_I7_ADD(w1, wasm_i8x16_swizzle(r1, ix), a));
}

/*
 * relu_plane for planes at most 14 wide, read from `src` as they are: each padded row is one register (a
 * load, a byte shift and a mask), and the swizzles pick the taps of every output group from it. Without the
 * copy into a padded plane, no load waits on the stores that just wrote it (store-to-load forwarding fails
 * for loads that span several stores).
 */
static inline __attribute__((always_inline)) void relu_plane_reg(const conv_geo *g, const signed char *src,
                                                                 v128_t mask, v128_t idx, const signed char *wc,
                                                                 v128_t b, int m, int sh, int lo, int hi, void *out,
                                                                 int bytes, long obase, int s, int mode) {
  const int h = g->h, wd = g->w, ho = g->ho, wo = g->wo;
  const v128_t mv = wasm_i32x4_splat(m), half = wasm_i32x4_splat(mode != RQ_ANY ? (int)(1u << (sh - 1)) : 0);
  const v128_t pw = wasm_i32x4_splat(mode != RQ_ANY ? 1 << (32 - sh) : 0); /* 2^(32-n) */
  const v128_t lov = wasm_i16x8_splat(lo), hiv = wasm_i16x8_splat(hi);
  const v128_t w0 = wasm_i32x4_splat(row_quad(wc)), w1 = wasm_i32x4_splat(row_quad(wc + 3));
  const v128_t w2 = wasm_i32x4_splat(row_quad(wc + 6));
  const v128_t step = wasm_i8x16_splat(4 * s);
  int oy = 0;
  /* two output rows at a time */
  for (; oy + 2 <= ho; oy += 2) {
    const int y0 = oy * s - 1;
    const v128_t r0 = reg_row(src, y0, h, wd, mask), r1 = reg_row(src, y0 + 1, h, wd, mask);
    const v128_t r2 = reg_row(src, y0 + 2, h, wd, mask), r3 = reg_row(src, y0 + 3, h, wd, mask);
    const v128_t q0 = s == 1 ? r1 : r2, q1 = s == 1 ? r2 : r3;
    const v128_t q2 = s == 1 ? r3 : reg_row(src, y0 + 4, h, wd, mask);
    v128_t ix = idx;
    int ox = 0;
    if (bytes == 1) {
      for (; ox + 8 <= wo; ox += 8) {
        const v128_t iy = wasm_i8x16_add(ix, step);
        const v128_t a0 = reg3(r0, r1, r2, ix, w0, w1, w2, b), a1 = reg3(r0, r1, r2, iy, w0, w1, w2, b);
        const v128_t e0 = reg3(q0, q1, q2, ix, w0, w1, w2, b), e1 = reg3(q0, q1, q2, iy, w0, w1, w2, b);
        STORE_ROWS8(a0, a1, e0, e1, obase + oy * wo + ox, obase + (oy + 1) * wo + ox);
        ix = wasm_i8x16_add(iy, step);
      }
      for (; ox + 4 <= wo; ox += 4) {
        const v128_t a = reg3(r0, r1, r2, ix, w0, w1, w2, b), e = reg3(q0, q1, q2, ix, w0, w1, w2, b);
        const v128_t u = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(RQ(a), RQ(e)), lov), hiv);
        const v128_t y8 = wasm_i8x16_narrow_i16x8(u, u);
        wasm_v128_store32_lane((signed char *)out + obase + oy * wo + ox, y8, 0);
        wasm_v128_store32_lane((signed char *)out + obase + (oy + 1) * wo + ox, y8, 1);
        ix = wasm_i8x16_add(ix, step);
      }
    }
    for (; ox < wo; ox += 4) {
      const v128_t a = reg3(r0, r1, r2, ix, w0, w1, w2, b), e = reg3(q0, q1, q2, ix, w0, w1, w2, b);
      const int count = wo - ox < 4 ? wo - ox : 4;
      store_out(RQ(a), lo, hi, out, bytes, obase + oy * wo + ox, count);
      store_out(RQ(e), lo, hi, out, bytes, obase + (oy + 1) * wo + ox, count);
      ix = wasm_i8x16_add(ix, step);
    }
  }
  for (; oy < ho; oy++) {
    const int y0 = oy * s - 1;
    const v128_t r0 = reg_row(src, y0, h, wd, mask), r1 = reg_row(src, y0 + 1, h, wd, mask);
    const v128_t r2 = reg_row(src, y0 + 2, h, wd, mask);
    v128_t ix = idx;
    for (int ox = 0; ox < wo; ox += 4) {
      store_out(RQ(reg3(r0, r1, r2, ix, w0, w1, w2, b)), lo, hi, out, bytes, obase + oy * wo + ox,
                wo - ox < 4 ? wo - ox : 4);
      ix = wasm_i8x16_add(ix, step);
    }
  }
}

/*
 * relu_plane_reg for planes 16 wide, an even number of output rows and int8 outputs: a padded row takes two
 * registers (its bytes 0..15, and 8..23 from a load at column 7), and each output group reads the one that
 * holds its taps — known per group, since a row's groups are spelled out.
 */
static inline __attribute__((always_inline)) void relu_plane_16(const conv_geo *g, const signed char *src,
                                                                v128_t mask, v128_t maskb, v128_t idx,
                                                                const signed char *wc, v128_t b, int m, int sh,
                                                                int lo, int hi, void *out, long obase, int s,
                                                                int mode) {
  const int h = g->h, wd = 16, ho = g->ho, wo = g->wo;
  const v128_t mv = wasm_i32x4_splat(m), half = wasm_i32x4_splat(mode != RQ_ANY ? (int)(1u << (sh - 1)) : 0);
  const v128_t pw = wasm_i32x4_splat(mode != RQ_ANY ? 1 << (32 - sh) : 0); /* 2^(32-n) */
  const v128_t lov = wasm_i16x8_splat(lo), hiv = wasm_i16x8_splat(hi);
  const v128_t w0 = wasm_i32x4_splat(row_quad(wc)), w1 = wasm_i32x4_splat(row_quad(wc + 3));
  const v128_t w2 = wasm_i32x4_splat(row_quad(wc + 6));
  /* swizzle indices of the groups at padded columns 4 · s · k (k < 4 / s in register a, the rest in b) */
  const v128_t i4 = wasm_i8x16_add(idx, wasm_i8x16_splat(4));
  for (int oy = 0; oy < ho; oy += 2) {
    const int y0 = oy * s - 1;
    const v128_t r0 = reg_row(src, y0, h, wd, mask), r1 = reg_row(src, y0 + 1, h, wd, mask);
    const v128_t r2 = reg_row(src, y0 + 2, h, wd, mask), r3 = reg_row(src, y0 + 3, h, wd, mask);
    const v128_t t0 = reg_row_b(src, y0, h, wd, maskb), t1 = reg_row_b(src, y0 + 1, h, wd, maskb);
    const v128_t t2 = reg_row_b(src, y0 + 2, h, wd, maskb), t3 = reg_row_b(src, y0 + 3, h, wd, maskb);
    const long o0 = obase + oy * wo, o1 = o0 + wo;
    if (s == 1) {
      /* groups at columns 0, 4, 8 from a, 12 from b (at byte 4 of b) */
      const v128_t i8 = wasm_i8x16_add(idx, wasm_i8x16_splat(8));
      STORE_ROWS8(reg3(r0, r1, r2, idx, w0, w1, w2, b), reg3(r0, r1, r2, i4, w0, w1, w2, b),
                  reg3(r1, r2, r3, idx, w0, w1, w2, b), reg3(r1, r2, r3, i4, w0, w1, w2, b), o0, o1);
      STORE_ROWS8(reg3(r0, r1, r2, i8, w0, w1, w2, b), reg3(t0, t1, t2, i4, w0, w1, w2, b),
                  reg3(r1, r2, r3, i8, w0, w1, w2, b), reg3(t1, t2, t3, i4, w0, w1, w2, b), o0 + 8, o1 + 8);
    } else {
      /* groups at columns 0 from a, 8 from b (at byte 0 of b) */
      const v128_t r4 = reg_row(src, y0 + 4, h, wd, mask), t4 = reg_row_b(src, y0 + 4, h, wd, maskb);
      STORE_ROWS8(reg3(r0, r1, r2, idx, w0, w1, w2, b), reg3(t0, t1, t2, idx, w0, w1, w2, b),
                  reg3(r2, r3, r4, idx, w0, w1, w2, b), reg3(t2, t3, t4, idx, w0, w1, w2, b), o0, o1);
    }
  }
}

#undef RQ
#undef STORE_ROWS8

/* Whether every input of the plane (h rows of wd ≤ 14 at src; `in` keeps bytes 0..wd-1) is in [0, 127]. */
static inline int plane_nonneg(const signed char *src, int h, int wd, v128_t in) {
  v128_t sign = wasm_i32x4_splat(0);
  for (int iy = 0; iy < h; iy++) sign = wasm_v128_or(sign, wasm_v128_and(wasm_v128_load(src + iy * wd), in));
  return wasm_i8x16_bitmask(sign) == 0;
}

/* Copies one plane (h × w int8 at src) into the padded plane; returns whether every input is in [0, 127]. */
static int copy_plane(const signed char *src, int h, int wd, signed char *pad, int pitch) {
  v128_t sign = wasm_i32x4_splat(0);
  for (int iy = 0; iy < h; iy++) {
    signed char *d = pad + (iy + 1) * pitch + 1;
    int ix = 0;
    for (; ix + 16 <= wd; ix += 16) {
      const v128_t v = wasm_v128_load(src + iy * wd + ix);
      sign = wasm_v128_or(sign, v);
      wasm_v128_store(d + ix, v);
    }
    for (; ix + 8 <= wd; ix += 8) {
      const v128_t v = wasm_v128_load64_zero(src + iy * wd + ix);
      sign = wasm_v128_or(sign, v);
      wasm_v128_store64_lane(d + ix, v, 0);
    }
    for (; ix + 4 <= wd; ix += 4) {
      const v128_t v = wasm_v128_load32_zero(src + iy * wd + ix);
      sign = wasm_v128_or(sign, v);
      wasm_v128_store32_lane(d + ix, v, 0);
    }
    for (; ix < wd; ix++) {
      d[ix] = src[iy * wd + ix];
      sign = wasm_v128_or(sign, wasm_i8x16_splat(d[ix]));
    }
  }
  return wasm_i8x16_bitmask(sign) == 0;
}

/* One plane with signed inputs (laid out in `pad`): int16 products of each tap, four outputs at a time. */
static void signed_plane(const conv_geo *g, const signed char *pad, int pitch, const signed char *wc, v128_t b,
                         const int *r, void *out, int bytes, long obase) {
  const int ho = g->ho, wo = g->wo, s = g->sh;
  for (int oy = 0; oy < ho; oy++) {
    for (int ox = 0; ox < wo; ox += 4) {
      v128_t a = b;
      for (int ky = 0; ky < 3; ky++) {
        const signed char *p = pad + (oy * s + ky) * pitch + ox * s;
        for (int kx = 0; kx < 3; kx++) {
          v128_t v = wasm_v128_load(p + kx);
          if (s == 2) v = wasm_i8x16_shuffle(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
          const v128_t x16 = wasm_i16x8_extend_low_i8x16(v);
          a = wasm_i32x4_add(a, wasm_i32x4_extmul_low_i16x8(x16, wasm_i16x8_splat(wc[ky * 3 + kx])));
        }
      }
      store_out(requant4_any(a, r[0], r[1]), r[2], r[3], out, bytes, obase + oy * wo + ox, wo - ox < 4 ? wo - ox : 4);
    }
  }
}

/*
 * Channel c of images [n0, n1): each plane copied into `pad`, then relu_plane (stride `s` and `mode` constants
 * where inlined, so that the channel's weights and requantization vectors are formed once for the images)
 * or signed_plane.
 */
static inline __attribute__((always_inline)) void channel(const conv_geo *g, const signed char *x, int c, int n0, int n1,
                                                          signed char *pad, int pitch, v128_t idx,
                                                          const signed char *wc, v128_t b, const int *r, void *out,
                                                          int bytes, int s, int mode, int reg) {
  const int h = g->h, wd = g->w, plane = g->ho * g->wo;
  if (reg) {
    /* bytes 0..wd-1 of a row's load, and bytes 1..wd of its padded register */
    const v128_t lane = wasm_i8x16_make(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const v128_t in = wasm_i8x16_lt(lane, wasm_i8x16_splat(wd));
    const v128_t mask = wasm_v128_and(wasm_i8x16_gt(lane, wasm_i8x16_splat(0)), wasm_i8x16_le(lane, wasm_i8x16_splat(wd)));
    const v128_t maskb = wasm_i8x16_lt(lane, wasm_i8x16_splat(9)); /* 16 wide: columns 7..15 */
    for (int n = n0; n < n1; n++) {
      const long obase = ((long)n * g->c + c) * plane;
      const signed char *src = x + ((long)n * g->c + c) * h * wd;
      if (plane_nonneg(src, h, wd, in)) {
        if (reg == 2) {
          relu_plane_16(g, src, mask, maskb, idx, wc, b, r[0], r[1], r[2], r[3], out, obase, s, mode);
        } else {
          relu_plane_reg(g, src, mask, idx, wc, b, r[0], r[1], r[2], r[3], out, bytes, obase, s, mode);
        }
      } else {
        copy_plane(src, h, wd, pad, pitch);
        signed_plane(g, pad, pitch, wc, b, r, out, bytes, obase);
      }
    }
    return;
  }
  for (int n = n0; n < n1; n++) {
    const long obase = ((long)n * g->c + c) * plane;
    if (copy_plane(x + ((long)n * g->c + c) * h * wd, h, wd, pad, pitch)) {
      relu_plane(g, pad, pitch, idx, wc, b, r[0], r[1], r[2], r[3], out, bytes, obase, s, mode);
    } else {
      signed_plane(g, pad, pitch, wc, b, r, out, bytes, obase);
    }
  }
}

/*
 * channel() for each stride, requantization mode and plane kind (reg 1: at most 14 wide, 2: 16 wide, 0: the
 * padded plane), one function each: the engine compiles each variant's loops apart from the others'.
 */
typedef void (*channel_fn)(const conv_geo *, const signed char *, int, int, int, signed char *, int, v128_t,
                           const signed char *, v128_t, const int *, void *, int);
#define CHANNEL_VARIANT(NAME, S, MODE, REG)                                                                     \
  static __attribute__((noinline)) void NAME(const conv_geo *g, const signed char *x, int c, int n0, int n1,    \
                                             signed char *pad, int pitch, v128_t idx, const signed char *wc,    \
                                             v128_t b, const int *r, void *out, int bytes) {                    \
    channel(g, x, c, n0, n1, pad, pitch, idx, wc, b, r, out, bytes, S, MODE, REG);                             \
  }
CHANNEL_VARIANT(channel_1_any, 1, RQ_ANY, 0)
CHANNEL_VARIANT(channel_1_32, 1, RQ_32, 0)
CHANNEL_VARIANT(channel_1_one, 1, RQ_ONE, 0)
CHANNEL_VARIANT(channel_2_any, 2, RQ_ANY, 0)
CHANNEL_VARIANT(channel_2_32, 2, RQ_32, 0)
CHANNEL_VARIANT(channel_2_one, 2, RQ_ONE, 0)
CHANNEL_VARIANT(channel_1_32_reg, 1, RQ_32, 1)
CHANNEL_VARIANT(channel_1_one_reg, 1, RQ_ONE, 1)
CHANNEL_VARIANT(channel_2_32_reg, 2, RQ_32, 1)
CHANNEL_VARIANT(channel_2_one_reg, 2, RQ_ONE, 1)
CHANNEL_VARIANT(channel_1_32_16, 1, RQ_32, 2)
CHANNEL_VARIANT(channel_1_one_16, 1, RQ_ONE, 2)
CHANNEL_VARIANT(channel_2_32_16, 2, RQ_32, 2)
CHANNEL_VARIANT(channel_2_one_16, 2, RQ_ONE, 2)
#undef CHANNEL_VARIANT

/* Images per block: the channels of a part go round each block in turn (see int_depthwise_rows_forward). */
#define ROWS_IMAGES 16

/*
 * Channels [c0, c1) of every image: `x` int8 NCHW, `w` int8 [C, 1, 3, 3], `bias` int32 per channel (0 for
 * none), `rq` four ints per channel (M, n, lo, hi), outputs at `out` (`bytes` 1: int8, 2: int16).
 */
void EXPORT(int_depthwise_rows_forward)(const conv_geo *g, const signed char *x, const signed char *w, const int *bias,
                                        const int *rq, void *out, int bytes, int c0, int c1, signed char *pad) {
  const int h = g->h, wd = g->w, s = g->sh, pitch = wd + 2 + 16;
  /* every byte of the padded plane outside the image stays zero */
  for (int i = 0; i < (h + 2) * pitch + 64; i++) pad[i] = 0;
  /* byte 4i + t of a lane group: tap t of output i (stride 1: column i + t; stride 2: column 2i + t) */
  const v128_t idx = s == 1 ? wasm_i8x16_make(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6)
                            : wasm_i8x16_make(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9);
  /* the rare RQ_ANY channels take the padded plane whatever the width */
  static const channel_fn variants[18] = {
      channel_1_any, channel_1_32,     channel_1_one,     channel_2_any, channel_2_32,     channel_2_one,
      channel_1_any, channel_1_32_reg, channel_1_one_reg, channel_2_any, channel_2_32_reg, channel_2_one_reg,
      channel_1_any, channel_1_32_16,  channel_1_one_16,  channel_2_any, channel_2_32_16,  channel_2_one_16};
  /* planes up to 14 wide: one register per padded row; 16 wide (int8 out, even output rows): two */
  const int kind = wd <= 14 ? 1 : wd == 16 && h % 4 == 0 && bytes == 1 ? 2 : 0;
  /*
   * blocks of images outermost: the part's planes of one image are consecutive, so that the reads run on
   * through memory (channel by channel across the whole batch, each plane a page or more from the last, they
   * missed the caches' prefetch and waited on memory once per plane)
   */
  for (int n0 = 0; n0 < g->n; n0 += ROWS_IMAGES) {
    const int n1 = g->n - n0 < ROWS_IMAGES ? g->n : n0 + ROWS_IMAGES;
    for (int c = c0; c < c1; c++) {
      const signed char *wc = w + c * 9;
      const int *r = rq + 4 * c, m = r[0], sh = r[1];
      const v128_t b = wasm_i32x4_splat(bias ? bias[c] : 0);
      /* |acc| ≤ |bias| + 127 · Σ|w| for inputs in [0, 127] */
      long long bound = bias ? (bias[c] < 0 ? -(long long)bias[c] : bias[c]) : 0;
      for (int t = 0; t < 9; t++) bound += 127 * (wc[t] < 0 ? -wc[t] : wc[t]);
      const int one = sh >= 16 && sh <= 31 && m >= 0 && bound * m + (1LL << (sh - 1)) < 2147483648LL;
      const int mode = one ? RQ_ONE : narrow_rule(m, sh) ? RQ_32 : RQ_ANY;
      variants[6 * kind + (s == 1 ? 0 : 3) + mode](g, x, c, n0, n1, pad, pitch, idx, wc, b, r, out, bytes);
    }
  }
}

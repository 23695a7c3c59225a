/*
 * Exact requantized convolution for kernels three wide at horizontal stride 2 (dilation 1, one group) with
 * few input channels — the stem of a network, where the input is the quantized (signed) image: 3 channels,
 * K = 27. Through im2col + the integer GEMM such a layer runs on int16 pairs (its input is signed) and spends
 * much of its time laying out and packing a matrix that is short in K.
 *
 * Here the sums run on i32x4.relaxed_dot_i8x16_i7x16_add_s, exact when one operand's bytes are in [0, 127]:
 * the input is offset to u = x + 128 in [0, 255] and split as u = 2·h + l (h = u >> 1 in [0, 127], l = u & 1),
 * so that Σ w·x = 2·Σ w·h + Σ w·l - 128·Σ w with the signed weights as the other operand (the last term folds
 * into the bias; padding is x = 0, so u = 128 like any other position). The taps (c, ky, kx) of one output,
 * in the weight's order, go four to a lane: for one output row, one i8x16.shuffle of two padded input rows
 * lays out a quad of taps for four outputs (at stride 2, output i reads columns 2i .. 2i + 2), once for every
 * output channel; each output channel then takes two dot products per quad and four outputs. The int32 sums
 * of a row are requantized as requant.h does (M, n, lo, hi per channel) and stored straight into NCHW.
 */
#include "common.h"
#include "requant.h"

/* Output channels per tile: their h and l sums of four outputs are eight registers. */
#define TILE 4

/* Quads of taps (four to a quad, the last one padded with weight 0) of `rows` kernel rows of three taps. */
static inline int quads_of(int rows) { return (3 * rows + 3) / 4; }

/*
 * The weights: for output channel o and quad q, the bytes w[o][4q .. 4q + 3] of its flattened (c, ky, kx) taps
 * (0 past the last) splat over a vector; and the bias with the input offset folded in:
 * bias2[o] = bias[o] - 128·Σ w[o] (`bias` 0 for none).
 */
void EXPORT(int_conv_s2_pack)(const conv_geo *g, const signed char *w, const int *bias, v128_t *wv, int *bias2) {
  const int taps = 3 * g->c * g->kh, quads = quads_of(g->c * g->kh);
  for (int o = 0; o < g->co; o++) {
    const signed char *k = w + (long)o * taps;
    int sum = 0;
    for (int t = 0; t < taps; t++) sum += k[t];
    for (int q = 0; q < quads; q++) {
      unsigned word = 0;
      for (int i = 0; i < 4 && 4 * q + i < taps; i++) word |= ((unsigned)k[4 * q + i] & 0xffu) << (8 * i);
      wv[(long)o * quads + q] = wasm_i32x4_splat((int)word);
    }
    bias2[o] = (bias ? bias[o] : 0) - 128 * sum;
  }
}

/*
 * Sums of four outputs of one output row for channels o .. o + nc - 1 (nc ≤ TILE, a constant where it is
 * inlined, so that the sums are named registers), stored as int32 vectors at sums[k·groups] for channel o + k.
 * `qh` / `ql` point at the row's laid-out h and l quads of these outputs, `groups` vectors per quad; `w` at
 * channel o's weight vectors, `quads` per channel.
 */
static inline __attribute__((always_inline)) void tile(const v128_t *qh, const v128_t *ql, int quads, int groups,
                                                       const v128_t *w, const int *bias2, v128_t *sums,
                                                       const int nc) {
  const v128_t zero = wasm_i32x4_splat(0);
#define SUMS(C)                                                               \
  v128_t h##C = zero, l##C = nc > C ? wasm_i32x4_splat(bias2[C]) : zero;
  SUMS(0)
  SUMS(1)
  SUMS(2)
  SUMS(3)
#undef SUMS
  for (int q = 0; q < quads; q++) {
    const v128_t xh = qh[(long)q * groups], xl = ql[(long)q * groups];
#define ACC(C)                                 \
  if (nc > C) {                                \
    const v128_t u = w[(long)C * quads + q];   \
    h##C = DOT_I8_I7_ADD(u, xh, h##C);         \
    l##C = DOT_I8_I7_ADD(u, xl, l##C);         \
  }
    ACC(0)
    ACC(1)
    ACC(2)
    ACC(3)
#undef ACC
  }
#define STORE(C) \
  if (nc > C) sums[(long)C * groups] = wasm_i32x4_add(wasm_i32x4_shl(h##C, 1), l##C);
  STORE(0)
  STORE(1)
  STORE(2)
  STORE(3)
#undef STORE
}

/*
 * One output row of one channel: the `wo` sums at `sums` (four to a vector) requantized with rq = (M, n, lo, hi)
 * and stored at out[at ..], sixteen at a time and then the rest.
 */
static inline void requant_row(const v128_t *sums, const int *rq, void *out, int bytes, long at, int wo) {
  const int m = rq[0], n = rq[1];
  const v128_t lo = wasm_i16x8_splat(rq[2]), hi = wasm_i16x8_splat(rq[3]);
  int ox = 0;
  for (; ox + 16 <= wo; ox += 16, sums += 4) {
    const v128_t a = wasm_i16x8_narrow_i32x4(requant4_any(sums[0], m, n), requant4_any(sums[1], m, n));
    const v128_t b = wasm_i16x8_narrow_i32x4(requant4_any(sums[2], m, n), requant4_any(sums[3], m, n));
    const v128_t ca = wasm_i16x8_min(wasm_i16x8_max(a, lo), hi), cb = wasm_i16x8_min(wasm_i16x8_max(b, lo), hi);
    if (bytes == 1) {
      wasm_v128_store((signed char *)out + at + ox, wasm_i8x16_narrow_i16x8(ca, cb));
    } else {
      wasm_v128_store((short *)out + at + ox, ca);
      wasm_v128_store((short *)out + at + ox + 8, cb);
    }
  }
  for (; ox < wo; ox += 4, sums++) {
    store_first(requant4_any(*sums, m, n), lo, hi, out, bytes, at + ox, wo - ox < 4 ? wo - ox : 4);
  }
}

/* Quad q of four outputs from the padded rows a (taps of row 4q / 3) and b (the next row), as the tap order says. */
static inline v128_t quad(v128_t a, v128_t b, int q) {
  switch (q % 3) {
    case 0: /* taps (r, 0), (r, 1), (r, 2), (r + 1, 0) of output i: a[2i], a[2i + 1], a[2i + 2], b[2i] */
      return wasm_i8x16_shuffle(a, b, 0, 1, 2, 16, 2, 3, 4, 18, 4, 5, 6, 20, 6, 7, 8, 22);
    case 1: /* (r, 1), (r, 2), (r + 1, 0), (r + 1, 1) */
      return wasm_i8x16_shuffle(a, b, 1, 2, 16, 17, 3, 4, 18, 19, 5, 6, 20, 21, 7, 8, 22, 23);
    default: /* (r, 2), (r + 1, 0), (r + 1, 1), (r + 1, 2) */
      return wasm_i8x16_shuffle(a, b, 2, 16, 17, 18, 4, 18, 19, 20, 6, 20, 21, 22, 8, 22, 23, 24);
  }
}

/*
 * Output rows [r0, r1) of the batch (row r = image r / ho, output row r % ho): `x` int8 NCHW, `wv` and `bias2`
 * as int_conv_s2_pack lays them out, `rq` four ints per output channel (M, n, lo, hi), outputs at `out`
 * (`bytes` 1: int8, 2: int16). `scratch` (16-byte aligned) holds one image's offset planes, `hp` rows of `wp`
 * bytes per channel, hp ≥ (ho - 1)·sh + (kh - 1)·dh + 1 and wp ≥ 8·ceil(wo / 4) + 8; then, from the next
 * multiple of 16 bytes, one output row's h and l quads (2 · quads · ceil(wo / 4) vectors) and its sums
 * (Co · ceil(wo / 4) vectors).
 */
void EXPORT(int_conv_s2_forward)(const conv_geo *g, const signed char *x, const v128_t *wv, const int *bias2,
                                 const int *rq, void *out, int bytes, int hp, int wp, int r0, int r1,
                                 unsigned char *scratch) {
  const int c = g->c, h = g->h, wd = g->w, co = g->co, kh = g->kh, ho = g->ho, wo = g->wo;
  const int plane = hp * wp, groups = (wo + 3) / 4, rows = c * kh, quads = quads_of(rows);
  const int cols = wd < wp - g->pw ? wd : wp - g->pw;
  unsigned char *pad = scratch;
  v128_t *qh = (v128_t *)(scratch + ((c * plane + 15) & ~15)), *ql = qh + quads * groups, *sums = ql + quads * groups;
  const v128_t one = wasm_i8x16_splat(1);
  int image = -1;
  for (int r = r0; r < r1; r++) {
    const int n = r / ho, oy = r % ho;
    if (n != image) {
      image = n;
      /* u = x + 128 as a byte (x ^ 0x80); the padding is x = 0 */
      for (int i = 0; i < c * plane; i++) pad[i] = 0x80;
      for (int ci = 0; ci < c; ci++) {
        for (int py = 0; py < hp; py++) {
          const int iy = py - g->ph;
          if (iy < 0 || iy >= h) continue;
          const signed char *src = x + (((long)n * c + ci) * h + iy) * wd;
          unsigned char *dst = pad + ci * plane + py * wp + g->pw;
          for (int ix = 0; ix < cols; ix++) dst[ix] = (unsigned char)src[ix] ^ 0x80u;
        }
      }
    }
    /* kernel row k = (ci, ky) of this output row starts at pad + ci·plane + (oy·sh + ky·dh)·wp */
    for (int q = 0; q < quads; q++) {
      const int ka = 4 * q / 3, kb = ka + 1;
      const unsigned char *ra = pad + (ka / kh) * plane + (oy * g->sh + (ka % kh) * g->dh) * wp;
      const unsigned char *rb = kb < rows ? pad + (kb / kh) * plane + (oy * g->sh + (kb % kh) * g->dh) * wp : 0;
      for (int gx = 0; gx < groups; gx++) {
        const v128_t a = wasm_v128_load(ra + 8 * gx), b = rb ? wasm_v128_load(rb + 8 * gx) : wasm_i32x4_splat(0);
        const v128_t v = quad(a, b, q);
        qh[q * groups + gx] = wasm_u8x16_shr(v, 1);
        ql[q * groups + gx] = wasm_v128_and(v, one);
      }
    }
    for (int o = 0; o < co; o += TILE) {
      const int nc = co - o < TILE ? co - o : TILE;
      for (int gx = 0; gx < groups; gx++) {
        const v128_t *hq = qh + gx, *lq = ql + gx, *w = wv + (long)o * quads;
        v128_t *s = sums + (long)o * groups + gx;
        if (nc == TILE) {
          tile(hq, lq, quads, groups, w, bias2 + o, s, TILE);
        } else {
          for (int k = 0; k < nc; k++) tile(hq, lq, quads, groups, w + (long)k * quads, bias2 + o + k, s + (long)k * groups, 1);
        }
      }
    }
    for (int o = 0; o < co; o++) {
      requant_row(sums + (long)o * groups, rq + 4 * o, out, bytes, (((long)n * co + o) * ho + oy) * wo, wo);
    }
  }
}

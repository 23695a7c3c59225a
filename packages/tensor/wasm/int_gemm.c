/*
 * Exact integer GEMM C = bias + A · B: A is int8 (the weights), B is int8 or int16 (the activations), C
 * is int32. Three packings of the products, every one exact (the running sums are int32 additions, which
 * wrap exactly as the int32 result does):
 * - int8 activations all in [0, 127] (after a ReLU): quads of consecutive k, one relaxed dot product
 *   i32x4.relaxed_dot_i8x16_i7x16_add_s per four k — exact for such activations on any lowering;
 * - other int8 activations: the same quads split as b = (b & 127) - 128 · (b < 0), two relaxed dot
 *   products (low seven bits, sign bits, both in [0, 127]) combined as low - 128 · sign — on a machine
 *   whose relaxed dot product is one instruction, half the instructions of the int16 pairs; or, where
 *   int_dot_u8_probe() has shown that this machine's relaxed dot product multiplies b's bytes as unsigned
 *   bytes exactly (x86's VNNI lowering does; ARM's signed one and the saturating SSE one do not), offset as
 *   x + 128 in [0, 255] with one dot product per quad, the sums started at -128 · Σ a to take the offset out;
 * - int16 activations: both operands widened to int16, pairs of consecutive k interleaved, one
 *   i32x4.dot_i16x8_s per two k (every product at most 128 · 32768 in magnitude, every pair sum in int32).
 * Packing and MR × NR register blocking follow gemm.c, with the same segmented index maps (in elements of
 * each operand's type); with a requantization the last k block's sums are requantized in the tile's
 * epilogue, from the registers where the output columns come in runs of four or eight (NCHW planes of 2×2
 * and more) or a constant stride apart (1×1 planes). A residual add (SPEC's x · 2^k + y · t, requantized
 * again) or a second requantization runs on each block of requantized outputs as soon as the block is done,
 * in place while it is in the cache, instead of as a pass of its own over the whole tensor.
 */
#include "common.h"
#include "requant.h"

#define IMR 6
#define INV 2
#define INR (4 * INV)
#define IKC 512 /* k per block: even, so that pairs never straddle two blocks */
#define IMC 96
#define INC 1024
_Static_assert(IKC % 2 == 0, "IKC must be even");
_Static_assert(IMC % IMR == 0, "IMC must be a multiple of IMR");

typedef struct {
  int seg, seg_stride, stride;
} imap;

typedef struct {
  int m, n, k, b_bytes; /* b_bytes: 1 for int8 activations, 2 for int16 */
  const signed char *a;
  imap a_row, a_col;
  const void *b;
  imap b_row, b_col;
  int *c;
  imap c_row, c_col;
  const int *bias; /* one per row of C, or 0 */
  /*
   * With rq: the requantization of each row of C (M, n, lo, hi: four ints per row), applied as the last
   * k block is added; the outputs go to q (int8 or int16 as q_bytes says, indexed as C), and C only holds
   * the partial sums of earlier k blocks.
   */
  const int *rq;
  void *q;
  int q_bytes;
  /*
   * A packed once for the whole call by int_gemm_pack (or 0: each int_gemm_run packs its own rows): for int16
   * activations the int16 pairs at ap2, for int8 activations the int8 quads at ap4, laid out per k block and panel
   * of IMR rows as prepacked_pairs() and prepacked_quads() say.
   */
  const int *ap2;
  const int *ap4;
  /*
   * With rq2 (and rq): SPEC's residual add after the requantization, in place — every output v becomes
   * clamp(requant(v · add_a + addend · add_b)) by rq2 (M, n, lo, hi), addend (int8 or int16 as add_bytes
   * says) indexed as q; add_a, add_b are 2^k and t in the add's operand order. Without an addend (add_a 1),
   * a second requantization of the outputs alone. q holds the first requantization's outputs only between a
   * block's epilogue and this pass.
   */
  const void *addend;
  int add_bytes, add_a, add_b;
  const int *rq2;
  /* 1: signed int8 activations may take the offset quads (int_dot_u8_probe() returned 1 on this machine) */
  int dot_u8;
} igemm_desc;

/* Panels of IMR rows in A. */
static inline int panels(const igemm_desc *d) { return (d->m + IMR - 1) / IMR; }

/* The pre-packed int16 pairs of k block pb (k from pb · IKC, kq pairs), panel p: kq · IMR ints. */
static inline const int *prepacked_pairs(const igemm_desc *d, int pb, int p, int kq) {
  return d->ap2 + (pb * panels(d) * (IKC / 2) + p * kq) * IMR;
}

/* The pre-packed int8 quads of k block pb (k4 quads), panel p: k4 · IMR ints. */
static inline const int *prepacked_quads(const igemm_desc *d, int pb, int p, int k4) {
  return d->ap4 + (pb * panels(d) * (IKC / 4) + p * k4) * IMR;
}

static inline int imap_off(const imap *d, int i) { return (i / d->seg) * d->seg_stride + (i % d->seg) * d->stride; }

/* out[j] = imap_off(d, i0 + j) for j < count: one division, then stepped, four at a time within a segment. */
static void imap_fill(const imap *d, int i0, int count, int *out) {
  const int st = d->stride;
  const v128_t step = wasm_i32x4_make(0, st, 2 * st, 3 * st);
  int r = i0 % d->seg, base = i0 / d->seg * d->seg_stride;
  for (int j = 0; j < count;) {
    if (r + 4 <= d->seg && j + 4 <= count) {
      wasm_v128_store(out + j, wasm_i32x4_add(wasm_i32x4_splat(base + r * st), step));
      j += 4, r += 4;
    } else {
      out[j++] = base + r++ * st;
    }
    if (r == d->seg) r = 0, base += d->seg_stride;
  }
}

/* Whether off[0..count) step by one constant stride. */
static inline int strided(const int *off, int count) {
  for (int j = 2; j < count; j++)
    if (off[j] - off[j - 1] != off[1] - off[0]) return 0;
  return 1;
}

static inline int run_of(const int *off, int count) {
  for (int j = 1; j < count; j++)
    if (off[j] != off[0] + j) return 0;
  return 1;
}

/* Bytes of scratch one thread needs for int_gemm_run (16-byte aligned). */
int EXPORT(int_gemm_scratch_bytes)(void) {
  return IMC * IKC * 2 + IKC * INC * 2 + IMR * INR * 8 + IMC * 5 * 16 + (2 * INC + INC / INR + 5 * IMC + 2 * IKC) * 4 +
         64;
}

/* Eight consecutive activations as int16 lanes. */
static inline v128_t load8(const void *b, int bytes, int off) {
  return bytes == 1 ? wasm_i16x8_load8x8((const signed char *)b + off) : wasm_v128_load((const short *)b + off);
}

/* Four consecutive activations as int16 lanes 0..3 (lanes 4..7 zero); reads nothing past them. */
static inline v128_t load4(const void *b, int bytes, int off) {
  return bytes == 1 ? wasm_i16x8_extend_low_i8x16(wasm_v128_load32_zero((const signed char *)b + off))
                    : wasm_v128_load64_zero((const short *)b + off);
}

static inline int elem(const void *b, int bytes, int off) {
  return bytes == 1 ? ((const signed char *)b)[off] : ((const short *)b)[off];
}

/* Two int16 values as one int32 lane: lo in the low half. */
static inline int pair(int lo, int hi) { return (int)(((unsigned)lo & 0xffffu) | ((unsigned)hi << 16)); }

/*
 * Packs kc rows (brow) × nc columns (bcol) of B: panel p, pair q holds, for column j of the panel, the int32
 * lane pair(B(2q, j), B(2q + 1, j)) at bp[(p * kq + q) * INR + j]; zero past kc and nc.
 */
static void pack_b(const igemm_desc *d, const int *brow, const int *bcol, int kc, int nc, int *bp) {
  const void *b = d->b;
  const int bytes = d->b_bytes, kq = (kc + 1) / 2, kfull = kc / 2;
  const v128_t zero = wasm_i32x4_splat(0);
  for (int jr = 0; jr < nc; jr += INR, bp += kq * INR) {
    const int nr = nc - jr < INR ? nc - jr : INR;
    for (int v = 0; v < INV; v++) {
      const int *cols = bcol + jr + 4 * v;
      int *dst = bp + 4 * v;
      const int cnt = nr - 4 * v;
      if (cnt >= 4 && run_of(cols, 4)) {
        /* four consecutive columns: two rows interleaved */
        for (int q = 0; q < kfull; q++) {
          const v128_t r0 = load4(b, bytes, brow[2 * q] + cols[0]), r1 = load4(b, bytes, brow[2 * q + 1] + cols[0]);
          wasm_v128_store(dst + q * INR, wasm_i16x8_shuffle(r0, r1, 0, 8, 1, 9, 2, 10, 3, 11));
        }
        if (kq > kfull) {
          const v128_t r0 = load4(b, bytes, brow[kc - 1] + cols[0]);
          wasm_v128_store(dst + kfull * INR, wasm_i16x8_shuffle(r0, zero, 0, 8, 1, 9, 2, 10, 3, 11));
        }
        continue;
      }
      int q = 0;
      if (cnt >= 4) {
        /* scattered columns, each contiguous along k: eight k (four pairs) per column, 4 × 4 transposes */
        for (; 2 * q + 8 <= kc && run_of(brow + 2 * q, 8); q += 4) {
          const int r = brow[2 * q];
          transpose4_store(load8(b, bytes, r + cols[0]), load8(b, bytes, r + cols[1]), load8(b, bytes, r + cols[2]),
                           load8(b, bytes, r + cols[3]), dst + q * INR, INR);
        }
      }
      for (; q < kq; q++) {
        const int r0 = brow[2 * q], has1 = 2 * q + 1 < kc, r1 = has1 ? brow[2 * q + 1] : 0;
        for (int j = 0; j < 4; j++) {
          if (j < cnt) {
            dst[q * INR + j] = pair(elem(b, bytes, r0 + cols[j]), has1 ? elem(b, bytes, r1 + cols[j]) : 0);
          } else {
            dst[q * INR + j] = 0;
          }
        }
      }
    }
  }
}

/* Packs mc rows (arow) × kc columns (acol) of A: panel p, pair q, row i at ap[(p * kq + q) * IMR + i]. */
static void pack_a(const signed char *a, const int *arow, const int *acol, int mc, int kc, int *ap) {
  const int kq = (kc + 1) / 2;
  for (int ir = 0; ir < mc; ir += IMR, ap += kq * IMR) {
    const int mr = mc - ir < IMR ? mc - ir : IMR;
    for (int i = 0; i < IMR; i++) {
      if (i >= mr) {
        for (int q = 0; q < kq; q++) ap[q * IMR + i] = 0;
        continue;
      }
      const signed char *row = a + arow[ir + i];
      int q = 0;
      for (; 2 * q + 1 < kc; q++) ap[q * IMR + i] = pair(row[acol[2 * q]], row[acol[2 * q + 1]]);
      if (q < kq) ap[q * IMR + i] = pair(row[acol[2 * q]], 0);
    }
  }
}

/* Stores lanes 0..count-1 (count ≤ 4) of the int16 lanes `s16` at element offsets off[0..count) of q. */
static inline void store_lanes(const igemm_desc *d, v128_t s16, int row, const int *off, int count) {
  if (d->q_bytes == 1) {
    signed char *q = (signed char *)d->q + row;
    q[off[0]] = (signed char)wasm_i16x8_extract_lane(s16, 0);
    if (count > 1) q[off[1]] = (signed char)wasm_i16x8_extract_lane(s16, 1);
    if (count > 2) q[off[2]] = (signed char)wasm_i16x8_extract_lane(s16, 2);
    if (count > 3) q[off[3]] = (signed char)wasm_i16x8_extract_lane(s16, 3);
  } else {
    short *q = (short *)d->q + row;
    q[off[0]] = (short)wasm_i16x8_extract_lane(s16, 0);
    if (count > 1) q[off[1]] = (short)wasm_i16x8_extract_lane(s16, 1);
    if (count > 2) q[off[2]] = (short)wasm_i16x8_extract_lane(s16, 2);
    if (count > 3) q[off[3]] = (short)wasm_i16x8_extract_lane(s16, 3);
  }
}

/*
 * Requantizes one row's INR sums `t` (nr of them) into the output row at element `row` (columns ccol): four
 * at a time in vector lanes, stored as a run where four columns are consecutive and lane by lane otherwise
 * (NCHW outputs of 2×2 planes come in runs of four, of 1×1 planes one channel stride apart).
 */
static void requant_row(const igemm_desc *d, const int *r, int *t, int nr, int row, const int *ccol) {
  const int m = r[0], n = r[1];
  const v128_t lo = wasm_i16x8_splat(r[2]), hi = wasm_i16x8_splat(r[3]);
  for (int j = 0; j < nr; j += 4) {
    const v128_t y = requant4_any(wasm_v128_load(t + j), m, n);
    const v128_t s16 = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(y, y), lo), hi);
    const int count = nr - j < 4 ? nr - j : 4;
    if (count == 4 && run_of(ccol + j, 4)) {
      if (d->q_bytes == 1) {
        wasm_v128_store32_lane((signed char *)d->q + row + ccol[j], wasm_i8x16_narrow_i16x8(s16, s16), 0);
      } else {
        wasm_v128_store64_lane((short *)d->q + row + ccol[j], s16, 0);
      }
    } else {
      store_lanes(d, s16, row, ccol + j, count);
    }
  }
}

static inline __attribute__((always_inline)) void store_tile(v128_t acc[IMR][INV], int *c, const int *crow,
                                                            const int *ccol, const int *rbias, int mr, int nr,
                                                            int first, int *tile, const igemm_desc *d,
                                                            const int *rrq, const v128_t *rv, const int *rn, int cm) {
  if (rv && cm == 3 && mr == IMR) {
    /*
     * the last k block over eight columns a constant stride apart and IMR consecutive rows into int8 (the NCHW
     * outputs of 1×1 planes): requantized from the registers, transposed, IMR bytes stored per column
     */
    v128_t s16[IMR];
#pragma clang loop unroll(full)
    for (int i = 0; i < IMR; i++) {
      const v128_t *v = rv + 5 * i;
      v128_t b0 = v[2], b1 = v[2];
      if (!first) {
        const int *cr = c + crow[i];
        b0 = wasm_i32x4_make(cr[ccol[0]], cr[ccol[1]], cr[ccol[2]], cr[ccol[3]]);
        b1 = wasm_i32x4_make(cr[ccol[4]], cr[ccol[5]], cr[ccol[6]], cr[ccol[7]]);
      }
      const v128_t q0 = requant4_32(wasm_i32x4_add(acc[i][0], b0), v[0], rn[i], v[1]);
      const v128_t q1 = requant4_32(wasm_i32x4_add(acc[i][1], b1), v[0], rn[i], v[1]);
      s16[i] = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(q0, q1), v[3]), v[4]);
    }
    _Static_assert(IMR == 6 && INR == 8, "the transposed stores take a 6 × 8 tile");
    const v128_t p01 = wasm_i8x16_narrow_i16x8(s16[0], s16[1]), p23 = wasm_i8x16_narrow_i16x8(s16[2], s16[3]);
    const v128_t p45 = wasm_i8x16_narrow_i16x8(s16[4], s16[5]);
    /* rows 0..3 of columns 0..3 and of columns 4..7, four bytes per column; rows 4, 5 two bytes per column */
    const v128_t t0 = wasm_i8x16_shuffle(p01, p23, 0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27);
    const v128_t t1 = wasm_i8x16_shuffle(p01, p23, 4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31);
    const v128_t t2 = wasm_i8x16_shuffle(p45, p45, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    signed char *q = (signed char *)d->q + crow[0];
    wasm_v128_store32_lane(q + ccol[0], t0, 0);
    wasm_v128_store32_lane(q + ccol[1], t0, 1);
    wasm_v128_store32_lane(q + ccol[2], t0, 2);
    wasm_v128_store32_lane(q + ccol[3], t0, 3);
    wasm_v128_store32_lane(q + ccol[4], t1, 0);
    wasm_v128_store32_lane(q + ccol[5], t1, 1);
    wasm_v128_store32_lane(q + ccol[6], t1, 2);
    wasm_v128_store32_lane(q + ccol[7], t1, 3);
    q += 4;
    wasm_v128_store16_lane(q + ccol[0], t2, 0);
    wasm_v128_store16_lane(q + ccol[1], t2, 1);
    wasm_v128_store16_lane(q + ccol[2], t2, 2);
    wasm_v128_store16_lane(q + ccol[3], t2, 3);
    wasm_v128_store16_lane(q + ccol[4], t2, 4);
    wasm_v128_store16_lane(q + ccol[5], t2, 5);
    wasm_v128_store16_lane(q + ccol[6], t2, 6);
    wasm_v128_store16_lane(q + ccol[7], t2, 7);
    return;
  }
  if (cm == 3) cm = 0;
  if (rv && cm) {
    /*
     * the last k block over two runs of four columns (cm 1; cm 2: one run of eight), every row under the 32-bit
     * rule: the rows' constants come as vectors (rv, five per row: M, 2^(n-1), bias, lo, hi) and their n at rn
     */
    const int off0 = ccol[0], off1 = ccol[4];
#pragma clang loop unroll(full)
    for (int i = 0; i < IMR; i++) {
      if (i < mr) {
        const v128_t *v = rv + 5 * i;
        const int row = crow[i], n = rn[i];
        const v128_t b0 = first ? v[2] : wasm_v128_load(c + row + off0);
        const v128_t b1 = first ? v[2] : wasm_v128_load(c + row + off1);
        const v128_t q0 = requant4_32(wasm_i32x4_add(acc[i][0], b0), v[0], n, v[1]);
        const v128_t q1 = requant4_32(wasm_i32x4_add(acc[i][1], b1), v[0], n, v[1]);
        const v128_t s16 = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(q0, q1), v[3]), v[4]);
        if (d->q_bytes == 1) {
          const v128_t s8 = wasm_i8x16_narrow_i16x8(s16, s16);
          if (cm == 2) {
            wasm_v128_store64_lane((signed char *)d->q + row + off0, s8, 0);
          } else {
            wasm_v128_store32_lane((signed char *)d->q + row + off0, s8, 0);
            wasm_v128_store32_lane((signed char *)d->q + row + off1, s8, 1);
          }
        } else if (cm == 2) {
          wasm_v128_store((short *)d->q + row + off0, s16);
        } else {
          wasm_v128_store64_lane((short *)d->q + row + off0, s16, 0);
          wasm_v128_store64_lane((short *)d->q + row + off1, s16, 1);
        }
      }
    }
    return;
  }
  if (rrq && cm) {
    /*
     * the last k block over two runs of four columns (one run of eight, or the NCHW outputs of 2×2 planes):
     * the full sums requantized from the registers into q
     */
    const int off0 = ccol[0], off1 = ccol[4], joined = cm == 2;
#pragma clang loop unroll(full)
    for (int i = 0; i < IMR; i++) {
      if (i < mr) {
        const int *r = rrq + 4 * i, row = crow[i];
        const v128_t b0 = first ? wasm_i32x4_splat(rbias[i]) : wasm_v128_load(c + row + off0);
        const v128_t b1 = first ? b0 : wasm_v128_load(c + row + off1);
        const v128_t q0 = requant4_any(wasm_i32x4_add(acc[i][0], b0), r[0], r[1]);
        const v128_t q1 = requant4_any(wasm_i32x4_add(acc[i][1], b1), r[0], r[1]);
        const v128_t s16 = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(q0, q1), wasm_i16x8_splat(r[2])),
                                          wasm_i16x8_splat(r[3]));
        if (d->q_bytes == 1) {
          const v128_t s8 = wasm_i8x16_narrow_i16x8(s16, s16);
          if (joined) {
            wasm_v128_store64_lane((signed char *)d->q + row + off0, s8, 0);
          } else {
            wasm_v128_store32_lane((signed char *)d->q + row + off0, s8, 0);
            wasm_v128_store32_lane((signed char *)d->q + row + off1, s8, 1);
          }
        } else if (joined) {
          wasm_v128_store((short *)d->q + row + off0, s16);
        } else {
          wasm_v128_store64_lane((short *)d->q + row + off0, s16, 0);
          wasm_v128_store64_lane((short *)d->q + row + off1, s16, 1);
        }
      }
    }
    return;
  }
  if (rrq) {
    /* the last k block: the full sums, requantized into q */
#pragma clang loop unroll(full)
    for (int i = 0; i < IMR; i++)
#pragma clang loop unroll(full)
      for (int v = 0; v < INV; v++) wasm_v128_store(tile + i * INR + 4 * v, acc[i][v]);
    for (int i = 0; i < mr; i++) {
      int *t = tile + i * INR;
      if (first) {
        for (int j = 0; j < nr; j++) t[j] += rbias[i];
      } else {
        const int *cr = c + crow[i];
        for (int j = 0; j < nr; j++) t[j] += cr[ccol[j]];
      }
      requant_row(d, rrq + 4 * i, t, nr, crow[i], ccol);
    }
    return;
  }
  if (cm == 2) {
    int *c0 = c + ccol[0];
#pragma clang loop unroll(full)
    for (int i = 0; i < IMR; i++) {
      if (i < mr) {
        int *cp = c0 + crow[i];
        const v128_t base = first ? wasm_i32x4_splat(rbias[i]) : wasm_v128_load(cp);
        const v128_t base1 = first ? base : wasm_v128_load(cp + 4);
        wasm_v128_store(cp, wasm_i32x4_add(acc[i][0], base));
        wasm_v128_store(cp + 4, wasm_i32x4_add(acc[i][1], base1));
      }
    }
    return;
  }
#pragma clang loop unroll(full)
  for (int i = 0; i < IMR; i++)
#pragma clang loop unroll(full)
    for (int v = 0; v < INV; v++) wasm_v128_store(tile + i * INR + 4 * v, acc[i][v]);
  for (int i = 0; i < mr; i++) {
    int *cr = c + crow[i];
    const int *t = tile + i * INR;
    if (first) {
      for (int j = 0; j < nr; j++) cr[ccol[j]] = rbias[i] + t[j];
    } else {
      for (int j = 0; j < nr; j++) cr[ccol[j]] += t[j];
    }
  }
}

/*
 * SPEC's requantization in 32-bit lanes for M < 2^15 and 17 ≤ n ≤ 46 (the sums of residual adds, whose
 * shifts pass 31): with s = sh · 2^16 + sl (sl in [0, 2^16)) and 2^(n-1) a multiple of 2^16,
 * floor((s · M + 2^(n-1)) / 2^n) = (sh · M + ((sl · M) >> 16) + 2^(n-17)) >> (n - 16), every step exact
 * (|sh · M| ≤ 2^30, the other two terms below 2^15 and 2^29) — floors nest for a power-of-two divisor.
 */
static inline v128_t requant4_hi(v128_t s, v128_t m, int n, v128_t half) {
  const v128_t sl = wasm_v128_and(s, wasm_i32x4_splat(0xffff)), sh = wasm_i32x4_shr(s, 16);
  const v128_t lo = wasm_i32x4_add(wasm_u32x4_shr(wasm_i32x4_mul(sl, m), 16), half);
  return shr_i32x4(wasm_i32x4_add(wasm_i32x4_mul(sh, m), lo), n - 16);
}

/* Whether requant4_hi applies to the multiplier M · 2^-n. */
static inline int hi_rule(int m, int n) { return m >= 0 && m < 32768 && n >= 17 && n <= 46; }

/*
 * The residual sums of eight outputs `v` and addends `e` (int16 lanes), requantized and clamped: by rule 1
 * requant4_hi, 2 plain 32-bit lanes (a second requantization alone: |v · M| ≤ 2^30 and n ≤ 30, so
 * v · M + 2^(n-1) fits int32), 0 the int64 lanes of requant4.
 */
static inline __attribute__((always_inline)) v128_t residual8(v128_t v, v128_t e, v128_t av, v128_t bv, v128_t mv,
                                                              int n, v128_t half, int rule, v128_t lov, v128_t hiv) {
  v128_t s0 = wasm_i32x4_add(wasm_i32x4_mul(wasm_i32x4_extend_low_i16x8(v), av),
                             wasm_i32x4_mul(wasm_i32x4_extend_low_i16x8(e), bv));
  v128_t s1 = wasm_i32x4_add(wasm_i32x4_mul(wasm_i32x4_extend_high_i16x8(v), av),
                             wasm_i32x4_mul(wasm_i32x4_extend_high_i16x8(e), bv));
  if (rule == 1) {
    s0 = requant4_hi(s0, mv, n, half), s1 = requant4_hi(s1, mv, n, half);
  } else if (rule == 2) {
    s0 = shr_i32x4(wasm_i32x4_add(wasm_i32x4_mul(s0, mv), half), n);
    s1 = shr_i32x4(wasm_i32x4_add(wasm_i32x4_mul(s1, mv), half), n);
  } else {
    const v128_t round = wasm_i64x2_splat(n == 0 ? 0 : 1LL << (n - 1));
    const v128_t i32min = wasm_i64x2_splat(-2147483648LL), i32max = wasm_i64x2_splat(2147483647LL);
    s0 = requant4(s0, mv, n, round, i32min, i32max, 0), s1 = requant4(s1, mv, n, round, i32min, i32max, 0);
  }
  return wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(s0, s1), lov), hiv);
}

/*
 * The residual add of `count` consecutive outputs from element offset `off` on, in place: v · add_a +
 * addend · add_b (int32 — SPEC's limits keep the sum exact), requantized by rq2 and clamped, eight at a time
 * (the descriptor's fields in locals: the int8 stores may alias anything).
 */
static void residual_span(const igemm_desc *d, int off, int count) {
  const int m = d->rq2[0], n = d->rq2[1], lo = d->rq2[2], hi = d->rq2[3];
  const int rule = hi_rule(m, n) ? 1 : !d->addend && d->add_a == 1 && m >= 0 && m < 32768 && n <= 30 ? 2 : 0;
  /* without an addend, a second requantization alone: v · 1 + v · 0 */
  const int a = d->add_a, b = d->addend ? d->add_b : 0, qb = d->q_bytes, eb = d->addend ? d->add_bytes : qb;
  void *const q = d->q;
  const void *const addend = d->addend ? d->addend : q;
  const v128_t av = wasm_i32x4_splat(a), bv = wasm_i32x4_splat(b), mv = wasm_i32x4_splat(m);
  const v128_t half = wasm_i32x4_splat(rule == 1 ? 1 << (n - 17) : rule == 2 && n > 0 ? 1 << (n - 1) : 0);
  const v128_t lov = wasm_i16x8_splat(lo), hiv = wasm_i16x8_splat(hi);
  int j = 0;
  if (qb == 1 && eb == 1 && rule == 1) {
    signed char *qp = (signed char *)q + off;
    const signed char *ep = (const signed char *)addend + off;
    for (; j + 8 <= count; j += 8) {
      const v128_t v = wasm_i16x8_load8x8(qp + j), e = wasm_i16x8_load8x8(ep + j);
      const v128_t s16 = residual8(v, e, av, bv, mv, n, half, 1, lov, hiv);
      wasm_v128_store64_lane(qp + j, wasm_i8x16_narrow_i16x8(s16, s16), 0);
    }
  }
  for (; j + 8 <= count; j += 8) {
    const v128_t v = load8(q, qb, off + j), e = load8(addend, eb, off + j);
    const v128_t s16 = residual8(v, e, av, bv, mv, n, half, rule, lov, hiv);
    if (qb == 1) {
      wasm_v128_store64_lane((signed char *)q + off + j, wasm_i8x16_narrow_i16x8(s16, s16), 0);
    } else {
      wasm_v128_store((short *)q + off + j, s16);
    }
  }
  for (; j < count; j++) {
    const unsigned s = (unsigned)elem(q, qb, off + j) * (unsigned)a + (unsigned)elem(addend, eb, off + j) * (unsigned)b;
    const int y = clamp_scalar(requant1((int)s, m, n), lo, hi);
    if (qb == 1) {
      ((signed char *)q)[off + j] = (signed char)y;
    } else {
      ((short *)q)[off + j] = (short)y;
    }
  }
}

/*
 * The residual add of a finished block's outputs (rows crow[0..mc) × columns ccol[0..nc)), while they are still
 * in the cache: per run of consecutive columns, one span over all rows where the run is as long as the rows'
 * constant stride (NCHW outputs of whole planes: channels of one image follow each other), else one per row.
 */
static void residual_block(const igemm_desc *d, const int *crow, int mc, const int *ccol, int nc) {
  const int rs = mc > 1 ? crow[1] - crow[0] : 0;
  int rows_strided = mc > 1;
  for (int i = 2; rows_strided && i < mc; i++) rows_strided = crow[i] - crow[i - 1] == rs;
  for (int j = 0; j < nc;) {
    int len = 1;
    while (j + len < nc && ccol[j + len] == ccol[j] + len) len++;
    if (rows_strided && len == rs) {
      residual_span(d, crow[0] + ccol[j], mc * rs);
    } else {
      for (int i = 0; i < mc; i++) residual_span(d, crow[i] + ccol[j], len);
    }
    j += len;
  }
}

/* One IMR × INR tile: C = (first ? bias : C) + A panel · B panel, k pairs of int16 (any int8/int16 input). */
static void micro_kernel(int kq, const int *restrict ap, const int *restrict bp, int *c, const int *crow,
                         const int *ccol, const int *rbias, int mr, int nr, int first, int *tile,
                         const igemm_desc *d, const int *rrq, const v128_t *rv, const int *rn, int cm) {
  v128_t acc[IMR][INV];
#pragma clang loop unroll(full)
  for (int i = 0; i < IMR; i++)
#pragma clang loop unroll(full)
    for (int v = 0; v < INV; v++) acc[i][v] = wasm_i32x4_splat(0);
  for (int q = 0; q < kq; q++) {
    v128_t bv[INV];
#pragma clang loop unroll(full)
    for (int v = 0; v < INV; v++) bv[v] = wasm_v128_load(bp + 4 * v);
#pragma clang loop unroll(full)
    for (int i = 0; i < IMR; i++) {
      const v128_t av = wasm_v128_load32_splat(ap + i);
#pragma clang loop unroll(full)
      for (int v = 0; v < INV; v++) acc[i][v] = wasm_i32x4_add(acc[i][v], wasm_i32x4_dot_i16x8(av, bv[v]));
    }
    ap += IMR;
    bp += INR;
  }
  store_tile(acc, c, crow, ccol, rbias, mr, nr, first, tile, d, rrq, rv, rn, cm);
}

/*
 * The same tile from quads of int8 (k4 quads): the relaxed dot product of four signed weights and four
 * activations in [0, 127] — exact (each pair sum is below 2^15 in magnitude, so no lowering saturates) — or,
 * with `init` (the offset quads, on a machine int_dot_u8_probe() accepted), activations x + 128 in [0, 255],
 * the sums of row i starting at init[i] = -128 · Σ a.
 */
static void micro_kernel8(int k4, const int *restrict ap, const int *restrict bp, int *c, const int *crow,
                          const int *ccol, const int *rbias, int mr, int nr, int first, int *tile,
                          const igemm_desc *d, const int *rrq, const v128_t *rv, const int *rn, int cm,
                          const int *init) {
  v128_t acc[IMR][INV];
#pragma clang loop unroll(full)
  for (int i = 0; i < IMR; i++)
#pragma clang loop unroll(full)
    for (int v = 0; v < INV; v++) acc[i][v] = wasm_i32x4_splat(init ? init[i] : 0);
#pragma clang loop unroll_count(2)
  for (int q = 0; q < k4; q++) {
    v128_t bv[INV];
#pragma clang loop unroll(full)
    for (int v = 0; v < INV; v++) bv[v] = wasm_v128_load(bp + 4 * v);
#pragma clang loop unroll(full)
    for (int i = 0; i < IMR; i++) {
      const v128_t av = wasm_v128_load32_splat(ap + i);
#pragma clang loop unroll(full)
      for (int v = 0; v < INV; v++) acc[i][v] = DOT_I8_I7_ADD(av, bv[v], acc[i][v]);
    }
    ap += IMR;
    bp += INR;
  }
  store_tile(acc, c, crow, ccol, rbias, mr, nr, first, tile, d, rrq, rv, rn, cm);
}

/*
 * The sums of one group of four columns (v) of a tile from quads of signed int8 activations packed split
 * (pack_b8 with `split`): two relaxed dot products per weight quad — with the low seven bits and with the sign
 * bits, both in [0, 127], so exact — make low - 128 · sign = Σ a · b, wrapping as int32 does. Inlined into each
 * caller, so that its twelve accumulators keep to the registers.
 */
static inline __attribute__((always_inline)) void split_sums(int k4, const int *restrict ap, const int *restrict bp,
                                                             v128_t sums[IMR]) {
  v128_t lo[IMR], sg[IMR];
#pragma clang loop unroll(full)
  for (int i = 0; i < IMR; i++) lo[i] = sg[i] = wasm_i32x4_splat(0);
#pragma clang loop unroll_count(2) /* halves the loop's own overhead on short sums (k = 16: four quads) */
  for (int q = 0; q < k4; q++) {
    const v128_t bl = wasm_v128_load(bp), bs = wasm_v128_load(bp + 4);
#pragma clang loop unroll(full)
    for (int i = 0; i < IMR; i++) {
      const v128_t av = wasm_v128_load32_splat(ap + i);
      lo[i] = DOT_I8_I7_ADD(av, bl, lo[i]);
      sg[i] = DOT_I8_I7_ADD(av, bs, sg[i]);
    }
    ap += IMR;
    bp += 2 * INR;
  }
#pragma clang loop unroll(full)
  for (int i = 0; i < IMR; i++) sums[i] = wasm_i32x4_sub(lo[i], wasm_i32x4_shl(sg[i], 7));
}

/* split_sums of one group of four columns to out[i * pitch] (a leaf function of its own). */
static __attribute__((noinline)) void split_dots(int k4, const int *restrict ap, const int *restrict bp,
                                                 int *out, int pitch) {
  v128_t sums[IMR];
  split_sums(k4, ap, bp, sums);
#pragma clang loop unroll(full)
  for (int i = 0; i < IMR; i++) wasm_v128_store(out + i * pitch, sums[i]);
}

/*
 * One IMR × INR tile from split quads: split_dots for the first group of four columns, the same sums for the
 * second kept in registers, then store_tile.
 */
static void micro_kernel8s(int k4, const int *restrict ap, const int *restrict bp, int *c, const int *crow,
                           const int *ccol, const int *rbias, int mr, int nr, int first, int *tile,
                           const igemm_desc *d, const int *rrq, const v128_t *rv, const int *rn, int cm) {
  _Static_assert(INV == 2, "two groups of four columns: the first through memory, the second in registers");
  v128_t acc[IMR][INV], second[IMR];
  split_dots(k4, ap, bp, tile, INR);
  split_sums(k4, ap, bp + 8, second);
#pragma clang loop unroll(full)
  for (int i = 0; i < IMR; i++) {
    acc[i][0] = wasm_v128_load(tile + i * INR);
    acc[i][1] = second[i];
  }
  store_tile(acc, c, crow, ccol, rbias, mr, nr, first, tile, d, rrq, rv, rn, cm);
}

/*
 * Two IMR × INR tiles side by side from split quads (the second panel's packing at bp2), requantized in one
 * epilogue per row: the last k block, every row under the 32-bit rule, int8 outputs, both panels' columns in
 * runs (cm1, cm2: 1 or 2 as in store_tile), so that each row's constants serve sixteen sums. Three groups of
 * four columns go through `tile` (IMR × 2 · INR ints), the fourth stays in registers.
 */
static void wide_kernel8s(int k4, const int *restrict ap, const int *restrict bp, const int *restrict bp2, int *c,
                          const int *crow, const int *ccol, int mr, int first, int *tile, const igemm_desc *d,
                          const v128_t *rv, const int *rn, int cm1, int cm2) {
  const int pitch = 2 * INR;
  v128_t fourth[IMR];
  split_dots(k4, ap, bp, tile, pitch);
  split_dots(k4, ap, bp + 8, tile + 4, pitch);
  split_dots(k4, ap, bp2, tile + 8, pitch);
  split_sums(k4, ap, bp2 + 8, fourth);
  const int off0 = ccol[0], off1 = ccol[4], off2 = ccol[8], off3 = ccol[12];
#pragma clang loop unroll(full)
  for (int i = 0; i < IMR; i++) {
    if (i < mr) {
      const v128_t *v = rv + 5 * i;
      const int row = crow[i], n = rn[i];
      const int *t = tile + i * pitch;
      const v128_t a3 = fourth[i];
      v128_t b0 = v[2], b1 = v[2], b2 = v[2], b3 = v[2];
      if (!first) {
        b0 = wasm_v128_load(c + row + off0), b1 = wasm_v128_load(c + row + off1);
        b2 = wasm_v128_load(c + row + off2), b3 = wasm_v128_load(c + row + off3);
      }
      const v128_t q0 = requant4_32(wasm_i32x4_add(wasm_v128_load(t), b0), v[0], n, v[1]);
      const v128_t q1 = requant4_32(wasm_i32x4_add(wasm_v128_load(t + 4), b1), v[0], n, v[1]);
      const v128_t q2 = requant4_32(wasm_i32x4_add(wasm_v128_load(t + 8), b2), v[0], n, v[1]);
      const v128_t q3 = requant4_32(wasm_i32x4_add(a3, b3), v[0], n, v[1]);
      const v128_t s01 = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(q0, q1), v[3]), v[4]);
      const v128_t s23 = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(q2, q3), v[3]), v[4]);
      const v128_t s8 = wasm_i8x16_narrow_i16x8(s01, s23);
      signed char *q = (signed char *)d->q + row;
      if (cm1 == 2) {
        wasm_v128_store64_lane(q + off0, s8, 0);
      } else {
        wasm_v128_store32_lane(q + off0, s8, 0);
        wasm_v128_store32_lane(q + off1, s8, 1);
      }
      if (cm2 == 2) {
        wasm_v128_store64_lane(q + off2, s8, 1);
      } else {
        wasm_v128_store32_lane(q + off2, s8, 2);
        wasm_v128_store32_lane(q + off3, s8, 3);
      }
    }
  }
}

/* The four bytes at `src` as one int32 (an unaligned load). */
static inline void memcpy_int(int *dst, const signed char *src) { *dst = wasm_i32x4_extract_lane(wasm_v128_load32_zero(src), 0); }

/* Four int8 values as one int32 lane, b0 in the low byte. */
static inline int quad(int b0, int b1, int b2, int b3) {
  return (int)(((unsigned)b0 & 0xffu) | (((unsigned)b1 & 0xffu) << 8) | (((unsigned)b2 & 0xffu) << 16) |
               ((unsigned)b3 << 24));
}

/* Packs mc rows × kc columns of A as quads: panel p, quad q, row i at ap[(p * k4 + q) * IMR + i]. */
static void pack_a8(const signed char *a, const int *arow, const int *acol, int mc, int kc, int *ap) {
  const int k4 = (kc + 3) / 4, kfull = run_of(acol, kc) ? kc / 4 : 0;
  for (int ir = 0; ir < mc; ir += IMR, ap += k4 * IMR) {
    const int mr = mc - ir < IMR ? mc - ir : IMR;
    for (int i = 0; i < IMR; i++) {
      if (i >= mr) {
        for (int q = 0; q < k4; q++) ap[q * IMR + i] = 0;
        continue;
      }
      const signed char *row = a + arow[ir + i];
      int q = 0;
      /* k consecutive along the row (a 1×1 convolution's weights): each quad is four bytes as they lie */
      for (; q < kfull; q++) memcpy_int(&ap[q * IMR + i], row + acol[0] + 4 * q);
      for (; q < k4; q++) {
        const int k = 4 * q;
        ap[q * IMR + i] = quad(row[acol[k]], k + 1 < kc ? row[acol[k + 1]] : 0, k + 2 < kc ? row[acol[k + 2]] : 0,
                               k + 3 < kc ? row[acol[k + 3]] : 0);
      }
    }
  }
}

/* How pack_b8 stores signed int8 activations: see put_quads. */
#define SPLIT_NONE 0
#define SPLIT_SIGN 1
#define SPLIT_OFFSET 2

/*
 * Stores one group of four columns' quads `x` at dst: as they are (SPLIT_NONE, checking their signs into
 * `sign`); with SPLIT_SIGN as the two halves of a signed int8 x = (x & 127) - 128 · (x < 0): the low seven
 * bits at dst and the sign bits (0 or 1 per byte) at dst + 4; with SPLIT_OFFSET as the bytes x + 128 (x ^ 0x80).
 */
static inline void put_quads(int *dst, v128_t x, int split, v128_t *sign) {
  if (split == SPLIT_SIGN) {
    wasm_v128_store(dst, wasm_v128_and(x, wasm_i8x16_splat(0x7f)));
    wasm_v128_store(dst + 4, wasm_u8x16_shr(x, 7));
  } else if (split == SPLIT_OFFSET) {
    wasm_v128_store(dst, wasm_v128_xor(x, wasm_i8x16_splat((signed char)0x80)));
  } else {
    *sign = wasm_v128_or(*sign, x);
    wasm_v128_store(dst, x);
  }
}

/*
 * Packs kc rows × nc columns of int8 B as quads: panel p, quad q, column j at bp[(p * k4 + q) * INR + j];
 * zero past kc and nc. Returns 0 (leaving the packing unfinished) at the first negative value: the relaxed
 * dot product is exact only for activations in [0, 127]. With SPLIT_SIGN (any int8 values), each quad holds
 * both halves of put_quads — the low bits of columns 4v..4v+3 at bp[(p * k4 + q) * 2 * INR + 8v + j], their
 * sign bits 4 ints further — and with SPLIT_OFFSET the bytes x + 128 where the plain quads go; either way the
 * packing always finishes.
 */
static int pack_b8(const igemm_desc *d, const int *brow, const int *bcol, int kc, int nc, int *bp, int split) {
  const signed char *b = (const signed char *)d->b;
  const int k4 = (kc + 3) / 4, kfull = kc / 4, wide = split == SPLIT_SIGN, pitch = wide ? 2 * INR : INR;
  v128_t sign = wasm_i32x4_splat(0);
  for (int jr = 0; jr < nc; jr += INR, bp += k4 * pitch) {
    const int nr = nc - jr < INR ? nc - jr : INR;
    int q0 = 0;
    if (nr == INR && run_of(bcol + jr, INR)) {
      /* eight consecutive columns: four rows of eight bytes interleaved (byte, then 16-bit unpacks) */
      const signed char *b0 = b + bcol[jr];
      for (; q0 < kfull; q0++) {
        const int *r = brow + 4 * q0;
        const v128_t r0 = wasm_v128_load64_zero(b0 + r[0]), r1 = wasm_v128_load64_zero(b0 + r[1]);
        const v128_t r2 = wasm_v128_load64_zero(b0 + r[2]), r3 = wasm_v128_load64_zero(b0 + r[3]);
        const v128_t t01 = wasm_i8x16_shuffle(r0, r1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const v128_t t23 = wasm_i8x16_shuffle(r2, r3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        put_quads(bp + q0 * pitch, wasm_i16x8_shuffle(t01, t23, 0, 8, 1, 9, 2, 10, 3, 11), split, &sign);
        put_quads(bp + q0 * pitch + (wide ? 8 : 4), wasm_i16x8_shuffle(t01, t23, 4, 12, 5, 13, 6, 14, 7, 15), split,
                  &sign);
      }
    }
    for (int v = 0; v < INV; v++) {
      const int *cols = bcol + jr + 4 * v;
      int *dst = bp + (wide ? 8 : 4) * v;
      const int cnt = nr - 4 * v;
      int q = q0;
      if (cnt >= 4 && run_of(cols, 4)) {
        /* four consecutive columns: four rows' bytes interleaved (the unpacks' upper halves unused) */
        for (; q < kfull; q++) {
          const int *r = brow + 4 * q;
          const v128_t r0 = wasm_v128_load32_zero(b + r[0] + cols[0]), r1 = wasm_v128_load32_zero(b + r[1] + cols[0]);
          const v128_t r2 = wasm_v128_load32_zero(b + r[2] + cols[0]), r3 = wasm_v128_load32_zero(b + r[3] + cols[0]);
          const v128_t t01 = wasm_i8x16_shuffle(r0, r1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const v128_t t23 = wasm_i8x16_shuffle(r2, r3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          put_quads(dst + q * pitch, wasm_i16x8_shuffle(t01, t23, 0, 8, 1, 9, 2, 10, 3, 11), split, &sign);
        }
      } else if (cnt >= 4) {
        /* scattered columns: four consecutive k of a column are one 32-bit load where the rows are a run */
        for (; q < kfull && run_of(brow + 4 * q, 4); q++) {
          const int r = brow[4 * q];
          int w[4];
          for (int j = 0; j < 4; j++) memcpy_int(&w[j], b + r + cols[j]);
          put_quads(dst + q * pitch, wasm_i32x4_make(w[0], w[1], w[2], w[3]), split, &sign);
        }
      }
      for (; q < k4; q++) {
        for (int j = 0; j < 4; j++) {
          int e[4] = {0, 0, 0, 0};
          if (j < cnt)
            for (int t = 0; t < 4 && 4 * q + t < kc; t++) e[t] = b[brow[4 * q + t] + cols[j]];
          const unsigned x = (unsigned)quad(e[0], e[1], e[2], e[3]);
          if (split == SPLIT_SIGN) {
            dst[q * pitch + j] = (int)(x & 0x7f7f7f7fu);
            dst[q * pitch + 4 + j] = (int)((x >> 7) & 0x01010101u);
          } else if (split == SPLIT_OFFSET) {
            dst[q * pitch + j] = (int)(x ^ 0x80808080u);
          } else {
            if ((x & 0x80808080u) != 0) return 0;
            dst[q * pitch + j] = (int)x;
          }
        }
      }
    }
    if (wasm_i8x16_bitmask(sign) != 0) return 0;
  }
  return 1;
}

/*
 * For the offset quads: init[i] = -128 · (the sum of row i's weights in this k block), from the packed quads of
 * mc rows (k4 quads per row, laid out as pack_a8 writes them), so that the sums of a · (x + 128) start at the
 * term the offset adds. |Σ a| ≤ 128 · IKC, so the product stays in int32.
 */
static void offset_sums(const int *ap, int mc, int k4, int *init) {
  const v128_t ones = wasm_i8x16_splat(1);
  for (int ir = 0; ir < mc; ir += IMR, ap += k4 * IMR) {
    v128_t s03 = wasm_i32x4_splat(0), s45 = wasm_i32x4_splat(0);
    for (int q = 0; q < k4; q++) {
      s03 = DOT_I8_I7_ADD(wasm_v128_load(ap + q * IMR), ones, s03);
      s45 = DOT_I8_I7_ADD(wasm_v128_load64_zero(ap + q * IMR + 4), ones, s45);
    }
    wasm_v128_store(init + ir, wasm_i32x4_mul(s03, wasm_i32x4_splat(-128)));
    wasm_v128_store64_lane(init + ir + 4, wasm_i32x4_mul(s45, wasm_i32x4_splat(-128)), 0);
  }
}

/*
 * 1 when this machine's relaxed dot product computes c + Σ a · b with b's bytes read as unsigned bytes in
 * [0, 255], without saturating, for every pair of extreme and mixed bytes tried — the SPLIT_OFFSET packing
 * relies on that, beyond what the instruction promises for b in [0, 127]. x86 with VNNI (vpdpbusd) passes;
 * a lowering that reads b as signed (ARM's sdot) or saturates pairs to int16 (SSE's pmaddubsw) fails.
 */
int EXPORT(int_dot_u8_probe)(void) {
  static const signed char as[6] = {-128, 127, -1, 1, -128, 127};
  static const unsigned char bs[6] = {255, 255, 128, 200, 129, 1};
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++) {
      /* four lanes: all four bytes of a and b alike, then mixed with the next pair */
      const int a0 = as[i], a1 = as[(i + 1) % 6], b0 = bs[j], b1 = bs[(j + 1) % 6];
      const v128_t a = wasm_i8x16_make(a0, a0, a0, a0, a0, a1, a0, a1, a1, a1, a0, a0, a1, a1, a1, a1);
      const v128_t b = wasm_u8x16_make(b0, b0, b0, b0, b1, b0, b1, b0, b0, b1, b1, b0, b1, b1, b1, b1);
      const v128_t c = wasm_i32x4_make(0, 1, -7, 1 << 20);
      const v128_t r = DOT_I8_I7_ADD(a, b, c);
      const int want[4] = {4 * a0 * b0, a0 * b1 + a1 * b0 + a0 * b1 + a1 * b0 + 1,
                           a1 * b0 + a1 * b1 + a0 * b1 + a0 * b0 - 7, 4 * a1 * b1 + (1 << 20)};
      if (wasm_i32x4_extract_lane(r, 0) != want[0] || wasm_i32x4_extract_lane(r, 1) != want[1] ||
          wasm_i32x4_extract_lane(r, 2) != want[2] || wasm_i32x4_extract_lane(r, 3) != want[3])
        return 0;
    }
  return 1;
}

/* Ints of pre-packed pairs (and of quads) int_gemm_pack writes for an m × k A: every k block at its full size. */
int EXPORT(int_gemm_packed_ints)(int m, int k, int quads) {
  const int blocks = (k + IKC - 1) / IKC, rows = (m + IMR - 1) / IMR * IMR;
  return rows * blocks * (quads ? IKC / 4 : IKC / 2);
}

/*
 * Packs panels [p0, p1) of A (IMR rows each) for every k block into d->ap2 (int16 pairs) or d->ap4 (int8
 * quads), whichever is set, so that every int_gemm_run of the call reads them instead of packing A
 * itself. `scratch` holds IMR + IKC ints.
 */
void EXPORT(int_gemm_pack)(const igemm_desc *d, int p0, int p1, int *scratch) {
  int *arow = scratch, *acol = scratch + IMR;
  for (int pc = 0, pb = 0; pc < d->k; pc += IKC, pb++) {
    const int kc = d->k - pc < IKC ? d->k - pc : IKC, kq = (kc + 1) / 2, k4 = (kc + 3) / 4;
    for (int k = 0; k < kc; k++) acol[k] = imap_off(&d->a_col, pc + k);
    for (int p = p0; p < p1; p++) {
      const int r0 = p * IMR, mr = d->m - r0 < IMR ? d->m - r0 : IMR;
      for (int i = 0; i < mr; i++) arow[i] = imap_off(&d->a_row, r0 + i);
      if (d->ap2) pack_a(d->a, arow, acol, mr, kc, (int *)prepacked_pairs(d, pb, p, kq));
      if (d->ap4) pack_a8(d->a, arow, acol, mr, kc, (int *)prepacked_quads(d, pb, p, k4));
    }
  }
}

/*
 * Computes the block [m0, m1) × [n0, n1) of C = bias + A · B, using `scratch` (int_gemm_scratch_bytes()
 * bytes, 16-byte aligned) as packing space. k must be at least 1.
 */
void EXPORT(int_gemm_run)(const igemm_desc *d, int m0, int m1, int n0, int n1, int *scratch) {
  int *const ap_scratch = scratch;
  int *ap = ap_scratch;
  int *bp = ap_scratch + IMC * IKC / 2;
  int *tile = bp + IKC / 2 * INC;
  v128_t *rowv = (v128_t *)(tile + 2 * IMR * INR);
  int *bcol = (int *)(rowv + 5 * IMC);
  int *ccol = bcol + INC;
  int *arow = ccol + INC;
  int *crow = arow + IMC;
  int *rbias = crow + IMC;
  int *brow = rbias + IMC;
  int *acol = brow + IKC;
  int *rown = acol + IKC;
  int *cmode = rown + IMC;
  int *rinit = cmode + INC / INR;
  const int k_all = d->k;
  int try_split = 0;
  for (int jc = n0; jc < n1; jc += INC) {
    const int nc = n1 - jc < INC ? n1 - jc : INC;
    imap_fill(&d->b_col, jc, nc, bcol);
    imap_fill(&d->c_col, jc, nc, ccol);
    /*
     * per panel of INR columns of C: 2 one run of eight, 1 two runs of four, 3 eight columns a constant stride
     * apart, 0 none of these (or a short panel)
     */
    for (int jr = 0; jr < nc; jr += INR) {
      const int *cc = ccol + jr;
      cmode[jr / INR] = nc - jr < INR                      ? 0
                        : run_of(cc, INR)                  ? 2
                        : run_of(cc, 4) && run_of(cc + 4, 4) ? 1
                        : strided(cc, INR)                 ? 3
                                                           : 0;
    }
    for (int pc = 0; pc < k_all; pc += IKC) {
      const int kc = k_all - pc < IKC ? k_all - pc : IKC;
      imap_fill(&d->b_row, pc, kc, brow);
      imap_fill(&d->a_col, pc, kc, acol);
      /*
       * int8 activations that are all in [0, 127] (after a ReLU) take the int8 quads, other int8 activations the
       * split or offset quads (from the first block that has a negative value on), int16 activations the pairs
       */
      int quads = d->b_bytes == 1, split = SPLIT_NONE;
      if (quads && !try_split && !pack_b8(d, brow, bcol, kc, nc, bp, SPLIT_NONE)) try_split = 1;
      if (quads && try_split) {
        split = d->dot_u8 ? SPLIT_OFFSET : SPLIT_SIGN;
        pack_b8(d, brow, bcol, kc, nc, bp, split);
      }
      if (!quads) pack_b(d, brow, bcol, kc, nc, bp);
      const int kq = quads ? (kc + 3) / 4 : (kc + 1) / 2, last = d->rq && pc + kc >= k_all;
      for (int ic = m0; ic < m1; ic += IMC) {
        const int mc = m1 - ic < IMC ? m1 - ic : IMC;
        imap_fill(&d->a_row, ic, mc, arow);
        imap_fill(&d->c_row, ic, mc, crow);
        for (int i = 0; i < mc; i++) rbias[i] = d->bias ? d->bias[ic + i] : 0;
        /* the rows' requantization constants as vectors once, where every row takes the 32-bit rule */
        int vec_rq = last, rows_run = d->q_bytes == 1;
        for (int i = 1; rows_run && i < mc; i++) rows_run = crow[i] == crow[i - 1] + 1;
        for (int i = 0; vec_rq && i < mc; i++) vec_rq = narrow_rule(d->rq[4 * (ic + i)], d->rq[4 * (ic + i) + 1]);
        for (int i = 0; vec_rq && i < mc; i++) {
          const int *r = d->rq + 4 * (ic + i);
          rowv[5 * i] = wasm_i32x4_splat(r[0]);
          rowv[5 * i + 1] = wasm_i32x4_splat((int)(1u << (r[1] - 1)));
          rowv[5 * i + 2] = wasm_i32x4_splat(rbias[i]);
          rowv[5 * i + 3] = wasm_i16x8_splat(r[2]);
          rowv[5 * i + 4] = wasm_i16x8_splat(r[3]);
          rown[i] = r[1];
        }
        if (quads ? d->ap4 != 0 : d->ap2 != 0) {
          /* A was packed once for the call (ic is a multiple of IMR: the parts split rows in whole panels) */
          ap = quads ? (int *)prepacked_quads(d, pc / IKC, ic / IMR, kq) : (int *)prepacked_pairs(d, pc / IKC, ic / IMR, kq);
        } else if (quads) {
          pack_a8(d->a, arow, acol, mc, kc, ap);
        } else {
          pack_a(d->a, arow, acol, mc, kc, ap);
        }
        if (split == SPLIT_OFFSET) offset_sums(ap, mc, kq, rinit);
        for (int jr = 0; jr < nc; jr += INR) {
          const int nr = nc - jr < INR ? nc - jr : INR;
          const int cm1 = cmode[jr / INR], cm2 = jr + 2 * INR <= nc ? cmode[jr / INR + 1] : 0;
          if (split == SPLIT_SIGN && vec_rq && d->q_bytes == 1 && (cm1 == 1 || cm1 == 2) && (cm2 == 1 || cm2 == 2)) {
            /* two panels of runs: one epilogue per row for both */
            for (int ir = 0; ir < mc; ir += IMR)
              wide_kernel8s(kq, ap + ir * kq, bp + 2 * jr * kq, bp + 2 * (jr + INR) * kq, d->c, crow + ir, ccol + jr,
                            mc - ir < IMR ? mc - ir : IMR, pc == 0, tile, d, rowv + 5 * ir, rown + ir, cm1, cm2);
            jr += INR;
            continue;
          }
          for (int ir = 0; ir < mc; ir += IMR) {
            const int mr = mc - ir < IMR ? mc - ir : IMR;
            if (split == SPLIT_SIGN) {
              micro_kernel8s(kq, ap + ir * kq, bp + 2 * jr * kq, d->c, crow + ir, ccol + jr, rbias + ir, mr, nr,
                             pc == 0, tile, d, last ? d->rq + 4 * (ic + ir) : 0, vec_rq ? rowv + 5 * ir : 0, rown + ir,
                             cmode[jr / INR] == 3 && !rows_run ? 0 : cmode[jr / INR]);
            } else if (quads) {
              micro_kernel8(kq, ap + ir * kq, bp + jr * kq, d->c, crow + ir, ccol + jr, rbias + ir, mr, nr, pc == 0,
                            tile, d, last ? d->rq + 4 * (ic + ir) : 0, vec_rq ? rowv + 5 * ir : 0, rown + ir,
                            cmode[jr / INR] == 3 && !rows_run ? 0 : cmode[jr / INR],
                            split == SPLIT_OFFSET ? rinit + ir : 0);
            } else {
              micro_kernel(kq, ap + ir * kq, bp + jr * kq, d->c, crow + ir, ccol + jr, rbias + ir, mr, nr, pc == 0,
                           tile, d, last ? d->rq + 4 * (ic + ir) : 0, vec_rq ? rowv + 5 * ir : 0, rown + ir,
                           cmode[jr / INR] == 3 && !rows_run ? 0 : cmode[jr / INR]);
            }
          }
        }
        if (last && d->rq2) residual_block(d, crow, mc, ccol, nc);
      }
    }
  }
}

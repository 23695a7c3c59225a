/*
 * Single-precision GEMM C (+)= A · B over general "segmented" index maps, BLIS style: B is packed
 * into KC × NR panels (or read in place, see DIRECT_NEAR), A into MR × KC panels, and an MR × NR
 * register-blocked micro-kernel does the arithmetic with f32x4 fused multiply-adds.
 *
 * Every matrix dimension is addressed through an index map
 *     offset(i) = (i / seg) * seg_stride + (i % seg) * stride      (in floats)
 * so an NCHW activation [N, C, P] reads as a [C, N·P] matrix (columns: seg = P, seg_stride = C·P,
 * stride = 1) and one GEMM covers the whole batch, transposes are plain stride swaps, and C is
 * scattered straight into its final layout.
 */
#include "affine.h"
#include "common.h"
#include "kernels.h"

#ifndef MR
#define MR 6
#endif
#ifndef NV
#define NV 2
#endif
#define NR (4 * NV)
#define KC 256
#define MC 96
#define NC 1024
/*
 * B is read in place, not packed, where its rows step by one stride and a tile's two groups of four columns are
 * runs: when the stride is at most DIRECT_NEAR floats (2×2 NCHW planes), or the block has at most DIRECT_ROWS
 * rows and the stride is at most DIRECT_STRIDE floats (packing then costs more than the few row tiles that
 * reuse the panel save; wider strides miss the TLB). One thread, NCHW B with its epilogue: 16 rows, k = 32 on
 * 16×16 planes 17.3 → 19.5 GMAC/s; 24 rows, k = 96 on 8×8 25.2 → 28.2; 64 rows, k = 192 on 2×2 25.2 → 30.5;
 * 96 rows, k = 384 on 2×2 27 → 31; shapes that keep packing unchanged.
 */
#define DIRECT_NEAR 4
#define DIRECT_ROWS 64
#define DIRECT_STRIDE 1024
_Static_assert(MC % MR == 0, "MC must be a multiple of MR");
_Static_assert(MR >= 4, "pack_a transposes four rows at a time");


static inline int dmap_off(const dmap *d, int i) {
  return (i / d->seg) * d->seg_stride + (i % d->seg) * d->stride;
}

static inline int is_run(const int *off, int count) {
  for (int j = 1; j < count; j++)
    if (off[j] != off[0] + j) return 0;
  return 1;
}

/* Scratch floats one thread needs for gemm_run. */
int EXPORT(gemm_scratch_floats)(void) {
  return MC * KC + KC * NC + MR * NR + 2 * NC + 2 * MC + 2 * KC + 16;
}

/* Whether the offsets off[0..4) are consecutive. */
static inline int run4(const int *off) { return off[1] == off[0] + 1 && off[2] == off[0] + 2 && off[3] == off[0] + 3; }

/* Whether a tile of nr columns at B offsets bcol[0..nr) is read in place: a full tile, two runs of four. */
static inline int tile_in_place(const int *bcol, int nr) { return nr == NR && run4(bcol) && run4(bcol + 4); }

/* Whether the offsets off[0..8) are a constant stride of at least MR apart (so a column's MR rows never overlap the next's). */
static inline int strided8(const int *off) {
  const int st = off[1] - off[0];
  if (st < MR) return 0;
  for (int j = 2; j < 8; j++)
    if (off[j] - off[j - 1] != st) return 0;
  return 1;
}

/* Bp[panel][k][0..NR) = B(brow[k], bcol[panel*NR + j]), zero past nc. */
static void pack_b(const float *b, const int *brow, const int *bcol, int kc, int nc, float *bp) {
  for (int jr = 0; jr < nc; jr += NR) {
    int nr = nc - jr < NR ? nc - jr : NR;
    const int *cols = bcol + jr;
    if (nr == NR && is_run(cols, NR)) {
      const float *src = b + cols[0];
      for (int k = 0; k < kc; k++) {
        const float *s = src + brow[k];
#pragma clang loop unroll(full)
        for (int v = 0; v < NV; v++) wasm_v128_store(bp + 4 * v, wasm_v128_load(s + 4 * v));
        bp += NR;
      }
      continue;
    }
    int k = 0;
    if (nr == NR) {
      /* columns scattered but each column contiguous along k: 4 × 4 transposes */
      for (; k + 4 <= kc && run4(brow + k); k += 4) {
        const float *s = b + brow[k];
#pragma clang loop unroll(full)
        for (int v = 0; v < NV; v++) {
          const int *q = cols + 4 * v;
          transpose4_store(wasm_v128_load(s + q[0]), wasm_v128_load(s + q[1]), wasm_v128_load(s + q[2]),
                           wasm_v128_load(s + q[3]), bp + 4 * v, NR);
        }
        bp += 4 * NR;
      }
    }
    for (; k < kc; k++) {
      const float *s = b + brow[k];
      for (int j = 0; j < nr; j++) bp[j] = s[cols[j]];
      for (int j = nr; j < NR; j++) bp[j] = 0.0f;
      bp += NR;
    }
  }
}

/* Ap[panel][k][0..MR) = A(arow[panel*MR + i], acol[k]), zero past mc. */
static void pack_a(const float *a, const int *arow, const int *acol, int mc, int kc, float *ap) {
  for (int ir = 0; ir < mc; ir += MR) {
    int mr = mc - ir < MR ? mc - ir : MR;
    const int *rows = arow + ir;
    int k = 0;
    if (mr == MR) {
      /* rows contiguous along k: 4 × 4 transposes for the first four rows */
      for (; k + 4 <= kc && run4(acol + k); k += 4) {
        const float *s = a + acol[k];
        transpose4_store(wasm_v128_load(s + rows[0]), wasm_v128_load(s + rows[1]), wasm_v128_load(s + rows[2]),
                         wasm_v128_load(s + rows[3]), ap, MR);
#pragma clang loop unroll(full)
        for (int i = 4; i < MR; i++)
#pragma clang loop unroll(full)
          for (int q = 0; q < 4; q++) ap[q * MR + i] = s[rows[i] + q];
        ap += 4 * MR;
      }
      for (; k < kc; k++) {
        const float *s = a + acol[k];
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) ap[i] = s[rows[i]];
        ap += MR;
      }
    } else {
      for (; k < kc; k++) {
        const float *s = a + acol[k];
        for (int i = 0; i < mr; i++) ap[i] = s[rows[i]];
        for (int i = mr; i < MR; i++) ap[i] = 0.0f;
        ap += MR;
      }
    }
  }
}

/*
 * How a tile's NR columns of C lie (and so how its sums are loaded and stored): COLS_RUNS, each group of four
 * columns a run (one run of eight, or the NCHW columns of 2×2 planes) — one vector per row and group;
 * COLS_STRIDED, columns a constant stride apart with the tile's MR rows consecutive (the NCHW columns of 1×1
 * planes: one image per column) — each column's rows as a transposed vector and a half vector; COLS_ANY,
 * element by element.
 */
#define COLS_ANY 0
#define COLS_RUNS 1
#define COLS_STRIDED 2

/* A COLS_STRIDED tile at p (its first row): t[i][v] holds row i, columns 4v..4v+3. */
static inline void load_strided(const float *p, const int *ccol, v128_t t[MR][NV]) {
  _Static_assert(MR == 6 && NV == 2, "four rows transposed, two as half vectors; two groups of columns");
#pragma clang loop unroll(full)
  for (int v = 0; v < NV; v++) {
    const int *q = ccol + 4 * v;
    /* column j's rows 0..3 are one vector at q[j]; transposed, they are rows 0..3 of the four columns */
    v128_t rows[4];
    transpose4v(wasm_v128_load(p + q[0]), wasm_v128_load(p + q[1]), wasm_v128_load(p + q[2]),
                wasm_v128_load(p + q[3]), rows);
#pragma clang loop unroll(full)
    for (int i = 0; i < 4; i++) t[i][v] = rows[i];
    /* rows 4 and 5 of columns 0, 1 and of columns 2, 3 (two floats per column), then split by row */
    const v128_t h01 = wasm_i64x2_shuffle(wasm_v128_load64_zero(p + q[0] + 4), wasm_v128_load64_zero(p + q[1] + 4), 0, 2);
    const v128_t h23 = wasm_i64x2_shuffle(wasm_v128_load64_zero(p + q[2] + 4), wasm_v128_load64_zero(p + q[3] + 4), 0, 2);
    t[4][v] = wasm_i32x4_shuffle(h01, h23, 0, 2, 4, 6);
    t[5][v] = wasm_i32x4_shuffle(h01, h23, 1, 3, 5, 7);
  }
}

/* Stores a COLS_STRIDED tile t (as load_strided lays it out) at p (its first row). */
static inline void store_strided(float *p, const int *ccol, v128_t t[MR][NV]) {
#pragma clang loop unroll(full)
  for (int v = 0; v < NV; v++) {
    const int *q = ccol + 4 * v;
    v128_t cols[4];
    transpose4v(t[0][v], t[1][v], t[2][v], t[3][v], cols);
    const v128_t h01 = wasm_i32x4_shuffle(t[4][v], t[5][v], 0, 4, 1, 5), h23 = wasm_i32x4_shuffle(t[4][v], t[5][v], 2, 6, 3, 7);
#pragma clang loop unroll(full)
    for (int j = 0; j < 4; j++) wasm_v128_store(p + q[j], cols[j]);
    wasm_v128_store64_lane(p + q[0] + 4, h01, 0);
    wasm_v128_store64_lane(p + q[1] + 4, h01, 1);
    wasm_v128_store64_lane(p + q[2] + 4, h23, 0);
    wasm_v128_store64_lane(p + q[3] + 4, h23, 1);
  }
}

/* Row i's group v of a tile at element offsets crow[i] + ccol[..] of p, by the columns' mode (nr columns). */
static inline v128_t load_group(const float *p, const int *crow, const int *ccol, int i, int v, int nr, int runs) {
  const int j0 = 4 * v;
  if (runs) return wasm_v128_load(p + crow[i] + ccol[j0]);
  const float *q = p + crow[i];
  return wasm_f32x4_make(j0 < nr ? q[ccol[j0]] : 0.0f, j0 + 1 < nr ? q[ccol[j0 + 1]] : 0.0f,
                         j0 + 2 < nr ? q[ccol[j0 + 2]] : 0.0f, j0 + 3 < nr ? q[ccol[j0 + 3]] : 0.0f);
}

/* acc += the tile of p laid out as C's tile is (columns as `cm` says): one float32 add per value, acc first. */
static inline __attribute__((always_inline)) void add_tile(v128_t acc[MR][NV], const float *p, const int *crow,
                                                           const int *ccol, int mr, int nr, int cm) {
  if (cm == COLS_STRIDED) {
    v128_t e[MR][NV];
    load_strided(p + crow[0], ccol, e);
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++)
#pragma clang loop unroll(full)
      for (int v = 0; v < NV; v++) acc[i][v] = wasm_f32x4_add(acc[i][v], e[i][v]);
    return;
  }
#pragma clang loop unroll(full)
  for (int i = 0; i < MR; i++)
    if (i < mr)
#pragma clang loop unroll(full)
      for (int v = 0; v < NV; v++)
        acc[i][v] = wasm_f32x4_add(acc[i][v], load_group(p, crow, ccol, i, v, nr, cm == COLS_RUNS));
}

/*
 * One MR × NR tile of C from A's packed panel and B's columns at bp (its second group of four b1 floats on, the
 * rows bstride apart: a packed panel's 4 and NR, or B itself), its columns as `cm` says (COLS_*; COLS_STRIDED only
 * for a full tile of rows). The sums are made in registers, then (C's values added when accumulating) finished by
 * the epilogue and the residual, and stored; every value gets the same float32 operations in the same order whatever the
 * layout. Only the first fma_rows rows' sums are made (MR, or mr where the call has it as a constant); the others stay
 * zero.
 */
static inline __attribute__((always_inline)) void micro_kernel(int kc, const float *restrict ap, const float *bp,
                                                                int b1, int bstride, float *c, const int *crow,
                                                                const int *ccol, int mr, int nr, int cm,
                                                                int accumulate, float *tile, const affine_ep *ep,
                                                                int row0, int fma_rows) {
  _Static_assert(NV == 2, "B's two groups of four columns: at bp and bp + b1");
  v128_t acc[MR][NV];
#pragma clang loop unroll(full)
  for (int i = 0; i < MR; i++)
#pragma clang loop unroll(full)
    for (int v = 0; v < NV; v++) acc[i][v] = wasm_f32x4_splat(0.0f);
#pragma clang loop unroll_count(2) /* halves the loop's own overhead in V8 (its back edge checks for interrupts) */
  for (int k = 0; k < kc; k++) {
    const v128_t bv[NV] = {wasm_v128_load(bp), wasm_v128_load(bp + b1)};
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
      if (i < fma_rows) {
        v128_t av = wasm_v128_load32_splat(ap + i);
#pragma clang loop unroll(full)
        for (int v = 0; v < NV; v++) acc[i][v] = FMA(av, bv[v], acc[i][v]);
      }
    }
    ap += MR;
    bp += bstride;
  }
  const int runs = cm == COLS_RUNS, strided = cm == COLS_STRIDED;
  if (accumulate) add_tile(acc, c, crow, ccol, mr, nr, cm);
  if (ep) {
    /* the last k panel of an inference convolution: the epilogue, then the skip connection's float32 add */
    const clamp_v cl = clamp_of(ep->clamp);
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
      if (i < mr) {
        const v128_t s = wasm_v128_load32_splat(ep->scale + row0 + i), t = wasm_v128_load32_splat(ep->shift + row0 + i);
#pragma clang loop unroll(full)
        for (int v = 0; v < NV; v++) acc[i][v] = affine4(acc[i][v], s, t, cl);
      }
    }
    if (ep->res) add_tile(acc, c + ep->res, crow, ccol, mr, nr, cm);
  }
  if (strided) {
    store_strided(c + crow[0], ccol, acc);
    return;
  }
  if (runs) {
    float *c0 = c + ccol[0], *c1 = c + ccol[4];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
      if (i < mr) {
        wasm_v128_store(c0 + crow[i], acc[i][0]);
        wasm_v128_store(c1 + crow[i], acc[i][1]);
      }
    }
    return;
  }
#pragma clang loop unroll(full)
  for (int i = 0; i < MR; i++)
#pragma clang loop unroll(full)
    for (int v = 0; v < NV; v++) wasm_v128_store(tile + i * NR + 4 * v, acc[i][v]);
  for (int i = 0; i < mr; i++) {
    float *cr = c + crow[i];
    const float *t = tile + i * NR;
    for (int j = 0; j < nr; j++) cr[ccol[j]] = t[j];
  }
}

/*
 * A tile of `rows` rows whose columns lie as `cm` says, with the epilogue and no accumulation, B in place or
 * packed: its own copy of the micro-kernel, with no branch on the row count, the layout or the epilogue.
 */
#define FAST_TILE(cm, rows)                                                                                    \
  do {                                                                                                         \
    if (direct)                                                                                                \
      micro_kernel(kc, apanel + ir * kc, d->b + brow[0] + bcol[jr], bcol[jr + 4] - bcol[jr], bstride, d->c,       \
                   crow + ir, cc, rows, NR, cm, 0, tile, tep, ic + ir, rows);                                  \
    else                                                                                                       \
      micro_kernel(kc, apanel + ir * kc, bp + jr * kc, 4, NR, d->c, crow + ir, cc, rows, NR, cm, 0, tile, tep,    \
                   ic + ir, rows);                                                                             \
  } while (0)

/* Floats of a row-major m × k matrix packed by gemm_pack_rows. */
int EXPORT(gemm_packed_floats)(int m, int k) { return (m + MR - 1) / MR * MR * k; }

/*
 * Packs a row-major m × k matrix `a` as gemm_run reads A's panels (gemm_desc.packed_a), for every GEMM that has it
 * as A: for each block of KC columns (pc), MR-row panels of its rows, each [k][MR] (zero past m), at
 * out + pc · m_pad + first row · kc.
 */
void EXPORT(gemm_pack_rows)(const float *a, int m, int k, float *out) {
  const int m_pad = (m + MR - 1) / MR * MR;
  for (int pc = 0; pc < k; pc += KC) {
    const int kc = k - pc < KC ? k - pc : KC;
    float *block = out + (long)pc * m_pad;
    for (int i0 = 0; i0 < m_pad; i0 += MR)
      for (int kk = 0; kk < kc; kk++)
        for (int i = 0; i < MR; i++)
          block[(long)i0 * kc + kk * MR + i] = i0 + i < m ? a[(long)(i0 + i) * k + pc + kk] : 0.0f;
  }
}

/*
 * Computes the block [m0, m1) × [n0, n1) of C = A · B (or C += A · B when d->accumulate), using
 * `scratch` (gemm_scratch_floats() floats, 16-byte aligned) as packing space.
 */
void EXPORT(gemm_run)(const gemm_desc *d, int m0, int m1, int n0, int n1, float *scratch) {
  float *ap = scratch;
  float *bp = ap + MC * KC;
  float *tile = bp + KC * NC;
  int *bcol = (int *)(tile + MR * NR);
  int *ccol = bcol + NC;
  int *arow = ccol + NC;
  int *crow = arow + MC;
  int *acol = crow + MC;
  int *brow = acol + KC;
  const int k_all = d->k, m_pad = (d->m + MR - 1) / MR * MR;
  /* the packed panels start every MR rows */
  const int prepacked = d->packed_a && m0 % MR == 0;
  for (int jc = n0; jc < n1; jc += NC) {
    int nc = n1 - jc < NC ? n1 - jc : NC;
    for (int j = 0; j < nc; j++) {
      bcol[j] = dmap_off(&d->b_col, jc + j);
      ccol[j] = dmap_off(&d->c_col, jc + j);
    }
    if (k_all == 0 && !d->accumulate) {
      for (int i = m0; i < m1; i++) {
        float *cr = d->c + dmap_off(&d->c_row, i);
        for (int j = 0; j < nc; j++) cr[ccol[j]] = 0.0f;
      }
    }
    for (int pc = 0; pc < k_all; pc += KC) {
      int kc = k_all - pc < KC ? k_all - pc : KC;
      for (int k = 0; k < kc; k++) {
        brow[k] = dmap_off(&d->b_row, pc + k);
        acol[k] = dmap_off(&d->a_col, pc + k);
      }
      /*
       * Where B's rows step by one stride over the block (NCHW planes, im2col's rows), a full tile whose two groups
       * of four columns are runs is read in place; only the other tiles are packed.
       */
      const int bstride = kc > 1 ? brow[1] - brow[0] : 0;
      int in_place = bstride >= 0 && (bstride <= DIRECT_NEAR || (m1 - m0 <= DIRECT_ROWS && bstride <= DIRECT_STRIDE));
      for (int k = 2; k < kc && in_place; k++) in_place = brow[k] - brow[k - 1] == bstride;
      if (!in_place) {
        pack_b(d->b, brow, bcol, kc, nc, bp);
      } else {
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = nc - jr < NR ? nc - jr : NR;
          if (!tile_in_place(bcol + jr, nr)) pack_b(d->b, brow, bcol + jr, kc, nr, bp + jr * kc);
        }
      }
      int accumulate = d->accumulate || pc > 0;
      for (int ic = m0; ic < m1; ic += MC) {
        int mc = m1 - ic < MC ? m1 - ic : MC;
        for (int i = 0; i < mc; i++) {
          arow[i] = dmap_off(&d->a_row, ic + i);
          crow[i] = dmap_off(&d->c_row, ic + i);
        }
        /* A's panels for rows [ic, ic + mc): packed once for all calls (gemm_pack_rows), or here */
        const float *apanel = prepacked ? d->packed_a + (long)pc * m_pad + (long)ic * kc : ap;
        if (!prepacked) pack_a(d->a, arow, acol, mc, kc, ap);
        for (int jr = 0; jr < nc; jr += NR) {
          int nr = nc - jr < NR ? nc - jr : NR;
          const int *cc = ccol + jr;
          const int cm = nr == NR && run4(cc) && run4(cc + 4) ? COLS_RUNS : nr == NR && strided8(cc) ? COLS_STRIDED : COLS_ANY;
          const int direct = in_place && tile_in_place(bcol + jr, nr);
          for (int ir = 0; ir < mc; ir += MR) {
            int mr = mc - ir < MR ? mc - ir : MR;
            const int rows_run = mr == MR && is_run(crow + ir, MR);
            const int tcm = cm == COLS_STRIDED && !rows_run ? COLS_ANY : cm;
            const affine_ep *tep = pc + kc == k_all ? d->ep : 0;
            if (!accumulate && tep && tcm != COLS_ANY && (mr == MR || mr == 4 || mr == 2)) {
              /*
               * The common tiles of an inference convolution, each with its layout and row count as constants: 3 %
               * less time over MobileNetV2's GEMMs (one thread), 5 % on 16 or 32 rows (a tile of 4 or 2 rows makes
               * only those sums).
               */
              if (tcm == COLS_STRIDED)
                FAST_TILE(COLS_STRIDED, MR);
              else if (mr == MR)
                FAST_TILE(COLS_RUNS, MR);
              else if (mr == 4)
                FAST_TILE(COLS_RUNS, 4);
              else
                FAST_TILE(COLS_RUNS, 2);
            } else if (direct) {
              /* two calls, so that the packed panels' constant offsets stay constants in their copy */
              micro_kernel(kc, apanel + ir * kc, d->b + brow[0] + bcol[jr], bcol[jr + 4] - bcol[jr], bstride, d->c,
                           crow + ir, cc, mr, nr, tcm, accumulate, tile, tep, ic + ir, MR);
            } else {
              micro_kernel(kc, apanel + ir * kc, bp + jr * kc, 4, NR, d->c, crow + ir, cc, mr, nr, tcm, accumulate, tile, tep,
                           ic + ir, MR);
            }
          }
        }
      }
    }
  }
}

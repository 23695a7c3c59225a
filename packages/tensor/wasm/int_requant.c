/*
 * Exact requantization of int32 accumulators to int8 / int16 (SPEC.md "Integer operators"):
 * y = clamp(floor((acc · M + 2^(n-1)) / 2^n), lo, hi[c]) per channel c, with acc · M formed exactly in
 * int64 (|acc · M| < 2^53), the rounding constant added and an arithmetic right shift by n (a floor);
 * n = 0 leaves acc · M. The int64 value is clamped to the int32 range before it is narrowed, and the
 * narrowing saturates, so the clamp to [lo, hi] sees the exact value wherever it matters.
 */
#include "common.h"
#include "requant.h"

/* Accumulators [outer, channels, inner] (NCHW) and their per-channel parameters, as TypeScript writes them. */
typedef struct {
  int outer, channels, inner;
  const int *acc;
  const int *mult;  /* M per channel */
  const int *shift; /* n per channel */
  const int *hi;    /* upper clamp per channel */
  int lo;           /* lower clamp */
  void *out;
  int out_bytes; /* 1: int8, 2: int16 */
  /*
   * One shift S for every channel with the multipliers M · 2^(S - n) (each below 2^31), or S = -1: the
   * same integers (numerator and divisor scaled by one power of two), for vectors across channels.
   */
  int uniform_shift;
  const int *uniform_mult;
  int fits32; /* 1 when every M ≤ 2^n: then |y| ≤ 2^31 and y already fits int32 */
  int narrow;  /* 1 when every M < 2^15 and 16 ≤ n ≤ 31: requant4_32 applies */
} requant_desc;

/* Rows [r0, r1) with one accumulator per channel (inner 1): vectors across channels, one shift. */
static void requant_channels(const requant_desc *d, int r0, int r1) {
  const int C = d->channels, S = d->uniform_shift, bytes = d->out_bytes, fits = d->fits32;
  const v128_t i32min = wasm_i64x2_splat(-2147483648LL), i32max = wasm_i64x2_splat(2147483647LL);
  const v128_t round = wasm_i64x2_splat(S == 0 ? 0 : 1LL << (S - 1)), lo = wasm_i16x8_splat(d->lo);
  int r = r0;
  while (r < r1) {
    const int c = r % C, run = (C - c < r1 - r) ? C - c : r1 - r;
    int j = 0;
    for (; j + 4 <= run; j += 4) {
      const v128_t m = wasm_v128_load(d->uniform_mult + c + j);
      const v128_t hi = wasm_i16x8_narrow_i32x4(wasm_v128_load(d->hi + c + j), wasm_i32x4_splat(0));
      const v128_t q = requant4(wasm_v128_load(d->acc + r + j), m, S, round, i32min, i32max, fits);
      store4(q, lo, wasm_i16x8_shuffle(hi, hi, 0, 1, 2, 3, 0, 1, 2, 3), (char *)d->out + (long)(r + j) * bytes,
             bytes);
    }
    for (; j < run; j++) {
      const int cc = c + j;
      const int y = clamp_scalar(requant1(d->acc[r + j], d->mult[cc], d->shift[cc]), d->lo, d->hi[cc]);
      if (bytes == 1) {
        ((signed char *)d->out)[r + j] = (signed char)y;
      } else {
        ((short *)d->out)[r + j] = (short)y;
      }
    }
    r += run;
  }
}

/* Rows [r0, r1), each one channel's `inner` accumulators. */
static inline __attribute__((always_inline)) void requant_rows(const requant_desc *d, int r0, int r1, int fits) {
  const int inner = d->inner;
  const v128_t i32min = wasm_i64x2_splat(-2147483648LL), i32max = wasm_i64x2_splat(2147483647LL);
  for (int r = r0, c = r0 % d->channels; r < r1; r++, c = c + 1 == d->channels ? 0 : c + 1) {
    const int m = d->mult[c], n = d->shift[c], lo = d->lo, hi = d->hi[c];
    const int *acc = d->acc + (long)r * inner;
    const v128_t mv = wasm_i32x4_splat(m), round = wasm_i64x2_splat(n == 0 ? 0 : 1LL << (n - 1));
    if (d->narrow) {
      const v128_t half = wasm_i32x4_splat((int)(1u << (n - 1)));
      int i = 0;
      if (d->out_bytes == 1) {
        signed char *o = (signed char *)d->out + (long)r * inner;
        const v128_t lov = wasm_i8x16_splat(lo), hiv = wasm_i8x16_splat(hi);
        for (; i + 16 <= inner; i += 16) {
          const v128_t q0 = requant4_32(wasm_v128_load(acc + i), mv, n, half);
          const v128_t q1 = requant4_32(wasm_v128_load(acc + i + 4), mv, n, half);
          const v128_t q2 = requant4_32(wasm_v128_load(acc + i + 8), mv, n, half);
          const v128_t q3 = requant4_32(wasm_v128_load(acc + i + 12), mv, n, half);
          const v128_t s = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q0, q1), wasm_i16x8_narrow_i32x4(q2, q3));
          wasm_v128_store(o + i, wasm_i8x16_min(wasm_i8x16_max(s, lov), hiv));
        }
        for (; i + 4 <= inner; i += 4)
          store4(requant4_32(wasm_v128_load(acc + i), mv, n, half), wasm_i16x8_splat(lo), wasm_i16x8_splat(hi), o + i, 1);
        for (; i < inner; i++) o[i] = (signed char)clamp_scalar(requant1(acc[i], m, n), lo, hi);
      } else {
        short *o = (short *)d->out + (long)r * inner;
        const v128_t lov = wasm_i16x8_splat(lo), hiv = wasm_i16x8_splat(hi);
        for (; i + 8 <= inner; i += 8) {
          const v128_t q0 = requant4_32(wasm_v128_load(acc + i), mv, n, half);
          const v128_t q1 = requant4_32(wasm_v128_load(acc + i + 4), mv, n, half);
          wasm_v128_store(o + i, wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(q0, q1), lov), hiv));
        }
        for (; i + 4 <= inner; i += 4) store4(requant4_32(wasm_v128_load(acc + i), mv, n, half), lov, hiv, o + i, 2);
        for (; i < inner; i++) o[i] = (short)clamp_scalar(requant1(acc[i], m, n), lo, hi);
      }
      continue;
    }
    int i = 0;
    if (d->out_bytes == 1) {
      signed char *o = (signed char *)d->out + (long)r * inner;
      const v128_t lov = wasm_i8x16_splat(lo), hiv = wasm_i8x16_splat(hi);
      for (; i + 16 <= inner; i += 16) {
        const v128_t q0 = requant4(wasm_v128_load(acc + i), mv, n, round, i32min, i32max, fits);
        const v128_t q1 = requant4(wasm_v128_load(acc + i + 4), mv, n, round, i32min, i32max, fits);
        const v128_t q2 = requant4(wasm_v128_load(acc + i + 8), mv, n, round, i32min, i32max, fits);
        const v128_t q3 = requant4(wasm_v128_load(acc + i + 12), mv, n, round, i32min, i32max, fits);
        const v128_t s = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q0, q1), wasm_i16x8_narrow_i32x4(q2, q3));
        wasm_v128_store(o + i, wasm_i8x16_min(wasm_i8x16_max(s, lov), hiv));
      }
      for (; i + 4 <= inner; i += 4)
        store4(requant4(wasm_v128_load(acc + i), mv, n, round, i32min, i32max, fits), wasm_i16x8_splat(lo),
               wasm_i16x8_splat(hi), o + i, 1);
      for (; i < inner; i++) o[i] = (signed char)clamp_scalar(requant1(acc[i], m, n), lo, hi);
    } else {
      short *o = (short *)d->out + (long)r * inner;
      const v128_t lov = wasm_i16x8_splat(lo), hiv = wasm_i16x8_splat(hi);
      for (; i + 8 <= inner; i += 8) {
        const v128_t q0 = requant4(wasm_v128_load(acc + i), mv, n, round, i32min, i32max, fits);
        const v128_t q1 = requant4(wasm_v128_load(acc + i + 4), mv, n, round, i32min, i32max, fits);
        wasm_v128_store(o + i, wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(q0, q1), lov), hiv));
      }
      for (; i + 4 <= inner; i += 4)
        store4(requant4(wasm_v128_load(acc + i), mv, n, round, i32min, i32max, fits), lov, hiv, o + i, 2);
      for (; i < inner; i++) o[i] = (short)clamp_scalar(requant1(acc[i], m, n), lo, hi);
    }
  }
}

/* Rows [r0, r1) of the [outer · channels, inner] accumulator matrix. */
void EXPORT(int_requant_run)(const requant_desc *d, int r0, int r1) {
  if (d->inner == 1 && d->uniform_shift >= 0) {
    requant_channels(d, r0, r1);
  } else if (d->fits32) {
    requant_rows(d, r0, r1, 1);
  } else {
    requant_rows(d, r0, r1, 0);
  }
}

/* SPEC's add of two int8/int16 operands of one shape, requantized: the shifted operand · 2^k + the other · t. */
typedef struct {
  int count;
  const void *x; /* the shifted operand */
  int x_bytes;
  const void *y; /* the other operand */
  int y_bytes;
  int k, t;
  int mult, shift, lo, hi, fits32; /* one requantization for the whole tensor */
  void *out;
  int out_bytes;
} add_desc;

/* Four consecutive elements as int32 lanes. */
static inline v128_t load4_i32(const void *p, int bytes, int i) {
  return bytes == 1 ? wasm_i32x4_extend_low_i16x8(wasm_i16x8_extend_low_i8x16(wasm_v128_load32_zero((const signed char *)p + i)))
                    : wasm_i32x4_extend_low_i16x8(wasm_v128_load64_zero((const short *)p + i));
}

static inline int elem_at(const void *p, int bytes, int i) {
  return bytes == 1 ? ((const signed char *)p)[i] : ((const short *)p)[i];
}

/* Elements [i0, i1): |x · 2^k| < 2^31 and |y · t| < 2^31 - 2^30 by SPEC's limits, so the int32 sum is exact. */
void EXPORT(int_add_requant_run)(const add_desc *d, int i0, int i1) {
  const v128_t mv = wasm_i32x4_splat(d->mult), round = wasm_i64x2_splat(d->shift == 0 ? 0 : 1LL << (d->shift - 1));
  const v128_t i32min = wasm_i64x2_splat(-2147483648LL), i32max = wasm_i64x2_splat(2147483647LL);
  const v128_t tv = wasm_i32x4_splat(d->t), lov = wasm_i16x8_splat(d->lo), hiv = wasm_i16x8_splat(d->hi);
  const int n = d->shift;
  int i = i0;
  for (; i + 4 <= i1; i += 4) {
    const v128_t s = wasm_i32x4_add(wasm_i32x4_shl(load4_i32(d->x, d->x_bytes, i), d->k),
                                    wasm_i32x4_mul(load4_i32(d->y, d->y_bytes, i), tv));
    const v128_t q = d->fits32 ? requant4(s, mv, n, round, i32min, i32max, 1) : requant4(s, mv, n, round, i32min, i32max, 0);
    store4(q, lov, hiv, (char *)d->out + (long)i * d->out_bytes, d->out_bytes);
  }
  for (; i < i1; i++) {
    const int s = elem_at(d->x, d->x_bytes, i) * (1 << d->k) + elem_at(d->y, d->y_bytes, i) * d->t;
    const int v = clamp_scalar(requant1(s, d->mult, n), d->lo, d->hi);
    if (d->out_bytes == 1) {
      ((signed char *)d->out)[i] = (signed char)v;
    } else {
      ((short *)d->out)[i] = (short)v;
    }
  }
}

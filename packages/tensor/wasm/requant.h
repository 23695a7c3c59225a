/*
 * The requantization rule of SPEC.md on int32 lanes, shared by the requantizing kernels:
 * y = clamp(floor((acc · M + 2^(n-1)) / 2^n), lo, hi), exact.
 */
#ifndef HQAT_REQUANT_H
#define HQAT_REQUANT_H

#include "common.h"

/*
 * i32x4.shr_s of `v` by `k`, written as the instruction itself. clang 14 hoists the splat of a loop-invariant
 * count out of the loop, and its WebAssembly backend then shifts lane by lane (extract, scalar shift, replace)
 * instead of emitting the one instruction, which takes the count as a scalar.
 */
static inline v128_t shr_i32x4(v128_t v, int k) {
  v128_t r;
  __asm__("local.get %1\n\tlocal.get %2\n\ti32x4.shr_s\n\tlocal.set %0" : "=r"(r) : "r"(v), "r"(k));
  return r;
}

/*
 * The same rule in 32-bit lanes for M < 2^15 and 16 ≤ n ≤ 31: with acc = ah · 2^16 + al (al in [0, 2^16)),
 * floor((acc · M + 2^(n-1)) / 2^n) = (ah · M + ((al · M + 2^(n-1)) >> 16)) >> (n - 16), every step exact
 * (al · M + 2^(n-1) < 2^32 unsigned, |ah · M| < 2^30) — floors nest for a power-of-two divisor.
 */
static inline v128_t requant4_32(v128_t acc, v128_t m, int n, v128_t half) {
  const v128_t al = wasm_v128_and(acc, wasm_i32x4_splat(0xffff)), ah = wasm_i32x4_shr(acc, 16);
  const v128_t lo = wasm_u32x4_shr(wasm_i32x4_add(wasm_i32x4_mul(al, m), half), 16);
  return shr_i32x4(wasm_i32x4_add(wasm_i32x4_mul(ah, m), lo), n - 16);
}

static inline long long requant1(int acc, int m, int n) {
  const long long p = (long long)acc * m;
  return n == 0 ? p : (p + (1LL << (n - 1))) >> n;
}

static inline int clamp_scalar(long long y, int lo, int hi) { return y < lo ? lo : y > hi ? hi : (int)y; }

/*
 * Four accumulators requantized and clamped to the int32 range, as int32 lanes. With `fits` (every M ≤ 2^n)
 * the results lie in [-2^31, 2^31) already: |acc · M / 2^n| ≤ 2^31, and the floor of the largest stays below.
 */
static inline __attribute__((always_inline)) v128_t requant4(v128_t acc, v128_t m, int n, v128_t round,
                                                             v128_t i32min, v128_t i32max, int fits) {
  v128_t a = wasm_i64x2_extmul_low_i32x4(acc, m), b = wasm_i64x2_extmul_high_i32x4(acc, m);
  a = wasm_i64x2_shr(wasm_i64x2_add(a, round), n);
  b = wasm_i64x2_shr(wasm_i64x2_add(b, round), n);
  if (fits) return wasm_i32x4_shuffle(a, b, 0, 2, 4, 6);
  a = wasm_v128_bitselect(i32max, a, wasm_i64x2_gt(a, i32max));
  a = wasm_v128_bitselect(i32min, a, wasm_i64x2_lt(a, i32min));
  b = wasm_v128_bitselect(i32max, b, wasm_i64x2_gt(b, i32max));
  b = wasm_v128_bitselect(i32min, b, wasm_i64x2_lt(b, i32min));
  return wasm_i32x4_shuffle(a, b, 0, 2, 4, 6);
}

/* Four requantized lanes narrowed (saturating) and clamped to [lo, hi], stored as int8 or int16. */
static inline void store4(v128_t q, v128_t lo, v128_t hi, void *out, int bytes) {
  const v128_t s16 = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(q, q), lo), hi);
  if (bytes == 1) {
    wasm_v128_store32_lane(out, wasm_i8x16_narrow_i16x8(s16, s16), 0);
  } else {
    wasm_v128_store64_lane(out, s16, 0);
  }
}

/* store4 of the first `count` (1 to 4) lanes only, at element `at` of out (the tail of a row). */
static inline void store_first(v128_t q, v128_t lo, v128_t hi, void *out, int bytes, long at, int count) {
  if (count == 4) {
    store4(q, lo, hi, (char *)out + at * bytes, bytes);
    return;
  }
  const v128_t s16 = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(q, q), lo), hi);
  for (int j = 0; j < count; j++) {
    const int v = j == 0 ? wasm_i16x8_extract_lane(s16, 0)
                  : j == 1 ? wasm_i16x8_extract_lane(s16, 1)
                           : wasm_i16x8_extract_lane(s16, 2);
    if (bytes == 1) {
      ((signed char *)out)[at + j] = (signed char)v;
    } else {
      ((short *)out)[at + j] = (short)v;
    }
  }
}

/* Whether requant4_32 applies to the multiplier M · 2^-n. */
static inline int narrow_rule(int m, int n) { return m < 32768 && n >= 16 && n <= 31; }

/* Four sums requantized by M · 2^-n as int32 lanes (before the clamp), whichever rule applies. */
static inline v128_t requant4_any(v128_t acc, int m, int n) {
  if (narrow_rule(m, n)) return requant4_32(acc, wasm_i32x4_splat(m), n, wasm_i32x4_splat((int)(1u << (n - 1))));
  return requant4(acc, wasm_i32x4_splat(m), n, wasm_i64x2_splat(n == 0 ? 0 : 1LL << (n - 1)),
                  wasm_i64x2_splat(-2147483648LL), wasm_i64x2_splat(2147483647LL), 0);
}

/*
 * requant4_32 with its last shift, by k = n - 16 in [0, 15], in constant counts: T = ah · M + lo splits into
 * T = Th · 2^16 + Tl (Tl in [0, 2^16)), and floor(T / 2^k) = Th · 2^(16-k) + (Tl · 2^(16-k)) >> 16 (logical:
 * below 2^32), with |Th · 2^(16-k)| < 2^31. `pk` is 2^(16-k) = 2^(32-n) in every lane. A shift by a variable
 * count costs several instructions in V8 every time; these counts are constants.
 */
static inline v128_t requant4_32c(v128_t acc, v128_t m, v128_t half, v128_t pk) {
  const v128_t al = wasm_v128_and(acc, wasm_i32x4_splat(0xffff)), ah = wasm_i32x4_shr(acc, 16);
  const v128_t lo = wasm_u32x4_shr(wasm_i32x4_add(wasm_i32x4_mul(al, m), half), 16);
  const v128_t t = wasm_i32x4_add(wasm_i32x4_mul(ah, m), lo);
  const v128_t th = wasm_i32x4_shr(t, 16), tl = wasm_v128_and(t, wasm_i32x4_splat(0xffff));
  return wasm_i32x4_add(wasm_i32x4_mul(th, pk), wasm_u32x4_shr(wasm_i32x4_mul(tl, pk), 16));
}

#endif

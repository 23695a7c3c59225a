/*
 * Shared definitions of the float32 kernels compiled to WebAssembly (SIMD128, shared memory).
 *
 * The kernels keep no state and use no linear-memory stack: every buffer is passed in by the caller,
 * so two threads may run them at once on one shared memory, each with its own scratch region.
 */
#ifndef HQAT_COMMON_H
#define HQAT_COMMON_H

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) name

/*
 * Fused multiply-add a * b + c on four lanes. build.sh rewrites every call of this import into the
 * relaxed-SIMD instruction f32x4.relaxed_madd, so the import never exists in the final module.
 */
__attribute__((import_module("env"), import_name("hqat_fmadd"), const)) v128_t hqat_fmadd(v128_t a, v128_t b,
                                                                                         v128_t c);
#define FMA(a, b, c) hqat_fmadd((a), (b), (c))

/*
 * Relaxed dot product with accumulation: c + the sums of four products of a's signed bytes and b's bytes,
 * per int32 lane; exact when every byte of b is in [0, 127]. build.sh rewrites every call of this import
 * into i32x4.relaxed_dot_i8x16_i7x16_add_s.
 */
__attribute__((import_module("env"), import_name("hqat_dot_i8i7_add"), const)) v128_t hqat_dot_i8i7_add(v128_t a,
                                                                                                      v128_t b,
                                                                                                      v128_t c);
#define DOT_I8_I7_ADD(a, b, c) hqat_dot_i8i7_add((a), (b), (c))

/* Sizes of one convolution (NCHW input, weight [co, c / groups, kh, kw]), as the TypeScript side writes them. */
typedef struct {
  int n, c, h, w;  /* input */
  int co, kh, kw;  /* weight [co, c / groups, kh, kw] */
  int ho, wo;      /* output */
  int sh, sw, ph, pw, dh, dw;
  int groups;
} conv_geo;

/* The transpose of the 4 × 4 block of 32-bit lanes with rows r0..r3: column q's four rows in out[q]. */
static inline __attribute__((always_inline)) void transpose4v(v128_t r0, v128_t r1, v128_t r2, v128_t r3,
                                                             v128_t out[4]) {
  const v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);
  const v128_t t2 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
  out[0] = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
  out[1] = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
  out[2] = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
  out[3] = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}

/* Stores the transpose of that block: row q of the result at d + q * pitch (pitch in 4-byte elements). */
static inline __attribute__((always_inline)) void transpose4_store(v128_t r0, v128_t r1, v128_t r2, v128_t r3,
                                                                  void *d, int pitch) {
  v128_t t[4];
  transpose4v(r0, r1, r2, r3, t);
  int *p = (int *)d;
  wasm_v128_store(p, t[0]);
  wasm_v128_store(p + pitch, t[1]);
  wasm_v128_store(p + 2 * pitch, t[2]);
  wasm_v128_store(p + 3 * pitch, t[3]);
}

#endif

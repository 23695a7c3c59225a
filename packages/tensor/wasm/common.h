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

#endif

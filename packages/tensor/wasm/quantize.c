/*
 * SPEC.md's quantize of float32 values to int8 / int16 — `clamp(round_half_even(float32(x / s)), qmin, qmax)`
 * — the model input's QuantStub, on SIMD128 lanes, so that the executor's input transfer does not run
 * element by element in TypeScript. Each step is one IEEE float32 operation, as in `@hqat/qtensor`'s
 * reference: f32x4.div is the correctly rounded float32 quotient (WebAssembly keeps subnormals), and
 * f32x4.nearest rounds half to even. i32x4.trunc_sat_f32x4_s then takes the (already integral) value,
 * saturating huge ones, and the saturating narrows clamp to the type's range, which is the clamp
 * of SPEC.md since qmin/qmax are the type's bounds. A NaN quotient (refused before, by the executor's
 * input check) raises a flag so that the caller reports it through the reference instead.
 */
#include "common.h"

/* One float32 lane quantized as the vector loop does, for the tail. */
static inline int quantize1(float x, v128_t s, int qmin, int qmax, int *nan) {
  const v128_t v = wasm_f32x4_div(wasm_f32x4_splat(x), s);
  if (wasm_f32x4_extract_lane(v, 0) != wasm_f32x4_extract_lane(v, 0)) *nan = 1;
  const int q = wasm_i32x4_extract_lane(wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(v)), 0);
  return q < qmin ? qmin : q > qmax ? qmax : q;
}

/* Four quotients rounded to int32 lanes; NaN lanes are or-ed into `*nan`. */
static inline v128_t round4(const float *x, v128_t s, v128_t *nan) {
  const v128_t v = wasm_f32x4_div(wasm_v128_load(x), s);
  *nan = wasm_v128_or(*nan, wasm_f32x4_ne(v, v));
  return wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(v));
}

/*
 * out[i] = quantize(x[i], *scale) for i in [i0, i1): `bytes` 1 writes int8, 2 int16. Sets *flag to 1 when a
 * quotient was NaN (and leaves it alone otherwise). i0 must be a multiple of 16 for aligned parts; any value
 * works.
 */
void EXPORT(quantize_run)(const float *x, void *out, const float *scale, int bytes, int *flag, int i0, int i1) {
  const v128_t s = wasm_f32x4_splat(*scale);
  v128_t nan = wasm_i32x4_splat(0);
  int i = i0, tail_nan = 0;
  if (bytes == 1) {
    signed char *o = (signed char *)out;
    for (; i + 16 <= i1; i += 16) {
      const v128_t a = wasm_i16x8_narrow_i32x4(round4(x + i, s, &nan), round4(x + i + 4, s, &nan));
      const v128_t b = wasm_i16x8_narrow_i32x4(round4(x + i + 8, s, &nan), round4(x + i + 12, s, &nan));
      wasm_v128_store(o + i, wasm_i8x16_narrow_i16x8(a, b));
    }
    for (; i < i1; i++) o[i] = (signed char)quantize1(x[i], s, -128, 127, &tail_nan);
  } else {
    short *o = (short *)out;
    for (; i + 8 <= i1; i += 8) {
      wasm_v128_store(o + i, wasm_i16x8_narrow_i32x4(round4(x + i, s, &nan), round4(x + i + 4, s, &nan)));
    }
    for (; i < i1; i++) o[i] = (short)quantize1(x[i], s, -32768, 32767, &tail_nan);
  }
  if (tail_nan || wasm_v128_any_true(nan)) *flag = 1;
}

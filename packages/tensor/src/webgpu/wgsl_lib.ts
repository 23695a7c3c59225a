/**
 * WGSL functions shared by the kernels, each exact where the CPU reference is exact: 64-bit integer
 * arithmetic in 32-bit pieces (WGSL has no i64), SPEC.md's requantization, a correctly rounded float32
 * division (WGSL only promises 2.5 ULP), round-half-to-even quantization, Philox-2x32-10, wrapping
 * float-to-integer conversion and correctly rounded integer-to-float conversion.
 * @module
 */
import type { WgslFn } from "./kernel_spec.ts";

/**
 * Full 64-bit product of two u32 as vec2(lo, hi).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MUL_U32 } from "./wgsl_lib.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [MUL_U32], body: "" });
 * assert(code.includes("fn mul_u32("));
 * ```
 */
export const MUL_U32: WgslFn = {
  code: `
fn mul_u32(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let lo = a0 * b0; let m1 = a1 * b0; let m2 = a0 * b1;
  let mid = (lo >> 16u) + (m1 & 0xffffu) + (m2 & 0xffffu);
  return vec2<u32>((lo & 0xffffu) | (mid << 16u), a1 * b1 + (m1 >> 16u) + (m2 >> 16u) + (mid >> 16u));
}`,
};

/**
 * Two's-complement 64-bit functions on vec2(lo, hi): negate, add, arithmetic shift right, 2^k.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { I64 } from "./wgsl_lib.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [I64], body: "" });
 * assert(code.includes("fn sra64("));
 * ```
 */
export const I64: WgslFn = {
  code: `
fn neg64(x: vec2<u32>) -> vec2<u32> {
  let lo = ~x.x + 1u;
  return vec2<u32>(lo, ~x.y + select(0u, 1u, lo == 0u));
}
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}
fn sra64(x: vec2<u32>, n: u32) -> vec2<u32> {
  let hi = bitcast<i32>(x.y);
  if (n == 0u) { return x; }
  if (n < 32u) { return vec2<u32>((x.x >> n) | (x.y << (32u - n)), bitcast<u32>(hi >> n)); }
  return vec2<u32>(bitcast<u32>(hi >> min(n - 32u, 31u)), bitcast<u32>(hi >> 31u));
}
fn pow2_64(k: u32) -> vec2<u32> {
  if (k < 32u) { return vec2<u32>(1u << k, 0u); }
  return vec2<u32>(0u, 1u << (k - 32u));
}
fn mul_i32_u32(a: i32, m: u32) -> vec2<u32> {
  let ua = bitcast<u32>(a);
  let p = mul_u32(select(ua, 0u - ua, a < 0), m);
  return select(p, neg64(p), a < 0);
}
fn clamp64(p: vec2<u32>, lo: i32, hi: i32) -> i32 {
  let h = bitcast<i32>(p.y); let l = bitcast<i32>(p.x);
  if (h == (l >> 31u)) { return clamp(l, lo, hi); }
  return select(hi, lo, h < 0);
}`,
  deps: [MUL_U32],
};

/**
 * SPEC.md's requantization `clamp(floor((acc · M + 2^(n-1)) / 2^n), lo, hi)` with the 64-bit product
 * in 32-bit pieces; for n = 0 the result is `clamp(acc · M, lo, hi)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { REQUANT } from "./wgsl_lib.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [REQUANT], body: "" });
 * assert(code.includes("fn requant("));
 * ```
 */
export const REQUANT: WgslFn = {
  code: `
fn requant(acc: i32, m: u32, n: u32, lo: i32, hi: i32) -> i32 {
  var p = mul_i32_u32(acc, m);
  if (n > 0u) { p = sra64(add64(p, pow2_64(n - 1u)), n); }
  return clamp64(p, lo, hi);
}`,
  deps: [I64],
};

/**
 * Bit tests of float32 values (independent of how a compiler treats NaN).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { FBITS } from "./wgsl_lib.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [FBITS], body: "" });
 * assert(code.includes("fn is_nan("));
 * ```
 */
export const FBITS: WgslFn = {
  code: `
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) < 0x7f800000u; }`,
};

/**
 * `float32(x / s)` correctly rounded (round to nearest, ties to even), by integer long division of the
 * significands; WGSL's `/` only promises 2.5 ULP.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { DIV_RN } from "./wgsl_lib.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [DIV_RN], body: "" });
 * assert(code.includes("fn div_rn("));
 * ```
 */
export const DIV_RN: WgslFn = {
  code: `
fn f32_sig_exp(b: u32) -> vec2<i32> {
  let e = i32((b >> 23u) & 0xffu);
  let m = b & 0x7fffffu;
  if (e == 0) {
    let lz = countLeadingZeros(m) - 8u;
    return vec2<i32>(i32(m << lz), -149 - i32(lz));
  }
  return vec2<i32>(i32(m | 0x800000u), e - 150);
}
fn div_rn(x: f32, s: f32) -> f32 {
  let bx = bitcast<u32>(x); let bs = bitcast<u32>(s);
  let ax = bx & 0x7fffffffu; let as_ = bs & 0x7fffffffu;
  let sign = (bx ^ bs) & 0x80000000u;
  if (ax > 0x7f800000u || as_ > 0x7f800000u || (ax == as_ && (ax == 0u || ax == 0x7f800000u))) {
    let nan_bits = 0x7fc00000u; return bitcast<f32>(nan_bits);
  }
  if (ax == 0x7f800000u || as_ == 0u) { return bitcast<f32>(sign | 0x7f800000u); }
  if (ax == 0u || as_ == 0x7f800000u) { return bitcast<f32>(sign); }
  let px = f32_sig_exp(ax); let ps = f32_sig_exp(as_);
  let d = u32(ps.x);
  var r = u32(px.x);
  var q = 0u;
  if (r >= d) { q = 1u; r -= d; }
  for (var i = 0u; i < 26u; i++) {
    r = r << 1u; q = q << 1u;
    if (r >= d) { q = q | 1u; r -= d; }
  }
  let t = 31 - i32(countLeadingZeros(q));
  let e = px.y - ps.y - 26;
  let lead = t + e;
  if (lead > 127) { return bitcast<f32>(sign | 0x7f800000u); }
  var sh = t - 23;
  if (lead < -126) { sh += -126 - lead; }
  if (sh > 31) { return bitcast<f32>(sign); }
  let kept = q >> u32(sh);
  let rem = q & ((1u << u32(sh)) - 1u);
  let half = 1u << u32(sh - 1);
  var k = kept;
  if (rem > half || (rem == half && (r != 0u || (kept & 1u) == 1u))) { k += 1u; }
  if (lead < -126) { return bitcast<f32>(sign | k); }
  return bitcast<f32>(sign | ((u32(lead + 126) << 23u) + k));
}`,
};

/**
 * SPEC.md's quantization of one value, before clamping: `round(float32(x / s))` with ties to even, as a
 * float (NaN stays NaN).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { QUANT } from "./wgsl_lib.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [QUANT], body: "" });
 * assert(code.includes("fn quantize_i("));
 * ```
 */
export const QUANT: WgslFn = {
  code: `
fn quant_round(x: f32, s: f32) -> f32 { return round(div_rn(x, s)); }
fn quantize_i(x: f32, s: f32, qmin: i32, qmax: i32) -> i32 {
  return i32(clamp(quant_round(x, s), f32(qmin), f32(qmax)));
}`,
  deps: [DIV_RN],
};

/**
 * Conversions between float32 and integers as the CPU's typed arrays do them: float to int truncates
 * toward zero and wraps modulo 2^32 (NaN and ±Inf give 0); int to float rounds to nearest even.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CONVERT } from "./wgsl_lib.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [CONVERT], body: "" });
 * assert(code.includes("fn f32_to_i32_wrap("));
 * ```
 */
export const CONVERT: WgslFn = {
  code: `
fn f32_to_i32_wrap(x: f32) -> i32 {
  let b = bitcast<u32>(x);
  let a = b & 0x7fffffffu;
  if (a >= 0x7f800000u) { return 0; }
  if (a < 0x4f000000u) { return i32(x); }
  let e = (a >> 23u) - 150u;
  var v = 0u;
  if (e < 32u) { v = ((a & 0x7fffffu) | 0x800000u) << e; }
  return select(bitcast<i32>(v), -bitcast<i32>(v), (b >> 31u) == 1u);
}
fn i32_to_f32_rn(v: i32) -> f32 {
  return f32(v >> 16u) * 65536.0 + f32(v & 0xffff);
}`,
};

/**
 * Philox-2x32-10, bit-identical to the CPU generator.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { PHILOX } from "./wgsl_lib.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [PHILOX], body: "" });
 * assert(code.includes("fn philox2x32("));
 * ```
 */
export const PHILOX: WgslFn = {
  code: `
fn philox2x32(c0: u32, c1: u32, k: u32) -> vec2<u32> {
  var x0 = c0; var x1 = c1; var key = k;
  for (var r = 0u; r < 10u; r++) {
    let p = mul_u32(0xd256d193u, x0);
    x0 = p.y ^ key ^ x1;
    x1 = p.x;
    key = key + 0x9e3779b9u;
  }
  return vec2<u32>(x0, x1);
}`,
  deps: [MUL_U32],
};

/**
 * Transcendentals with accuracy independent of the driver: `sincos_turns(t)` is (cos 2πt, sin 2πt) by
 * quadrant reduction and Taylor polynomials; `log_acc` is accurate near 1; `tanh_acc` and `sigmoid_acc`
 * avoid overflow and keep relative accuracy near 0.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MATH } from "./wgsl_lib.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [MATH], body: "" });
 * assert(code.includes("fn sincos_turns("));
 * ```
 */
export const MATH: WgslFn = {
  code: `
fn sincos_turns(t: f32) -> vec2<f32> {
  let q = round(t * 4.0);
  let r = (t - q * 0.25) * 6.28318530717958647692;
  let r2 = r * r;
  let s = r * (1.0 + r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0)))));
  let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0 + r2 * (-1.0 / 3628800.0)))));
  let k = i32(q) & 3;
  if (k == 0) { return vec2<f32>(c, s); }
  if (k == 1) { return vec2<f32>(-s, c); }
  if (k == 2) { return vec2<f32>(-c, -s); }
  return vec2<f32>(s, -c);
}
fn log_acc(x: f32) -> f32 {
  let d = x - 1.0;
  if (abs(d) < 0.0625) {
    return d * (1.0 + d * (-0.5 + d * (1.0 / 3.0 + d * (-0.25 + d * (0.2 + d * (-1.0 / 6.0 + d * (1.0 / 7.0)))))));
  }
  return log(x);
}
fn tanh_acc(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.25) {
    let a2 = x * x;
    return x * (1.0 + a2 * (-1.0 / 3.0 + a2 * (2.0 / 15.0 + a2 * (-17.0 / 315.0 + a2 * (62.0 / 2835.0 + a2 * (-1382.0 / 155925.0))))));
  }
  if (a > 20.0) { return sign(x); }
  let t = exp(-2.0 * a);
  return sign(x) * (1.0 - t) / (1.0 + t);
}
fn sigmoid_acc(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}`,
};

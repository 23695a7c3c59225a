/**
 * WGSL functions that reproduce float64 steps of the CPU reference exactly with integer arithmetic:
 * the int32 bias `round(b / (sx · sw))` (a float64 quotient rounded half to even) and the dequantization
 * `float32(q · s)` of an int32 (a float64 product, rounded twice when it exceeds 53 bits).
 * @module
 */
import type { WgslFn } from "./kernel_spec.ts";
import { DIV_RN, I64 } from "./wgsl_lib.ts";

/**
 * Unsigned 64-bit functions on vec2(lo, hi): shifts, compare, subtract, top bit.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { U64 } from "./wgsl_exact.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [U64], body: "" });
 * assert(code.includes("fn shr64u("));
 * ```
 */
export const U64: WgslFn = {
  code: `
fn shr64u(x: vec2<u32>, n: u32) -> vec2<u32> {
  if (n == 0u) { return x; }
  if (n < 32u) { return vec2<u32>((x.x >> n) | (x.y << (32u - n)), x.y >> n); }
  return vec2<u32>(x.y >> min(n - 32u, 31u), 0u);
}
fn shl64(x: vec2<u32>, n: u32) -> vec2<u32> {
  if (n == 0u) { return x; }
  if (n < 32u) { return vec2<u32>(x.x << n, (x.y << n) | (x.x >> (32u - n))); }
  return vec2<u32>(0u, x.x << min(n - 32u, 31u));
}
fn gt64u(a: vec2<u32>, b: vec2<u32>) -> bool { return a.y > b.y || (a.y == b.y && a.x > b.x); }
fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}
fn top64(x: vec2<u32>) -> u32 {
  if (x.y != 0u) { return 63u - countLeadingZeros(x.y); }
  return 31u - countLeadingZeros(x.x);
}`,
  deps: [I64],
};

/**
 * `round(float64(b / (sx · sw)))` with ties to even, as `quantizeBias` computes it: the quotient's 58
 * leading bits come from a bitwise long division of the significands, are rounded to float64's 53,
 * then to an integer. A value beyond int32 saturates (the CPU throws); NaN and ±Inf give 0.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { QUANT_BIAS } from "./wgsl_exact.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [QUANT_BIAS], body: "" });
 * assert(code.includes("fn quantize_bias("));
 * ```
 */
export const QUANT_BIAS: WgslFn = {
  code: `
fn quantize_bias(b: f32, sx: f32, sw: f32) -> i32 {
  let bb = bitcast<u32>(b); let ab = bb & 0x7fffffffu;
  if (ab == 0u || ab >= 0x7f800000u) { return 0; }
  let neg = (bb >> 31u) == 1u;
  let sat = select(2147483647, -2147483647 - 1, neg);
  let pb = f32_sig_exp(ab);
  let px = f32_sig_exp(bitcast<u32>(sx) & 0x7fffffffu);
  let py = f32_sig_exp(bitcast<u32>(sw) & 0x7fffffffu);
  let e = pb.y - px.y - py.y;
  if (e < 22) { return 0; }
  if (e > 57) { return sat; }
  let d = mul_u32(u32(px.x), u32(py.x));
  let bm = u32(pb.x);
  var q = vec2<u32>(0u, 0u); var r = vec2<u32>(0u, 0u);
  for (var i = 0u; i < 104u; i++) {
    var bit = 0u;
    if (i < 24u) { bit = (bm >> (23u - i)) & 1u; }
    r = shl64(r, 1u); r.x = r.x | bit;
    q = shl64(q, 1u);
    if (!gt64u(d, r)) { r = sub64(r, d); q.x = q.x | 1u; }
  }
  let sh = top64(q) - 52u;
  let rem = q.x & ((1u << sh) - 1u); let half = 1u << (sh - 1u);
  var m = shr64u(q, sh);
  if (rem > half || (rem == half && (r.x != 0u || r.y != 0u || (m.x & 1u) == 1u))) { m = add64(m, vec2<u32>(1u, 0u)); }
  let s2 = i32(sh) + e - 80;
  if (s2 >= 0) { return sat; }
  let ns = u32(-s2);
  if (ns >= 56u) { return 0; }
  let ip = shr64u(m, ns);
  let frac = sub64(m, shl64(ip, ns));
  let hv = pow2_64(ns - 1u);
  var v = ip;
  if (gt64u(frac, hv) || (frac.x == hv.x && frac.y == hv.y && (ip.x & 1u) == 1u)) { v = add64(v, vec2<u32>(1u, 0u)); }
  if (v.y != 0u || v.x > select(0x7fffffffu, 0x80000000u, neg)) { return sat; }
  return select(bitcast<i32>(v.x), bitcast<i32>(0u - v.x), neg);
}`,
  deps: [U64, DIV_RN],
};

/**
 * `float32(float64(q · s))` for an int32 `q` and a finite float32 `s`: one rounding when |q| < 2^24 (the
 * hardware product), else the exact 56-bit product rounded to 53 bits and then to 24, both to even.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { DEQUANT_EXACT } from "./wgsl_exact.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [DEQUANT_EXACT], body: "" });
 * assert(code.includes("fn dequant_f64r("));
 * ```
 */
export const DEQUANT_EXACT: WgslFn = {
  code: `
fn dequant_f64r(q: i32, s: f32) -> f32 {
  let uq = bitcast<u32>(q);
  let mag = select(uq, 0u - uq, q < 0);
  if (mag < 16777216u) { return f32(q) * s; }
  let bs = bitcast<u32>(s);
  let sign = (bs & 0x80000000u) ^ select(0u, 0x80000000u, q < 0);
  if ((bs & 0x7fffffffu) == 0u) { return bitcast<f32>(sign); }
  let ps = f32_sig_exp(bs & 0x7fffffffu);
  var p = mul_u32(mag, u32(ps.x));
  var e = ps.y;
  let t = top64(p);
  if (t > 52u) {
    let sh = t - 52u;
    let rem = p.x & ((1u << sh) - 1u); let half = 1u << (sh - 1u);
    p = shr64u(p, sh); e += i32(sh);
    if (rem > half || (rem == half && (p.x & 1u) == 1u)) { p = add64(p, vec2<u32>(1u, 0u)); }
  }
  let t2 = top64(p);
  let sh2 = t2 - 23u;
  let rem2 = select(p.x & ((1u << sh2) - 1u), 0u, sh2 == 0u);
  let half2 = select(1u << (sh2 - 1u), 0u, sh2 == 0u);
  var k = shr64u(p, sh2).x;
  if (sh2 > 0u && (rem2 > half2 || (rem2 == half2 && (k & 1u) == 1u))) { k += 1u; }
  let lead = i32(t2) + e;
  if (lead > 127) { return bitcast<f32>(sign | 0x7f800000u); }
  return bitcast<f32>(sign | ((u32(lead + 126) << 23u) + k));
}`,
  deps: [U64, DIV_RN],
};

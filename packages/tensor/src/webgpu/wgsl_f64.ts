/**
 * WGSL functions that compute the float64 steps of the calibration observers exactly, with integer
 * arithmetic (WGSL has no f64): non-negative float64 values as a 53-bit significand and an exponent,
 * their correctly rounded sum, the correctly rounded square of an exact difference of two float32
 * values, and `float32(float64(x · f))` — the two roundings the CPU's `Math.fround(x * f)` makes.
 * @module
 */
import type { WgslFn } from "./kernel_spec.ts";
import { U64 } from "./wgsl_exact.ts";
import { DIV_RN, I64 } from "./wgsl_lib.ts";

/**
 * Non-negative float64 values as `F64 { m, e }` (value `m · 2^e`, `m` in [2^52, 2^53) or 0): packing to
 * and from IEEE bits (lo, hi), and the correctly rounded (to nearest, ties to even) sum of two. Values
 * stay normal: the observers' sums are of squares of float32 differences, far from both ends.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { F64_ADD } from "./wgsl_f64.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [F64_ADD], body: "" });
 * assert(code.includes("fn f64_add("));
 * ```
 */
export const F64_ADD: WgslFn = {
  code: `
struct F64 { m: vec2<u32>, e: i32 }
fn f64_zero() -> F64 { return F64(vec2<u32>(0u, 0u), 0); }
fn f64_is_zero(a: F64) -> bool { return a.m.x == 0u && a.m.y == 0u; }
fn f64_pack(a: F64) -> vec2<u32> {
  if (f64_is_zero(a)) { return vec2<u32>(0u, 0u); }
  return vec2<u32>(a.m.x, (u32(a.e + 1075) << 20u) | (a.m.y & 0xfffffu));
}
fn f64_unpack(b: vec2<u32>) -> F64 {
  let biased = (b.y >> 20u) & 0x7ffu;
  if (biased == 0u) { return f64_zero(); }
  return F64(vec2<u32>(b.x, (b.y & 0xfffffu) | 0x100000u), i32(biased) - 1075);
}
fn f64_add(x: F64, y: F64) -> F64 {
  if (f64_is_zero(y)) { return x; }
  if (f64_is_zero(x)) { return y; }
  var a = x; var b = y;
  if (y.e > x.e || (y.e == x.e && gt64u(y.m, x.m))) { a = y; b = x; }
  let sh = u32(a.e - b.e);
  var bb = shl64(b.m, 3u);
  if (sh >= 57u) {
    bb = vec2<u32>(1u, 0u);
  } else if (sh > 0u) {
    let kept = shr64u(bb, sh);
    let lost = sub64(bb, shl64(kept, sh));
    bb = kept;
    if (lost.x != 0u || lost.y != 0u) { bb.x = bb.x | 1u; }
  }
  var s = add64(shl64(a.m, 3u), bb);
  var e = a.e;
  if (s.y >= 0x1000000u) {
    let st = s.x & 1u;
    s = shr64u(s, 1u);
    s.x = s.x | st;
    e += 1;
  }
  let low = s.x & 7u;
  s = shr64u(s, 3u);
  if (low > 4u || (low == 4u && (s.x & 1u) == 1u)) {
    s = add64(s, vec2<u32>(1u, 0u));
    if (s.y >= 0x200000u) { s = shr64u(s, 1u); e += 1; }
  }
  return F64(s, e);
}`,
  deps: [U64, I64],
};

/**
 * Rounding of exact integers: `round53(w, e)` is the float64 nearest to `w · 2^e` for a 128-bit `w`
 * (vec4, least significant word first) as an `F64`; `round_f32_bits(m, e)` the float32 nearest to
 * `m · 2^e` for a non-zero 64-bit `m`, subnormals included, as its bits (both ties to even).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ROUND_EXACT } from "./wgsl_f64.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [ROUND_EXACT], body: "" });
 * assert(code.includes("fn round53(") && code.includes("fn round_f32_bits("));
 * ```
 */
export const ROUND_EXACT: WgslFn = {
  code: `
fn word4(w: vec4<u32>, i: u32) -> u32 { if (i < 4u) { return w[i]; } return 0u; }
fn top128(w: vec4<u32>) -> i32 {
  for (var i = 3; i >= 0; i--) {
    if (w[i] != 0u) { return i * 32 + 31 - i32(countLeadingZeros(w[i])); }
  }
  return -1;
}
fn shr128_64(w: vec4<u32>, n: u32) -> vec2<u32> {
  let q = n >> 5u; let r = n & 31u;
  if (r == 0u) { return vec2<u32>(word4(w, q), word4(w, q + 1u)); }
  return vec2<u32>((word4(w, q) >> r) | (word4(w, q + 1u) << (32u - r)),
                   (word4(w, q + 1u) >> r) | (word4(w, q + 2u) << (32u - r)));
}
fn any_below128(w: vec4<u32>, n: u32) -> bool {
  let q = n >> 5u; let r = n & 31u;
  for (var i = 0u; i < min(q, 4u); i++) { if (w[i] != 0u) { return true; } }
  return r != 0u && q < 4u && (w[q] & ((1u << r) - 1u)) != 0u;
}
fn round53(w: vec4<u32>, e: i32) -> F64 {
  let t = top128(w);
  if (t < 0) { return f64_zero(); }
  if (t <= 52) {
    return F64(shl64(vec2<u32>(w.x, w.y), u32(52 - t)), e - (52 - t));
  }
  let sh = u32(t - 52);
  var m = shr128_64(w, sh);
  let guard = (shr128_64(w, sh - 1u).x & 1u) == 1u;
  var ex = e + i32(sh);
  if (guard && (any_below128(w, sh - 1u) || (m.x & 1u) == 1u)) {
    m = add64(m, vec2<u32>(1u, 0u));
    if (m.y >= 0x200000u) { m = shr64u(m, 1u); ex += 1; }
  }
  return F64(m, ex);
}
fn round_f32_bits(m: vec2<u32>, e: i32) -> u32 {
  let t = i32(top64(m));
  let lead = t + e;
  if (lead > 127) { return 0x7f800000u; }
  var sh = t - 23;
  if (lead < -126) { sh += -126 - lead; }
  if (sh <= 0) {
    let k = shl64(m, u32(-sh)).x;
    if (lead < -126) { return k; }
    return (u32(lead + 126) << 23u) + k;
  }
  if (sh > 64) { return 0u; }
  var kept = vec2<u32>(0u, 0u);
  if (sh < 64) { kept = shr64u(m, u32(sh)); }
  let rem = sub64(m, select(shl64(kept, u32(sh)), vec2<u32>(0u, 0u), sh == 64));
  let half = pow2_64(u32(sh - 1));
  var k = kept.x;
  if (gt64u(rem, half) || (rem.x == half.x && rem.y == half.y && (k & 1u) == 1u)) { k += 1u; }
  if (lead < -126) { return k; }
  return (u32(lead + 126) << 23u) + k;
}`,
  deps: [F64_ADD, U64, I64],
};

/**
 * `float32(float64(x · f))` for a float32 `x` and a positive normal float64 `f` (IEEE bits, lo and hi):
 * the exact 77-bit product rounded to float64, then to float32, as `Math.fround(x * f)` computes it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MUL_F32_F64 } from "./wgsl_f64.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [MUL_F32_F64], body: "" });
 * assert(code.includes("fn mul_f32_f64("));
 * ```
 */
export const MUL_F32_F64: WgslFn = {
  code: `
fn mul_f32_f64(x: f32, f: vec2<u32>) -> f32 {
  let bx = bitcast<u32>(x);
  let ax = bx & 0x7fffffffu; let sign = bx & 0x80000000u;
  if (ax == 0u) { return bitcast<f32>(sign); }
  let px = f32_sig_exp(ax);
  let ff = f64_unpack(f);
  let lo = mul_u32(u32(px.x), ff.m.x);
  let hi = mul_u32(u32(px.x), ff.m.y);
  let w1 = lo.y + hi.x;
  let w2 = hi.y + select(0u, 1u, w1 < lo.y);
  let r = round53(vec4<u32>(lo.x, w1, w2, 0u), px.y + ff.e);
  return bitcast<f32>(sign | round_f32_bits(r.m, r.e));
}`,
  deps: [ROUND_EXACT, DIV_RN],
};

/**
 * `sq_diff(a, v)`: the float64 nearest to `(a - v)²` for float32 `a` and `v` whose difference is exact
 * in 64 bits (their exponents at most 40 apart, or one of them 0) — the CPU's `d * d` of the exact
 * float64 difference `d = a - v`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SQ_DIFF } from "./wgsl_f64.ts";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({ name: "k", inputs: [], outputs: [], uniforms: [], workgroupSize: [1, 1, 1], functions: [SQ_DIFF], body: "" });
 * assert(code.includes("fn sq_diff("));
 * ```
 */
export const SQ_DIFF: WgslFn = {
  code: `
fn sq_exact(d: vec2<u32>, e: i32) -> F64 {
  let ll = mul_u32(d.x, d.x); let lh = mul_u32(d.x, d.y); let hh = mul_u32(d.y, d.y);
  // d² = ll + 2·lh·2^32 + hh·2^64
  let l2 = vec3<u32>(lh.x << 1u, (lh.y << 1u) | (lh.x >> 31u), lh.y >> 31u);
  let w1 = ll.y + l2.x; let c1 = select(0u, 1u, w1 < ll.y);
  let t2 = hh.x + l2.y; let c2a = select(0u, 1u, t2 < hh.x);
  let w2 = t2 + c1; let c2b = select(0u, 1u, w2 < t2);
  let w3 = hh.y + l2.z + c2a + c2b;
  return round53(vec4<u32>(ll.x, w1, w2, w3), 2 * e);
}
fn sq_diff(a: f32, v: f32) -> F64 {
  let ba = bitcast<u32>(a); let bv = bitcast<u32>(v);
  let aa = ba & 0x7fffffffu; let av = bv & 0x7fffffffu;
  if (aa == 0u && av == 0u) { return f64_zero(); }
  if (aa == 0u || av == 0u) {
    let p = f32_sig_exp(select(aa, av, aa == 0u));
    return sq_exact(vec2<u32>(u32(p.x), 0u), p.y);
  }
  let pa = f32_sig_exp(aa); let pv = f32_sig_exp(av);
  let e0 = min(pa.y, pv.y);
  let ma = shl64(vec2<u32>(u32(pa.x), 0u), u32(pa.y - e0));
  let mv = shl64(vec2<u32>(u32(pv.x), 0u), u32(pv.y - e0));
  var d: vec2<u32>;
  if ((ba >> 31u) != (bv >> 31u)) { d = add64(ma, mv); }
  else if (gt64u(ma, mv)) { d = sub64(ma, mv); }
  else { d = sub64(mv, ma); }
  return sq_exact(d, e0);
}`,
  deps: [ROUND_EXACT, DIV_RN],
};

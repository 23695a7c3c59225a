import fc from "fast-check";
import { assert } from "@std/assert";
import { quantizeBias } from "@hqat/qtensor";
import { assertExact, GPU_TEST, gpuMap } from "./gpu_test_util.ts";
import { DEQUANT_EXACT, QUANT_BIAS } from "./wgsl_exact.ts";

const f32Bits = (xs: ArrayLike<number>) => new Int32Array(Float32Array.from(xs).buffer);
const scale = fc.integer({ min: 0, max: 0xffffff }).chain((m) =>
  fc.integer({ min: -30, max: 4 }).map((e) => Math.fround((1 + m / 2 ** 24) * 2 ** e))
);

Deno.test({
  name:
    "quantize_bias() equals quantizeBias() (a float64 quotient rounded half to even), ties and saturation included",
  ...GPU_TEST,
  async fn() {
    const cases = fc.sample(
      fc.tuple(fc.float({ min: -1e4, max: 1e4, noNaN: true }), scale, scale),
      { seed: 42, numRuns: 3000 },
    ).filter(([b, sx, sw]) => Math.abs(b / (sx * sw)) < 2 ** 31 - 1);
    for (let k = 1; k < 200; k++) {
      const sx = Math.fround(0.5 ** (k % 9)), sw = Math.fround(3 * 0.5 ** 12);
      cases.push([Math.fround((k + 0.5) * sx * sw), sx, sw], [
        Math.fround(-(k * 1000 + 0.5) * sx * sw),
        sx,
        sw,
      ]);
    }
    const b = cases.map((c) => c[0]), sx = cases.map((c) => c[1]), sw = cases.map((c) => c[2]);
    const got = await gpuMap(
      "  return quantize_bias(bitcast<f32>(ld_a(i)), bitcast<f32>(ld_b(i)), bitcast<f32>(ld_c(i)));",
      [QUANT_BIAS],
      [f32Bits(b), f32Bits(sx), f32Bits(sw)],
    );
    const want = Int32Array.from(cases, ([bias, x, w]) => quantizeBias([bias], x, [w])[0]);
    assertExact(got, want, "quantize_bias");
    const sat = await gpuMap("  return quantize_bias(bitcast<f32>(ld_a(i)), 1e-6, 1e-6);", [QUANT_BIAS], [
      f32Bits([1e6, -1e6]),
    ]);
    assertExact(sat, Int32Array.of(2147483647, -2147483648), "saturation");
  },
});

/** The float32 nearest to p · 2^e (ties to even), for a positive integer p. */
function correctlyRounded(p: bigint, e: number): number {
  const sh = BigInt(Math.max(0, p.toString(2).length - 24));
  let kept = p >> sh;
  const rem = p - (kept << sh), half = sh > 0n ? 1n << (sh - 1n) : 0n;
  if (sh > 0n && (rem > half || (rem === half && (kept & 1n) === 1n))) kept += 1n;
  return Number(kept) * 2 ** (Number(sh) + e);
}

/**
 * Pairs (q, s) whose exact product lies just above a float32 tie but rounds onto it in float64, so that
 * float32(float64(q · s)) differs from the correctly rounded product: P = q · S = 2k · 2^30 + 2^29 + 1.
 */
function doubleRoundingCases(count: number): [number, number][] {
  const out: [number, number][] = [];
  for (let S = 2 ** 23 + 1; out.length < count; S += 2) {
    const r30 = 2 ** 30 % S;
    for (let k = 2 ** 22; k < 2 ** 23 && out.length < count; k++) {
      if ((((2 * k) % S) * r30 + 2 ** 29 + 1) % S !== 0) continue;
      const q = Number((BigInt(2 * k) * 2n ** 30n + 2n ** 29n + 1n) / BigInt(S));
      out.push([q, Math.fround(S * 2 ** -40)]);
    }
  }
  return out;
}

Deno.test({
  name: "dequant_f64r() equals float32(q · s) computed in float64, double rounding included",
  ...GPU_TEST,
  async fn() {
    const cases = fc.sample(fc.tuple(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), scale), {
      seed: 42,
      numRuns: 3000,
    });
    const twice = doubleRoundingCases(3);
    for (const [q, sc] of twice) {
      assert(Math.fround(q * sc) !== correctlyRounded(BigInt(q) * BigInt(sc * 2 ** 40), -40));
    }
    cases.push(...twice, ...twice.map(([q, sc]): [number, number] => [-q, sc]));
    const q = Int32Array.from(cases, (c) => c[0]);
    const got = await gpuMap("  return bitcast<i32>(dequant_f64r(ld_a(i), bitcast<f32>(ld_b(i))));", [
      DEQUANT_EXACT,
    ], [q, f32Bits(cases.map((c) => c[1]))]);
    assertExact(new Float32Array(got.buffer), Float32Array.from(cases, ([v, s]) => v * s), "dequant");
  },
});

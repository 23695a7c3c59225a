import fc from "fast-check";
import { assertEquals } from "@std/assert";
import { computeMultiplier, requantizeValue } from "@hqat/qtensor";
import { philox } from "../cpu/philox.ts";
import { assertClose, assertExact, GPU_TEST, gpuMap } from "./gpu_test_util.ts";
import { CONVERT, DIV_RN, MATH, PHILOX, REQUANT } from "./wgsl_lib.ts";

const f32Bits = (xs: number[]) => new Int32Array(Float32Array.from(xs).buffer);
/** float32 values from all over the range: normal, subnormal, huge, and exact small quotients. */
const anyFloat = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }).map((b) => new Float32Array(Uint32Array.of(b).buffer)[0]),
  fc.integer({ min: -1000, max: 1000 }).map((k) => k / 8),
  fc.float({ min: -1e6, max: 1e6, noNaN: true }),
);

Deno.test({
  name: "div_rn() divides float32 values correctly rounded, subnormals and specials included",
  ...GPU_TEST,
  async fn() {
    const pairs = fc.sample(fc.tuple(anyFloat, anyFloat), { seed: 42, numRuns: 4000 });
    pairs.push([1, 3], [2, 3], [1, 0], [0, 0], [Infinity, 2], [5, Infinity], [3.4e38, 0.5]);
    // Exact ties arise where the quotient is subnormal: k·2^-149 / 2^j for odd k.
    for (let k = 1; k < 64; k += 2) {
      pairs.push([k * 2 ** -149, 2], [-k * 2 ** -149, 4], [(k + 2 ** 23) * 2 ** -149, 2]);
    }
    const a = pairs.map((p) => p[0]), b = pairs.map((p) => p[1]);
    const got = new Float32Array(
      (await gpuMap(
        "  return bitcast<i32>(div_rn(bitcast<f32>(ld_a(i)), bitcast<f32>(ld_b(i))));",
        [DIV_RN],
        [f32Bits(a), f32Bits(b)],
      )).buffer,
    );
    assertExact(got, Float32Array.from(pairs, ([x, y]) => Math.fround(x / y)), "div_rn");
  },
});

Deno.test({
  name: "requant() computes floor((acc · M + 2^(n-1)) / 2^n) exactly with its clamp",
  ...GPU_TEST,
  async fn() {
    const cases = fc.sample(
      fc.tuple(
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.double({ min: 1e-12, max: 4e6, noNaN: true }).map(computeMultiplier),
      ),
      { seed: 42, numRuns: 3000 },
    );
    const acc = Int32Array.from(cases, (c) => c[0]);
    const mn = Int32Array.from(cases, (c) => c[1].M * 64 + c[1].n);
    const got = await gpuMap(
      "  let mn = bitcast<u32>(ld_b(i));\n  return requant(ld_a(i), mn >> 6u, mn & 63u, -32768, 32767);",
      [REQUANT],
      [acc, mn],
    );
    const want = Int32Array.from(cases, ([a, m]) => Math.max(-32768, Math.min(32767, requantizeValue(a, m))));
    assertExact(got, want, "requant");
  },
});

Deno.test({
  name: "f32_to_i32_wrap() and i32_to_f32_rn() convert like the typed arrays",
  ...GPU_TEST,
  async fn() {
    const floats = fc.sample(anyFloat, { seed: 42, numRuns: 2000 }).concat([
      NaN,
      Infinity,
      -Infinity,
      2 ** 31,
      -(2 ** 31),
      2 ** 32 + 256,
    ]);
    const ints = Int32Array.from(
      fc.sample(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { seed: 42, numRuns: 2000 }),
    );
    const toInt = await gpuMap("  return f32_to_i32_wrap(bitcast<f32>(ld_a(i)));", [CONVERT], [
      f32Bits(floats),
    ]);
    assertExact(toInt, Int32Array.from(Float32Array.from(floats)), "f32 → i32");
    const toFloat = await gpuMap("  return bitcast<i32>(i32_to_f32_rn(ld_a(i)));", [CONVERT], [ints]);
    assertExact(new Float32Array(toFloat.buffer), Float32Array.from(ints), "i32 → f32");
  },
});

Deno.test({
  name: "philox2x32() gives the CPU generator's bits",
  ...GPU_TEST,
  async fn() {
    const cases = fc.sample(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { seed: 42, numRuns: 500 });
    const [c0, c1, k] = [0, 1, 2].map((j) => Int32Array.from(cases, (c) => c[j]));
    for (const lane of [0, 1]) {
      const got = await gpuMap(
        `  let r = philox2x32(bitcast<u32>(ld_a(i)), bitcast<u32>(ld_b(i)), bitcast<u32>(ld_c(i)));\n  return bitcast<i32>(r[${lane}]);`,
        [PHILOX],
        [c0, c1, k],
      );
      const want = Int32Array.from(cases, ([a, b, key]) => {
        const out = new Uint32Array(2);
        philox(a, b, key, out);
        return out[lane];
      });
      assertExact(got, want, `philox lane ${lane}`);
    }
  },
});

Deno.test({
  name: "sincos_turns(), log_acc(), tanh_acc() and sigmoid_acc() are accurate to float32",
  ...GPU_TEST,
  async fn() {
    const t = Array.from({ length: 1000 }, (_, i) => i / 1000 + 1 / 4096);
    const u = Array.from({ length: 1000 }, (_, i) => 1 - i * 2 ** -20 - 1e-3 * (i % 3));
    const x = Array.from({ length: 1000 }, (_, i) => (i - 500) / 20 + 1e-3);
    const run = async (expr: string, v: number[]) =>
      new Float32Array(
        (await gpuMap(`  let v = bitcast<f32>(ld_a(i));\n  return bitcast<i32>(${expr});`, [MATH], [
          f32Bits(v),
        ])).buffer,
      );
    assertClose(await run("sincos_turns(v).x", t), t.map((v) => Math.cos(2 * Math.PI * Math.fround(v))), {
      abs: 3e-7,
    }, "cos");
    assertClose(await run("sincos_turns(v).y", t), t.map((v) => Math.sin(2 * Math.PI * Math.fround(v))), {
      abs: 3e-7,
    }, "sin");
    assertClose(await run("log_acc(v)", u), u.map((v) => Math.log(Math.fround(v))), { rel: 1e-5 }, "log");
    assertClose(await run("tanh_acc(v)", x), x.map((v) => Math.tanh(Math.fround(v))), { rel: 1e-5 }, "tanh");
    assertClose(await run("sigmoid_acc(v)", x), x.map((v) => 1 / (1 + Math.exp(-Math.fround(v)))), {
      rel: 1e-5,
    }, "sigmoid");
    assertEquals((await run("tanh_acc(v)", [1e-30]))[0], Math.fround(1e-30));
  },
});

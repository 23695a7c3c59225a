import fc from "fast-check";
import { assertEquals } from "@std/assert";
import type { DType } from "../dtype.ts";
import { BINARY_OPS, COMPARE_OPS, UNARY_OPS } from "../ops.ts";
import { fromArray } from "../tensor.ts";
import { f32Bound } from "./elementwise.ts";
import { assertClose, assertExact, GPU_FC, GPU_TEST, randomTensor, runBoth } from "./gpu_test_util.ts";

/** Two broadcast-compatible shapes of rank ≤ 4. */
const broadcastPair = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 4 }).chain((s) =>
  fc.tuple(
    fc.constant(s),
    fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
    fc.integer({ min: 0, max: s.length }),
  ).map(([full, ones, drop]) => [full, full.map((d, i) => (ones[i] ? 1 : d)).slice(drop)] as const)
);

const EXACT_UNARY = new Set(["neg", "abs", "sign", "floor", "ceil", "round", "relu"]);
const DOMAIN: Record<string, [number, number]> = { log: [0.01, 8], sqrt: [0, 8], rsqrt: [0.01, 8] };

Deno.test({
  name: "unaryGpu() agrees with the CPU for every unary op (exact ones bit for bit)",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 3 }),
        fc.nat(),
        async (shape, seed) => {
          for (const op of UNARY_OPS) {
            const [lo, hi] = DOMAIN[op] ?? [-6, 6];
            const x = randomTensor("float32", shape, seed, lo, hi);
            const { gpu, cpu } = await runBoth(op, [x], {});
            if (EXACT_UNARY.has(op)) assertExact(gpu[0], cpu[0], op);
            else assertClose(gpu[0], cpu[0], { abs: 1e-6 }, op);
          }
        },
      ),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "unaryGpu() wraps integer neg, abs, sign and relu like the typed arrays",
  ...GPU_TEST,
  async fn() {
    for (const dtype of ["int8", "int16", "int32", "uint8"] as const) {
      const x = randomTensor(dtype, [13], 7, dtype === "uint8" ? 0 : -300, 300);
      for (const op of ["neg", "abs", "sign", "relu"] as const) {
        const { gpu, cpu } = await runBoth(op, [x], {});
        assertExact(gpu[0], cpu[0], `${op} ${dtype}`);
      }
    }
  },
});

Deno.test({
  name: "binaryGpu() broadcasts every binary op and comparison like the CPU",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(broadcastPair, fc.boolean(), fc.nat(), async ([sa, sb], swap, seed) => {
        const [s1, s2] = swap ? [sb, sa] : [sa, sb];
        for (const op of [...BINARY_OPS, ...COMPARE_OPS]) {
          const [lo, hi] = op === "pow" ? [0.2, 3] : [-3, 3];
          const a = randomTensor("float32", s1, seed, lo, hi),
            b = randomTensor("float32", s2, seed + 1, -3, 3);
          const { gpu, cpu } = await runBoth(op, [a, b], {});
          if (op === "div" || op === "pow") assertClose(gpu[0], cpu[0], { abs: 1e-6 }, op);
          else assertExact(gpu[0], cpu[0], op);
        }
      }),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "binaryGpu() gives the typed-array results on integer dtypes, division by zero included",
  ...GPU_TEST,
  async fn() {
    for (const dtype of ["int8", "int16", "uint8"] as const) {
      const a = randomTensor(dtype, [4, 5], 3, dtype === "uint8" ? 0 : -120, 120);
      const b = randomTensor(dtype, [5], 4, dtype === "uint8" ? 0 : -4, 4);
      for (const op of [...BINARY_OPS, ...COMPARE_OPS]) {
        const { gpu, cpu } = await runBoth(op, [a, b], {});
        assertExact(gpu[0], cpu[0], `${op} ${dtype}`);
      }
    }
  },
});

Deno.test({
  name: "binaryGpu() keeps NaN through maximum and minimum and compares NaN as unordered",
  ...GPU_TEST,
  async fn() {
    const a = fromArray(Float32Array.of(NaN, 1, NaN, -Infinity), [4]);
    const b = fromArray(Float32Array.of(2, NaN, NaN, 0), [4]);
    for (const op of ["maximum", "minimum", "equal", "notEqual", "less", "greaterEqual"] as const) {
      const { gpu, cpu } = await runBoth(op, [a, b], {});
      assertExact(gpu[0], cpu[0], op);
    }
  },
});

Deno.test({
  name: "whereGpu() selects with a broadcast uint8 condition",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(broadcastPair, fc.nat(), async ([sa, sb], seed) => {
        for (const dtype of ["float32", "int8"] as const) {
          const c = randomTensor("uint8", sb, seed, 0, 2);
          const { gpu, cpu } = await runBoth("where", [
            c,
            randomTensor(dtype, sa, seed + 1),
            randomTensor(dtype, sb, seed + 2),
          ], {});
          assertExact(gpu[0], cpu[0], `where ${dtype}`);
        }
      }),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "clampGpu() and clampBackwardGpu() match the CPU at bounds that are not float32 values",
  ...GPU_TEST,
  async fn() {
    const x = fromArray(Float32Array.of(0.1, Math.fround(0.1), -0.3, 0.7, 0.70000001, NaN, 5, -5), [8]);
    const g = randomTensor("float32", [8], 1);
    for (const [min, max] of [[0.1, 0.7], [-0.3, 0.70000001], [-Infinity, 0.5], [0, Infinity]]) {
      const c = await runBoth("clamp", [x], { min, max, openGrad: false });
      assertExact(c.gpu[0], c.cpu[0], `clamp [${min}, ${max}]`);
      for (const openGrad of [false, true]) {
        const b = await runBoth("clampBackward", [g, x], { min, max, openGrad });
        assertExact(b.gpu[0], b.cpu[0], `clampBackward [${min}, ${max}] ${openGrad}`);
      }
    }
    const xi = randomTensor("int16", [20], 5, -10, 10);
    for (const [min, max] of [[-2.5, 3.5], [-3, 3]]) {
      const c = await runBoth("clamp", [xi], { min, max, openGrad: false });
      assertExact(c.gpu[0], c.cpu[0], `int16 clamp [${min}, ${max}]`);
      const b = await runBoth("clampBackward", [randomTensor("float32", [20], 6), xi], {
        min,
        max,
        openGrad: true,
      });
      assertExact(b.gpu[0], b.cpu[0], `int16 clampBackward [${min}, ${max}]`);
    }
  },
});

Deno.test({
  name: "castGpu() converts between every pair of dtypes like the typed arrays",
  ...GPU_TEST,
  async fn() {
    const dtypes: DType[] = ["float32", "int32", "int16", "int8", "uint8"];
    const floats = fromArray(
      Float32Array.of(3e9, -3e9, 1.7, -1.7, 300.5, -129, NaN, Infinity, 16777217, 2 ** 40),
      [10],
    );
    for (const from of dtypes) {
      const x = from === "float32" ? floats : randomTensor(from, [10], 9, -(2 ** 31), 2 ** 31);
      for (const to of dtypes) {
        const { gpu, cpu } = await runBoth("cast", [x], { dtype: to });
        assertExact(gpu[0], cpu[0], `${from} → ${to}`);
      }
    }
  },
});

Deno.test("f32Bound() brackets a number by the nearest float32 values", () => {
  fc.assert(
    fc.property(fc.double({ noNaN: true, min: -1e30, max: 1e30 }), (v) => {
      const up = f32Bound(v, 1), down = f32Bound(v, -1);
      assertEquals(Math.fround(up), up);
      assertEquals(Math.fround(down), down);
      return up >= v && down <= v && (up === down || up === Math.fround(v) || down === Math.fround(v));
    }),
    { seed: 42, numRuns: 200 },
  );
});

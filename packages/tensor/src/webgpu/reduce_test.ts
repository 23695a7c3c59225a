import fc from "fast-check";
import {
  assertClose,
  assertExact,
  GPU_FC,
  GPU_TEST,
  magnitudeOf,
  randomTensor,
  runBoth,
} from "./gpu_test_util.ts";
import { fromArray } from "../tensor.ts";

const shape = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 });
const axesOf = (rank: number, bits: number) => [...Array(rank).keys()].filter((i) => (bits >> i) & 1);

Deno.test({
  name: "sumGpu() and maxGpu() reduce any set of axes like the CPU",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(shape, fc.nat(), fc.boolean(), async (s, seed, keepDims) => {
        const attrs = { axes: axesOf(s.length, seed), keepDims };
        const x = randomTensor("float32", s, seed);
        const sum = await runBoth("sum", [x], attrs);
        assertClose(sum.gpu[0], sum.cpu[0], { magnitude: magnitudeOf("sum", [x], attrs) }, "sum");
        const max = await runBoth("max", [x], attrs);
        assertExact(max.gpu[0], max.cpu[0], "max");
        for (const dtype of ["int8", "int16"] as const) {
          const xi = randomTensor(dtype, s, seed, -128, 128);
          for (const op of ["sum", "max"] as const) {
            const r = await runBoth(op, [xi], attrs);
            assertExact(r.gpu[0], r.cpu[0], `${op} ${dtype}`);
          }
        }
      }),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "sumGpu() and maxGpu() reduce long axes with one workgroup per output",
  ...GPU_TEST,
  async fn() {
    for (const [s, axes] of [[[3, 3000], [1]], [[50, 2, 60], [0, 2]], [[5000], [0]]] as const) {
      const x = randomTensor("float32", s, 5);
      const attrs = { axes, keepDims: false };
      const sum = await runBoth("sum", [x], attrs);
      assertClose(sum.gpu[0], sum.cpu[0], { magnitude: magnitudeOf("sum", [x], attrs) }, "sum");
      const max = await runBoth("max", [x], attrs);
      assertExact(max.gpu[0], max.cpu[0], "max");
      const xi = randomTensor("int8", s, 6, -128, 128);
      const si = await runBoth("sum", [xi], attrs);
      assertExact(si.gpu[0], si.cpu[0], "int8 sum (wraps)");
    }
    const withNaN = fromArray(new Float32Array(4000).fill(1).fill(NaN, 2500, 2501), [4000]);
    const m = await runBoth("max", [withNaN], { axes: [0], keepDims: false });
    assertExact(m.gpu[0], m.cpu[0], "max with NaN");
  },
});

Deno.test({
  name: "argmaxGpu() and topkGpu() pick the first maximum and sort ties by index",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(shape, fc.nat(), async (s, seed) => {
        const axis = seed % s.length;
        for (const dtype of ["float32", "int8"] as const) {
          const x = randomTensor(dtype, s, seed, -3, 3);
          const a = await runBoth("argmax", [x], { axis, keepDims: seed % 2 === 0 });
          assertExact(a.gpu[0], a.cpu[0], `argmax ${dtype}`);
          const k = (seed >> 3) % (s[axis] + 1);
          const t = await runBoth("topk", [x], { k, axis });
          assertExact(t.gpu[0], t.cpu[0], `topk values ${dtype}`);
          assertExact(t.gpu[1], t.cpu[1], `topk indices ${dtype}`);
        }
      }),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "logSoftmaxGpu() agrees with the CPU along any axis",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(shape, fc.nat(), async (s, seed) => {
        const x = randomTensor("float32", s, seed, -10, 10);
        const r = await runBoth("logSoftmax", [x], { axis: seed % s.length });
        assertClose(r.gpu[0], r.cpu[0], { abs: 1e-5 }, "logSoftmax");
      }),
      GPU_FC,
    );
  },
});

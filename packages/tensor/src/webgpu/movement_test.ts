import fc from "fast-check";
import type { DType } from "../dtype.ts";
import { assertExact, GPU_FC, GPU_TEST, randomTensor, runBoth } from "./gpu_test_util.ts";

const shape = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 });
const DTYPES: DType[] = ["float32", "int16", "int8"];

Deno.test({
  name: "transposeGpu(), reshapeGpu() and broadcastToGpu() move data like the CPU",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(shape, fc.nat(), async (s, seed) => {
        const perm = s.map((_, i) => i).sort((a, b) => ((a * 7 + seed) % 5) - ((b * 7 + seed) % 5));
        for (const dtype of DTYPES) {
          const x = randomTensor(dtype, s, seed, -100, 100);
          const t = await runBoth("transpose", [x], { perm });
          assertExact(t.gpu[0], t.cpu[0], `transpose ${dtype}`);
          const r = await runBoth("reshape", [x], { shape: [s.reduce((a, b) => a * b, 1)] });
          assertExact(r.gpu[0], r.cpu[0], `reshape ${dtype}`);
          const b = await runBoth("broadcastTo", [x], { shape: [2, ...s.map((d) => d)] });
          assertExact(b.gpu[0], b.cpu[0], `broadcastTo ${dtype}`);
        }
      }),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "sliceGpu() and padGpu() cut and pad any dtype like the CPU",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(shape, fc.nat(), async (s, seed) => {
        const starts = s.map((d, i) => (seed + i) % d);
        const ends = s.map((d, i) => Math.max(starts[i], d - ((seed >> i) % 2)));
        const pads = s.map((_, i) => [(seed + i) % 3, (seed >> i) % 2] as const);
        for (const dtype of DTYPES) {
          const x = randomTensor(dtype, s, seed, -100, 100);
          const sl = await runBoth("slice", [x], { starts, ends });
          assertExact(sl.gpu[0], sl.cpu[0], `slice ${dtype}`);
          const p = await runBoth("pad", [x], { pads, value: -7.5 });
          assertExact(p.gpu[0], p.cpu[0], `pad ${dtype}`);
        }
      }),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "concatGpu() joins one to nine inputs along any axis, seven per dispatch",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(shape, fc.integer({ min: 1, max: 9 }), fc.nat(), async (s, count, seed) => {
        const axis = seed % s.length;
        for (const dtype of ["float32", "int8"] as const) {
          const xs = Array.from(
            { length: count },
            (_, k) =>
              randomTensor(dtype, s.map((d, i) => (i === axis ? (k + seed) % 3 : d)), seed + k, -50, 50),
          );
          const c = await runBoth("concat", xs, { axis: axis - s.length });
          assertExact(c.gpu[0], c.cpu[0], `concat of ${count} ${dtype}`);
        }
      }),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "oneHotGpu() gives float rows with zero rows for labels out of range",
  ...GPU_TEST,
  async fn() {
    for (const dtype of ["int32", "uint8", "int8"] as const) {
      const labels = randomTensor(dtype, [3, 5], 11, dtype === "uint8" ? 0 : -2, 8);
      const r = await runBoth("oneHot", [labels], { numClasses: 6 });
      assertExact(r.gpu[0], r.cpu[0], `oneHot ${dtype}`);
    }
  },
});

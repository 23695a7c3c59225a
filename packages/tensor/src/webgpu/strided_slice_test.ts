import fc from "fast-check";
import type { DType } from "../dtype.ts";
import { assertExact, GPU_FC, GPU_TEST, randomTensor, runBoth } from "./gpu_test_util.ts";

Deno.test({
  name: "sliceGpu() takes strided and reversed slices of any dtype like the CPU",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        async (shape, seed) => {
          const steps = shape.map((_, i) => [1, -1, 2, -3, 3][(seed + i) % 5]);
          const starts = shape.map((d, i) => (steps[i] > 0 ? (seed >> i) % d : d - 1 - ((seed >> i) % d)));
          const ends = shape.map((d, i) => (steps[i] > 0 ? d : -1));
          for (const dtype of ["float32", "int16", "int8", "uint8"] as DType[]) {
            const x = randomTensor(dtype, shape, seed, dtype === "uint8" ? 0 : -100, 100);
            const r = await runBoth("slice", [x], { starts, ends, steps });
            assertExact(r.gpu[0], r.cpu[0], `slice ${dtype} steps ${steps}`);
          }
        },
      ),
      { ...GPU_FC, numRuns: 8 },
    );
  },
});

import fc from "fast-check";
import { assertClose, GPU_FC, GPU_TEST, magnitudeOf, randomTensor, runBoth } from "./gpu_test_util.ts";

const dim = fc.integer({ min: 1, max: 80 });

Deno.test({
  name: "matmulGpu() multiplies with transposes and broadcast batches like the CPU",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(dim, dim, dim, fc.nat(), async (m, k, n, seed) => {
        const transA = seed % 2 === 1, transB = (seed >> 1) % 2 === 1;
        const batchA = [[], [2], [3, 1]][seed % 3], batchB = [[], [1], [2]][(seed >> 2) % 3];
        const a = randomTensor("float32", [...batchA, ...(transA ? [k, m] : [m, k])], seed);
        const b = randomTensor("float32", [...batchB, ...(transB ? [n, k] : [k, n])], seed + 1);
        const attrs = { transA, transB };
        const r = await runBoth("matmul", [a, b], attrs);
        assertClose(r.gpu[0], r.cpu[0], { magnitude: magnitudeOf("matmul", [a, b], attrs) }, "matmul");
      }),
      { ...GPU_FC, numRuns: 6 },
    );
  },
});

Deno.test({
  name: "matmulGpu() handles an empty inner dimension and tile-aligned sizes",
  ...GPU_TEST,
  async fn() {
    for (const [m, k, n] of [[3, 0, 4], [64, 16, 64], [128, 33, 65]]) {
      const a = randomTensor("float32", [m, k], 1), b = randomTensor("float32", [k, n], 2);
      const attrs = { transA: false, transB: false };
      const r = await runBoth("matmul", [a, b], attrs);
      assertClose(r.gpu[0], r.cpu[0], { magnitude: magnitudeOf("matmul", [a, b], attrs) }, `${m}x${k}x${n}`);
    }
  },
});

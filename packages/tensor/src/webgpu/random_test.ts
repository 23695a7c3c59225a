import fc from "fast-check";
import { assertClose, assertExact, GPU_FC, GPU_TEST, runBoth } from "./gpu_test_util.ts";

const key = fc.integer({ min: 0, max: 0xffffffff });

Deno.test({
  name: "randomUniformGpu() draws the CPU's Philox-2x32-10 uniforms bit for bit",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3000 }), key, key, async (n, k0, k1) => {
        const r = await runBoth("randomUniform", [], { shape: [n], k0, k1 });
        assertExact(r.gpu[0], r.cpu[0], "uniform");
      }),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "randomNormalGpu() draws the CPU's Box–Muller normals to float32 accuracy",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3000 }), key, key, async (n, k0, k1) => {
        const r = await runBoth("randomNormal", [], { shape: [n], k0, k1 });
        assertClose(r.gpu[0], r.cpu[0], { abs: 2e-6 }, "normal");
      }),
      GPU_FC,
    );
  },
});

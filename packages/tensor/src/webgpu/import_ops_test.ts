import { assert } from "@std/assert";
import fc from "fast-check";
import { valueAndGrad } from "../autodiff.ts";
import { IMPORT_OP_CASES } from "../import_op_cases.ts";
import { mul } from "../math.ts";
import { randomKey, randomNormal } from "../random.ts";
import { sum } from "../reduce.ts";
import type { Tensor } from "../tensor.ts";
import { GPU_FC, GPU_TEST, testDevice } from "./gpu_test_util.ts";
import { toDevice } from "./resident.ts";

/**
 * |gpu − cpu| ≤ 1e-4 · (|cpu| + 1e-2 · max |cpu|): relative to each value, with a floor of 1 % of the
 * tensor's largest magnitude for values that sums cancel to almost nothing.
 */
function assertNear(gpu: ArrayLike<number>, cpu: ArrayLike<number>, what: string): void {
  assert(gpu.length === cpu.length, `${what}: length ${gpu.length} ≠ ${cpu.length}`);
  let top = 0;
  for (let i = 0; i < cpu.length; i++) top = Math.max(top, Math.abs(cpu[i]));
  for (let i = 0; i < cpu.length; i++) {
    const tol = 1e-4 * (Math.abs(cpu[i]) + 1e-2 * top);
    assert(Math.abs(gpu[i] - cpu[i]) <= tol, `${what}[${i}]: ${gpu[i]} on WebGPU, ${cpu[i]} on the CPU`);
  }
}

for (const c of IMPORT_OP_CASES) {
  Deno.test({
    name: `${c.via} computes ONNX ${c.onnx} on WebGPU like the CPU, forward and backward`,
    ...GPU_TEST,
    async fn() {
      const dev = await testDevice();
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 1 << 20 }), async (seed) => {
          const xs = c.inputs(seed);
          const y = c.f(xs);
          const r = randomNormal(randomKey(seed + 7), y.shape);
          const loss = (ps: Tensor[]) => sum(mul(c.f(ps), r));
          const cpu = valueAndGrad(loss)(xs);
          const gx = xs.map((x) => toDevice(x, dev));
          const yg = c.f(gx);
          assertNear(await yg.read(), y.data, "forward");
          const gpu = valueAndGrad((ps: Tensor[]) => sum(mul(c.f(ps), toDevice(r, dev))))(gx);
          for (let k = 0; k < xs.length; k++) {
            assertNear(await gpu.grad[k].read(), cpu.grad[k].data, `gradient of input ${k}`);
          }
          for (const t of [...gx, yg, gpu.value, ...gpu.grad]) t.dispose();
        }),
        GPU_FC,
      );
    },
  });
}

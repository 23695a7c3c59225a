import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { add, conv2d, mean, mul, relu, sum } from "../../mod.ts";
import { grad, valueAndGrad } from "../autodiff.ts";
import { toCpu } from "../host.ts";
import { randomKey, randomNormal } from "../random.ts";
import { disposeTree, tidy } from "../scope.ts";
import { type Tensor, tensor } from "../tensor.ts";
import { WebGpuDevice } from "./device.ts";
import { GPU_TEST } from "./gpu_test_util.ts";
import { stateToDevice, toDevice } from "./resident.ts";

Deno.test({
  name: "ops on device tensors run on the GPU, stay there, and read back equal to the CPU",
  ...GPU_TEST,
  fn: async () => {
    const dev = await WebGpuDevice.create();
    try {
      const x = randomNormal(randomKey(0), [2, 3, 8, 8]), w = randomNormal(randomKey(1), [4, 3, 3, 3]);
      const f = (w: Tensor) => mean(relu(conv2d(x, w, { padding: 1 })));
      const cpu = valueAndGrad(f)(w);
      const xg = toDevice(x, dev);
      const g = valueAndGrad((w: Tensor) => mean(relu(conv2d(xg, w, { padding: 1 }))))(toDevice(w, dev));
      assert(g.value.device === "webgpu" && g.grad.device === "webgpu");
      assertThrows(() => g.grad.data, Error, "await tensor.read()");
      assert(String(g.grad).includes("on webgpu"));
      assert(Math.abs((await g.value.read())[0] - cpu.value.item()) < 1e-5);
      const a = cpu.grad.data, b = await g.grad.read();
      for (let i = 0; i < a.length; i++) assert(Math.abs(a[i] - b[i]) < 1e-5);
      // After a read, data is there, and toCpu gives a host tensor.
      assertEquals(g.grad.data.length, a.length);
      assertEquals((await toCpu(g.grad)).device, "cpu");
    } finally {
      dev.destroy();
    }
  },
});

Deno.test({
  name: "tidy releases every device tensor its function made except the result; disposeTree releases a state",
  ...GPU_TEST,
  fn: async () => {
    const dev = await WebGpuDevice.create();
    try {
      const x = toDevice(tensor([1, 2, 3]), dev);
      const before = dev.stats().inUse;
      const y = tidy(() => add(mul(add(x, 1), 2), x)); // two temporaries
      assertEquals(dev.stats().inUse, before + 1);
      assertEquals([...(await y.read())], [5, 8, 11]);
      const nested = tidy(() => {
        const inner = tidy(() => [add(x, 1), add(x, 2)]);
        return { keep: inner[0], sum: sum(inner[1]) };
      });
      assertEquals(dev.stats().inUse, before + 3); // y, keep, sum
      disposeTree(nested, { keep: nested.keep });
      assertEquals(dev.stats().inUse, before + 2);
      y.dispose();
      y.dispose(); // idempotent
      nested.keep.dispose();
      assertEquals(dev.stats().inUse, before);
      // A disposed tensor that was never read is an error to read.
      const z = add(x, 1);
      z.dispose();
      await assertRejects(() => z.read(), Error, "disposed");
      assertThrows(() => add(z, 1), Error, "disposed");
      // Gradients through tidy: only the gradient survives.
      const g = tidy(() => grad((t: Tensor) => sum(mul(t, t)))(x));
      assertEquals([...(await g.read())], [2, 4, 6]);
    } finally {
      dev.destroy();
    }
  },
});

Deno.test({
  name: "stateToDevice keeps integer counters on the host; mixing devices is an error",
  ...GPU_TEST,
  fn: async () => {
    const a = await WebGpuDevice.create(), b = await WebGpuDevice.create();
    try {
      const s = stateToDevice({ w: tensor([1, 2]), n: tensor(new Int32Array([3]), { shape: [] }) }, a);
      assert(s.w.device === "webgpu" && s.n.device === "cpu");
      assertThrows(() => add(s.w, toDevice(tensor([1, 1]), b)), Error, "different devices");
      assertThrows(() => toDevice(s.w, b), Error, "another device");
      assert(toDevice(s.w, a) === s.w);
    } finally {
      a.destroy();
      b.destroy();
    }
  },
});

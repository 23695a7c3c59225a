import { assert, assertEquals, assertThrows } from "@std/assert";
import { grid, WebGpuDevice } from "./device.ts";
import { GPU_TEST, randomTensor, testDevice } from "./gpu_test_util.ts";
import { runOpOnGpu } from "./kernels.ts";
import { allocTensor, readTensor, releaseTensor, uploadTensor } from "./gpu_tensor.ts";
import { GPU_KERNELS } from "./kernels.ts";

Deno.test("grid() keeps every dimension within 65535 and covers all groups", () => {
  for (const g of [1, 65535, 65536, 200000, 65535 * 65535]) {
    const [x, y, z] = grid(g);
    assert(x <= 65535 && y <= 65535 && z === 1 && x * y >= g && x * (y - 1) < g, `${g}`);
  }
});

Deno.test({
  name: "WebGpuDevice keeps its pool bounded over 1,000 runs of a small op sequence",
  ...GPU_TEST,
  async fn() {
    const dev = await WebGpuDevice.create({ maxBatch: 16 });
    const x = randomTensor("float32", [8, 16], 1), w = randomTensor("float32", [16, 4], 2);
    const step = async (read: boolean) => {
      const xg = uploadTensor(dev, x.data, x.shape), wg = uploadTensor(dev, w.data, w.shape);
      const [y] = GPU_KERNELS.matmul(dev, [xg, wg], { transA: false, transB: false }, [{
        shape: [8, 4],
        dtype: "float32",
      }]);
      const [z] = GPU_KERNELS.exp(dev, [y], {}, [{ shape: [8, 4], dtype: "float32" }]);
      const [s] = GPU_KERNELS.sum(dev, [z], { axes: [1], keepDims: false }, [{
        shape: [8],
        dtype: "float32",
      }]);
      const out = read ? Array.from(await readTensor(dev, s)) : [];
      for (const t of [xg, wg, y, z, s]) releaseTensor(dev, t);
      return out;
    };
    const first = await step(true);
    for (let i = 0; i < 10; i++) await step(false);
    await dev.idle();
    const after10 = dev.stats();
    for (let i = 0; i < 1000; i++) assertEquals(await step(i % 100 === 99), i % 100 === 99 ? first : []);
    await dev.idle();
    const end = dev.stats();
    assertEquals(end.inUse, 0);
    assert(
      end.buffers <= after10.buffers + 2 && end.bytes <= after10.bytes + 2048,
      `pool grew: ${JSON.stringify([after10, end])}`,
    );
    assert(end.reused > 5000, "buffers are reused");
    dev.destroy();
  },
});

Deno.test({
  name: "WebGpuDevice batches dispatches into few submissions and reports the pipelines it compiled",
  ...GPU_TEST,
  async fn() {
    const dev = await WebGpuDevice.create({ maxBatch: 8 });
    let t = uploadTensor(dev, Float32Array.of(1, 2, 3), [3]);
    const before = dev.stats().submissions;
    for (let i = 0; i < 20; i++) {
      const [next] = GPU_KERNELS.neg(dev, [t], {}, [{ shape: [3], dtype: "float32" }]);
      releaseTensor(dev, t);
      t = next;
    }
    assertEquals(Array.from(await readTensor(dev, t)), [1, 2, 3]);
    const s = dev.stats();
    assertEquals(s.submissions - before, 3, "20 dispatches: two full batches of 8, then one with the read");
    assertEquals(s.pipelines, 1);
    dev.destroy();
  },
});

Deno.test({
  name: "WebGpuDevice rejects mismatched bindings and oversized buffers",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    const spec = {
      name: "k",
      inputs: [],
      outputs: [{ name: "y", type: "f32" as const }],
      uniforms: [],
      workgroupSize: [1, 1, 1] as const,
      body: "",
    };
    assertThrows(
      () => dev.dispatch(spec, { inputs: [], outputs: [], workgroups: [1, 1, 1] }),
      TypeError,
      "takes 0 inputs and 1 outputs",
    );
    assertThrows(
      () => dev.acquire(dev.maxBindingBytes + 4),
      RangeError,
      "exceeds this device's largest storage binding",
    );
    const out = allocTensor(dev, { shape: [1], dtype: "float32" });
    assertThrows(
      () => dev.dispatch(spec, { inputs: [], outputs: [out.buffer], workgroups: [70000, 1, 1] }),
      RangeError,
      "exceeds 65535",
    );
    releaseTensor(dev, out);
  },
});

Deno.test({
  name: "runOpOnGpu() returns every buffer to the pool and checks that dtypes match the data",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    const a = { data: Int8Array.of(1, 2), shape: [2], dtype: "int8" as const };
    const [y] = await runOpOnGpu(dev, "add", [a, a], {}, [{ shape: [2], dtype: "int8" }]);
    assertEquals(Array.from(y), [2, 4]);
    assertEquals(dev.stats().inUse, 0);
    const wrong = { data: Int8Array.of(1, 2), shape: [2], dtype: "int16" as const };
    let threw = false;
    try {
      await runOpOnGpu(dev, "neg", [wrong], {}, [{ shape: [2], dtype: "int16" }]);
    } catch (e) {
      threw = e instanceof TypeError && /holds int8 data/.test(e.message);
    }
    assert(threw, "a dtype that does not match the array is a TypeError");
    assertEquals(dev.stats().inUse, 0);
  },
});

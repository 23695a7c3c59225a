import { assert, assertEquals, assertRejects } from "@std/assert";
import { type IntModel, lowerProgram, releaseIntModelGpu, runIntModel, runIntModelGpu } from "@hqat/program";
import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";
import { everyOpModel, randomInput } from "../testdata/programs.ts";

const GPU_TEST = {
  ignore: !(await probeWebGpu()).available,
  sanitizeResources: false,
  sanitizeOps: false,
} as const;

let device: Promise<WebGpuDevice> | undefined;
const testDevice = () => device ??= WebGpuDevice.create({ maxBatch: 1024 });

/** Runs `model` on the CPU and the GPU and asserts every buffer's integers and the output are equal. */
async function assertSameRun(model: IntModel, shape: number[], seed: number, keepAll = true): Promise<void> {
  const x = randomInput(shape, seed);
  const ref = runIntModel(model, x, shape, { keepAll });
  const gpu = await runIntModelGpu(model, x, shape, { device: await testDevice(), keepAll });
  if (keepAll) {
    assertEquals([...gpu.all!.keys()], [...ref.all!.keys()]);
    for (const [name, q] of ref.all!) assertEquals(gpu.all!.get(name), q, `buffer ${name}`);
  }
  assertEquals(gpu.raw, ref.raw);
  assertEquals(gpu.shape, ref.shape);
  assert(gpu.output.every((v, i) => Object.is(v, ref.output[i])), "dequantized output differs");
}

Deno.test({
  name:
    "runIntModelGpu() gives runIntModel()'s integers at every buffer of models using every kind, O0 and O1, batch 1 and 3",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    const before = dev.stats().inUse;
    for (const seed of [1, 2, 3]) {
      for (const model of [everyOpModel(seed), lowerProgram(everyOpModel(seed), { opt: "O1" })]) {
        await assertSameRun(model, [1, 3, 8, 8], seed + 10);
        await assertSameRun(model, [3, 3, 8, 8], seed + 20);
        await assertSameRun(model, [2, 3, 8, 8], seed + 30, false);
        assert(releaseIntModelGpu(model, dev) && !releaseIntModelGpu(model, dev));
      }
    }
    assertEquals(dev.stats().inUse, before, "every buffer went back to the pool");
  },
});

Deno.test({
  name: "runIntModelGpu() rejects what runIntModel() rejects",
  ...GPU_TEST,
  async fn() {
    const device = await testDevice();
    const model = everyOpModel(4);
    const nan = randomInput([1, 3, 8, 8], 1);
    nan[5] = NaN;
    await assertRejects(() => runIntModelGpu(model, nan, [1, 3, 8, 8], { device }), RangeError, "NaN");
    await assertRejects(() => runIntModelGpu(model, nan, [1, 3, 8, 9], { device }), RangeError, "[N,3,8,8]");
    await assertRejects(
      () => runIntModelGpu(model, new Float32Array(243), [1, 3, 9, 9], { device }),
      RangeError,
    );
  },
});

/**
 * The fixed-point MobileNetV2 of the quick start (converted through the real pipeline, int8 and with
 * int16 blocks) on every executor path: the fast CPU kernels against the reference kernels at every
 * buffer, and WebGPU against the CPU bit for bit.
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { type IntModel, runIntModel, runIntModelGpu } from "@hqat/program";
import { default_calib_16bit_fake_quant_qconfig as c16 } from "@hqat/qtensor";
import { probeWebGpu, randomKey, randomUniform, WebGpuDevice } from "@hqat/tensor";
import { mobileNetV2IntModel } from "../packages/hbdk/testdata/mobilenet_v2.ts";

function checkReference(model: IntModel): void {
  const x = randomUniform(randomKey(20), [3, 3, 32, 32], { min: -1, max: 1 });
  const input = x.data as Float32Array;
  const fast = runIntModel(model, input, x.shape, { keepAll: true });
  const ref = runIntModel(model, input, x.shape, { keepAll: true, reference: true });
  assertEquals([...fast.all!.keys()], [...ref.all!.keys()]);
  for (const [name, q] of ref.all!) assertEquals(fast.all!.get(name), q, `buffer ${name}`);
  assertEquals(fast.output, ref.output);
  assertEquals(fast.shape, [3, 10]);
}

Deno.test("runIntModel() gives the reference kernels' integers at every buffer of an int8 MobileNetV2", () => {
  const model = mobileNetV2IntModel();
  assert(model.instructions.some((i) => i.op === "conv2d" && i.groups > 1), "has depthwise layers");
  assert(model.instructions.some((i) => i.op === "linear"), "has a linear layer");
  checkReference(model);
});

Deno.test("runIntModel() gives the reference kernels' integers with int16 activations", () => {
  const model = mobileNetV2IntModel({ "features.1": c16, "features.2": c16 });
  assert(model.buffers.some((b) => b.dtype === "qint16"), "has int16 activations");
  checkReference(model);
});

const GPU_TEST = {
  ignore: !(await probeWebGpu()).available,
  sanitizeResources: false,
  sanitizeOps: false,
} as const;

/** Runs `model` on the CPU and the GPU and asserts every buffer's integers and the output are equal. */
async function assertSameRun(
  model: IntModel,
  shape: number[],
  seed: number,
  device: WebGpuDevice,
  keepAll: boolean,
) {
  const x = randomUniform(randomKey(seed), shape, { min: -1, max: 1 }).data as Float32Array;
  const ref = runIntModel(model, x, shape, { keepAll });
  const gpu = await runIntModelGpu(model, x, shape, { device, keepAll });
  if (keepAll) {
    assertEquals([...gpu.all!.keys()], [...ref.all!.keys()]);
    for (const [name, q] of ref.all!) assertEquals(gpu.all!.get(name), q, `buffer ${name}`);
  }
  assertEquals(gpu.raw, ref.raw);
  assertEquals(gpu.shape, ref.shape);
  assert(gpu.output.every((v, i) => Object.is(v, ref.output[i])), "dequantized output differs");
}

Deno.test({
  name: "runIntModelGpu() equals runIntModel() bit for bit on MobileNetV2 at 32×32 (int8, and int16 blocks)",
  ...GPU_TEST,
  async fn() {
    const device = await WebGpuDevice.create({ maxBatch: 1024 });
    const int8 = mobileNetV2IntModel();
    await assertSameRun(int8, [3, 3, 32, 32], 5, device, true);
    await assertSameRun(int8, [1, 3, 32, 32], 6, device, false);
    const int16 = mobileNetV2IntModel({ "features.1": c16, "features.2": c16 });
    await assertSameRun(int16, [2, 3, 32, 32], 7, device, false);
    device.destroy();
  },
});

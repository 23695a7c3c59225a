import { assert, assertEquals, assertGreater, assertRejects } from "@std/assert";
import { compileProgram, loadHbm } from "@hqat/hbdk";
import {
  type IntModel,
  OPT_LEVELS,
  ProgramRunError,
  releaseIntModelGpu,
  runIntModel,
  runIntModelGpu,
} from "@hqat/program";
import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";
import {
  mobileNetV2IntModel,
  randomInput,
  tinyIntModel,
  wideConvIntModel,
} from "../testdata/mobilenet_v2.ts";

const GPU_TEST = {
  ignore: !(await probeWebGpu()).available,
  sanitizeResources: false,
  sanitizeOps: false,
} as const;
const quiet = { log: () => {} };

let device: Promise<WebGpuDevice> | undefined;
const testDevice = () => device ??= WebGpuDevice.create({ maxBatch: 1024 });

/**
 * Compiles `model` at `opt` for `batch` frames, runs `n` frames of the `.hbm` on the CPU and on
 * WebGPU (raw and float) and asserts they are equal, and equal to the int model run directly; frees
 * the program's parameters on the device.
 */
async function assertSameRun(
  model: IntModel,
  opt: (typeof OPT_LEVELS)[number],
  batch: number,
  n: number,
  seed: number,
): Promise<void> {
  const dev = await testDevice();
  const shape = [n, ...model.inputShape.slice(1)];
  const x = randomInput(shape, seed);
  const { bytes } = compileProgram(model, [{ shape: [batch, ...shape.slice(1)] }], { opt, ...quiet });
  const program = loadHbm(bytes, { fileName: `${opt}.hbm` });
  const gpu = await runIntModelGpu(program, x, shape, { device: dev });
  const ref = runIntModel(program, x, shape);
  assertEquals(gpu.raw.dtype, ref.raw.dtype);
  assertEquals(gpu.raw.shape, ref.raw.shape);
  assertEquals([...gpu.raw.data], [...ref.raw.data], `${opt}: raw integers differ`);
  assertEquals([...gpu.raw.scale], [...ref.raw.scale]);
  assertEquals(gpu.shape, ref.shape);
  assert(gpu.output.every((v, i) => Object.is(v, ref.output[i])), `${opt}: dequantized output differs`);
  const im = runIntModel(model, x, shape);
  assert(gpu.output.every((v, i) => Object.is(v, im.output[i])), `${opt}: differs from the int model`);
  assert(releaseIntModelGpu(program, dev));
}

Deno.test({
  name:
    "runIntModelGpu() of a .hbm equals the CPU on models using every instruction kind, at every opt level, batch 1 and 3",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    const before = dev.stats().inUse;
    for (const seed of [11, 12, 13]) {
      for (const opt of OPT_LEVELS) {
        // Compiled for 2 frames: run on 1 (a short run) and on 3 (more than the compiled batch).
        await assertSameRun(tinyIntModel(seed), opt, 2, 1, seed + 1);
        await assertSameRun(tinyIntModel(seed), opt, 2, 3, seed + 2);
      }
    }
    assertEquals(dev.stats().inUse, before, "every buffer went back to the pool");
  },
});

Deno.test({
  name: "runIntModelGpu() of a .hbm equals the CPU bit for bit on MobileNetV2 at 32×32 at every opt level",
  ...GPU_TEST,
  async fn() {
    const model = mobileNetV2IntModel();
    for (const opt of OPT_LEVELS) await assertSameRun(model, opt, 1, 2, 3);
  },
});

Deno.test({
  name: "runIntModelGpu() runs O3's row-tiled convolution whole with the same integers",
  ...GPU_TEST,
  async fn() {
    const model = wideConvIntModel(128);
    const r = compileProgram(model, [{ shape: [1, 4, 128, 128] }], { opt: "O3", ...quiet });
    const conv = r.program.instructions.find((i) => i.op === "conv2d")!;
    assert(conv.op === "conv2d" && conv.tileRows < 128, "the 128×128 convolution is tiled");
    assertGreater(r.tiles[0].tiles, 1);
    await assertSameRun(model, "O3", 1, 1, 5);
  },
});

Deno.test({
  name: "runIntModelGpu() of a .hbm rejects what the CPU rejects",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    const program = loadHbm(compileProgram(tinyIntModel(1), [{ shape: [1, 3, 8, 8] }], quiet).bytes);
    const run = (x: Float32Array, shape: number[]) => runIntModelGpu(program, x, shape, { device: dev });
    const e = await assertRejects(() => run(new Float32Array(3 * 8 * 9), [1, 3, 8, 9]), ProgramRunError);
    assert(e.message.includes("[N,3,8,8]"));
    await assertRejects(() => run(new Float32Array(5), [1, 3, 8, 8]), ProgramRunError, "needs 192");
    await assertRejects(() => run(new Float32Array(0), [0, 3, 8, 8]), ProgramRunError);
    const nan = new Float32Array(192).fill(NaN);
    await assertRejects(
      () => run(nan, [1, 3, 8, 8]),
      ProgramRunError,
      "the input holds NaN (frame 0, value 0)",
    );
  },
});

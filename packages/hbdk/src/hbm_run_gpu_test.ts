import { assert, assertEquals, assertGreater, assertRejects } from "@std/assert";
import { type IntModel, runIntModel } from "@hqat/fx";
import {
  compileProgram,
  HbmRuntimeError,
  loadHbm,
  OPT_LEVELS,
  releaseHbmGpu,
  runHbm,
  runHbmGpu,
} from "@hqat/hbdk";
import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";
import { mobileNetV2IntModel, randomInput, tinyIntModel, wideConvIntModel } from "./models_test_util.ts";

const GPU_TEST = {
  ignore: !(await probeWebGpu()).available,
  sanitizeResources: false,
  sanitizeOps: false,
} as const;
const quiet = { log: () => {} };

let device: Promise<WebGpuDevice> | undefined;
const testDevice = () => device ??= WebGpuDevice.create({ maxBatch: 1024 });

/**
 * Compiles `model` at `opt` for `batch` frames, runs `n` frames through `runHbm` and `runHbmGpu`
 * (raw and float) and asserts they are equal, and equal to `runIntModel`; frees the program's
 * parameters on the device.
 */
async function assertSameRun(
  model: IntModel,
  opt: (typeof OPT_LEVELS)[number],
  batch: number,
  n: number,
  seed: number,
): Promise<void> {
  const dev = await testDevice();
  const shape = [n, ...model.nodes[0].shape.slice(1)];
  const x = randomInput(shape, seed);
  const { bytes } = compileProgram(model, [{ shape: [batch, ...shape.slice(1)] }], { opt, ...quiet });
  const program = loadHbm(bytes, { fileName: `${opt}.hbm` });
  const raw = await runHbmGpu(program, x, shape, { device: dev, raw: true });
  const ref = runHbm(program, x, shape, { raw: true });
  assertEquals(raw.dtype, ref.dtype);
  assertEquals(raw.shape, ref.shape);
  assertEquals([...raw.data], [...ref.data], `${opt}: raw integers differ`);
  assertEquals([...raw.scale], [...ref.scale]);
  const out = await runHbmGpu(program, x, shape, { device: dev });
  const refOut = runHbm(program, x, shape);
  assertEquals([out.dtype, out.shape, [...out.scale]], [refOut.dtype, refOut.shape, [...refOut.scale]]);
  assert(out.data.every((v, i) => Object.is(v, refOut.data[i])), `${opt}: dequantized output differs`);
  const im = runIntModel(model, x, shape);
  assert(out.data.every((v, i) => Object.is(v, im.output[i])), `${opt}: differs from runIntModel`);
  assert(releaseHbmGpu(program, dev));
}

Deno.test({
  name: "runHbmGpu() equals runHbm() on models using every integer op, at every opt level, batch 1 and 3",
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
  name: "runHbmGpu() equals runHbm() bit for bit on MobileNetV2 at 32×32 at every opt level",
  ...GPU_TEST,
  async fn() {
    const model = mobileNetV2IntModel();
    for (const opt of OPT_LEVELS) await assertSameRun(model, opt, 1, 2, 3);
  },
});

Deno.test({
  name: "runHbmGpu() runs O3's row-tiled convolution whole with the same integers",
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
  name: "runHbmGpu() rejects what runHbm() rejects",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    const program = loadHbm(compileProgram(tinyIntModel(1), [{ shape: [1, 3, 8, 8] }], quiet).bytes);
    const run = (x: Float32Array, shape: number[]) => runHbmGpu(program, x, shape, { device: dev });
    const e = await assertRejects(() => run(new Float32Array(3 * 8 * 9), [1, 3, 8, 9]), HbmRuntimeError);
    assert(e.message.includes("[N,3,8,8]"));
    await assertRejects(() => run(new Float32Array(5), [1, 3, 8, 8]), HbmRuntimeError, "needs 192");
    await assertRejects(() => run(new Float32Array(0), [0, 3, 8, 8]), HbmRuntimeError);
    const nan = new Float32Array(192).fill(NaN);
    await assertRejects(() => run(nan, [1, 3, 8, 8]), RangeError, "Cannot quantize NaN");
  },
});

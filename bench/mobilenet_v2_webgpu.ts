/**
 * MobileNetV2 training and evaluation on WebGPU beside the CPU backend, in images per second, with the
 * adapter named. On a software adapter (llvmpipe, SwiftShader) the batches are small and the figures are
 * for the record only: such adapters run the kernels far slower than the CPU backend, which is why
 * `--device auto` does not pick them.
 *
 * Run: `deno run -A bench/mobilenet_v2_webgpu.ts [--batch B] [--iters N]`.
 * @module
 */
import {
  adam,
  createTrainState,
  forward,
  initState,
  makeTrainStep,
  mobilenetV2,
  trainStateToDevice,
} from "@hqat/nn";
import {
  disposeTree,
  foldIn,
  probeWebGpu,
  randomKey,
  stateToDevice,
  tidy,
  toDevice,
  WebGpuDevice,
} from "@hqat/tensor";
import { parseArgs } from "@std/cli";
import { randomBatch } from "./random_batch.ts";

const args = parseArgs(Deno.args, { string: ["batch", "iters"] });
const probe = await probeWebGpu();
if (!probe.available) {
  console.log(`MobileNetV2 on WebGPU: skipped (${probe.reason})`);
  Deno.exit(0);
}
const batchSize = Number(args.batch ?? (probe.software ? 8 : 64));
const iters = Number(args.iters ?? (probe.software ? 2 : 10));
const dev = await WebGpuDevice.create();
const model = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
const opt = adam({ lr: 1e-3, weightDecay: 1e-3 });
const step = makeTrainStep(model, opt);
const state0 = initState(model, randomKey(0));

/** Images per second of the training step on the CPU, or on the GPU when `gpu` (loss read back each step). */
async function timeTrain(gpu: boolean): Promise<number> {
  const { x: xc, y } = randomBatch(batchSize, 1);
  const x = gpu ? toDevice(xc, dev) : xc;
  let ts = createTrainState(model, state0, opt);
  if (gpu) ts = trainStateToDevice(ts, dev);
  const one = async (i: number) => {
    const out = tidy(() => step(ts, x, y, { key: foldIn(randomKey(3), i) }));
    if (gpu) disposeTree(ts, out.state);
    await out.lossTensor!.read();
    out.lossTensor!.dispose();
    out.logits.dispose();
    ts = out.state;
  };
  await one(-1); // warm-up: pipelines compile, buffers fill the pool
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await one(i);
  return (batchSize * iters) / ((performance.now() - t0) / 1000);
}

async function timeEval(gpu: boolean): Promise<number> {
  const n = batchSize * 4;
  const { x: xc } = randomBatch(n, 5);
  const x = gpu ? toDevice(xc, dev) : xc;
  const state = gpu ? stateToDevice(state0, dev) : state0;
  const one = async () => {
    const y = tidy(() => forward(model, state, x).y);
    await y.read();
    y.dispose();
  };
  await one();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await one();
  return (n * iters) / ((performance.now() - t0) / 1000);
}

const rows: [string, number, number][] = [
  [`train step, batch ${batchSize}`, await timeTrain(false), await timeTrain(true)],
  [`eval, batch ${batchSize * 4}`, await timeEval(false), await timeEval(true)],
];
console.log(
  `MobileNetV2 (10 classes, 3×32×32) on WebGPU: ${probe.reason}${
    probe.software ? " — correctness only" : ""
  }`,
);
console.log(`  ${"".padEnd(24)} ${"CPU".padStart(10)} ${"WebGPU".padStart(10)}   images/s`);
for (const [name, cpu, gpu] of rows) {
  console.log(
    `  ${name.padEnd(24)} ${cpu.toFixed(1).padStart(10)} ${gpu.toFixed(1).padStart(10)}   ${
      (gpu / cpu).toFixed(2)
    }× the CPU`,
  );
}
const s = dev.stats();
console.log(
  `  GPU pool: ${s.buffers} buffers, ${
    (s.bytes / 2 ** 20).toFixed(1)
  } MiB, ${s.pipelines} pipelines, ${s.submissions} submissions`,
);
dev.destroy();

/**
 * The fixed-point model and the compiled `.hbm` on WebGPU against the CPU on the whole Fashion-MNIST
 * test set: a saved int model is run through `runIntModel` (CPU) and `runIntModelGpu`, and — compiled
 * with `compileModel` at O1 — through `runIntModelGpu` again; the script prints how many images'
 * outputs differ from the CPU's (raw integers, and dequantized floats compared bit for bit), the top-1
 * accuracy and images/s of each path, and the WebGPU adapter. The test images are read and
 * preprocessed as `hqat` evaluates them (the data set's loader in order, centered YUV / 128). Each GPU
 * path runs the first batch once before timing (pipeline compilation and the weights' upload).
 *
 *   deno run -A bench/int_model_webgpu.ts --model DIR/int_model [--limit N] [--batch B]
 * @module
 */
import { parseArgs } from "@std/cli";
import { createLoader, loadFashionMnist } from "@hqat/data";
import { type IntRunResult, loadIntModel, runIntModel, runIntModelGpu } from "@hqat/fx";
import { compileModel, loadHbm } from "@hqat/hbdk";
import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";

const args = parseArgs(Deno.args, { string: ["model", "limit", "batch"] });
if (!args.model) {
  console.error("usage: deno run -A bench/int_model_webgpu.ts --model DIR/int_model [--limit N] [--batch B]");
  Deno.exit(2);
}
const batch = Number(args.batch ?? 128);
const limit = args.limit === undefined ? undefined : Number(args.limit);
if (
  !(Number.isInteger(batch) && batch >= 1) ||
  (limit !== undefined && !(Number.isInteger(limit) && limit >= 1))
) {
  throw new RangeError(`--batch and --limit must be positive integers, got ${args.batch} and ${args.limit}`);
}

const probe = await probeWebGpu();
if (!probe.available) throw new Error(`WebGPU is unavailable: ${probe.reason}`);
const device = await WebGpuDevice.create({ maxBatch: 4096 });
console.log(
  `adapter: ${device.adapterInfo.description || device.adapterInfo.vendor} (software: ${device.software})`,
);

const model = await loadIntModel(args.model);
const inputShape = [1, ...model.inputShape.slice(1)];
const dir = await Deno.makeTempDir({ prefix: "hqat-bench-" });
let hbmBytes: Uint8Array;
try {
  const hbm = `${dir}/model.hbm`;
  await compileModel(model, [{ shape: inputShape }], { opt: "O1", hbm, log: () => {} });
  hbmBytes = await Deno.readFile(hbm);
} finally {
  await Deno.remove(dir, { recursive: true });
}
const program = loadHbm(hbmBytes, { fileName: "model.hbm" });
console.log(
  `model: ${args.model} (${model.instructions.length} instructions at O0); O1 program: ${program.instructions.length} instructions, ` +
    `compiled for [${program.inputShape}]`,
);

interface Path {
  readonly name: string;
  /** The raw integers and the dequantized floats of a batch. */
  readonly run: (x: Float32Array, shape: number[]) => Promise<{ raw: ArrayLike<number>; out: Float32Array }>;
  ms: number;
  correct: number;
  rawDiff: number;
  floatDiff: number;
}

const fromInt = (r: IntRunResult) => ({ raw: r.raw.data, out: r.output });
const path = (name: string, run: Path["run"]): Path => ({
  name,
  run,
  ms: 0,
  correct: 0,
  rawDiff: 0,
  floatDiff: 0,
});
const cpu = path("runIntModel (CPU)", (x, s) => Promise.resolve(fromInt(runIntModel(model, x, s))));
const paths = [
  cpu,
  path("runIntModelGpu", async (x, s) => fromInt(await runIntModelGpu(model, x, s, { device }))),
  path(".hbm O1 on runIntModelGpu", async (x, s) => fromInt(await runIntModelGpu(program, x, s, { device }))),
];

const test = createLoader(await loadFashionMnist({ split: "test" }), { batchSize: batch, limit });
let images = 0, warm = false;
for await (const b of test) {
  const x = b.x as Float32Array, shape = [...b.shape], n = shape[0];
  if (!warm) {
    for (const p of paths.slice(1)) await p.run(x, shape);
    warm = true;
  }
  const results = [];
  for (const p of paths) {
    const t0 = performance.now();
    results.push(await p.run(x, shape));
    p.ms += performance.now() - t0;
  }
  const ref = results[0], classes = ref.out.length / n;
  for (const [k, p] of paths.entries()) {
    const r = results[k];
    for (let i = 0; i < n; i++) {
      let rawSame = true, floatSame = true, best = 0;
      for (let c = 0; c < classes; c++) {
        const j = i * classes + c;
        rawSame &&= r.raw[j] === ref.raw[j];
        floatSame &&= Object.is(r.out[j], ref.out[j]);
        if (r.out[j] > r.out[i * classes + best]) best = c;
      }
      if (!rawSame) p.rawDiff++;
      if (!floatSame) p.floatDiff++;
      if (best === b.y[i]) p.correct++;
    }
  }
  images += n;
  if (images % (batch * 10) === 0) console.log(`  ${images} images`);
}

console.log(`${images} test images, batch ${batch}`);
for (const p of paths) {
  const diff = p === cpu
    ? "reference"
    : `${p.rawDiff} images with a different raw output, ${p.floatDiff} with a different float output`;
  console.log(
    `${p.name}: top-1 ${(100 * p.correct / images).toFixed(2)} %, ${
      (images / (p.ms / 1000)).toFixed(1)
    } images/s ` +
      `(${(p.ms / 1000).toFixed(1)} s); ${diff}`,
  );
}
device.destroy();

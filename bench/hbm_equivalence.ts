/**
 * The `.hbm` runtime against the integer reference on the whole Fashion-MNIST test set: a
 * MobileNetV2 (random initialization, or `--weights` from a float checkpoint) is calibrated on
 * training images, converted, compiled at each `--opt` level for `--batch` frames, and every test
 * image is run through the int model and through each compiled `.hbm` (`runIntModel` on both); the
 * script prints how many outputs differ (raw integers, and their dequantized floats compared bit for
 * bit). With `--reference` the int model also runs on the reference kernels (`@hqat/qtensor`, the
 * executor's `reference` option) and the fast kernels' outputs are counted against those.
 *
 *   deno run -A bench/hbm_equivalence.ts [--opt O1,O3] [--batch 64] [--limit N] [--weights W.safetensors]
 *                                        [--reference]
 * @module
 */
import { parseArgs } from "@std/cli";
import { createLoader, loadFashionMnist } from "@hqat/data";
import { convertFx, prepareQatFx, qatStateFromFloat, runIntModel, setFakeQuantize } from "@hqat/fx";
import { compileProgram, loadHbm } from "@hqat/hbdk";
import { March, setMarch } from "@hqat/march-bayes";
import { forward, initState, loadState, mobilenetV2 } from "@hqat/nn";
import type { OptLevel } from "@hqat/program";
import {
  default_calib_8bit_fake_quant_qconfig as c8,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig as c32,
  FakeQuantState,
} from "@hqat/qtensor";
import { fromArray, randomKey } from "@hqat/tensor";

const args = parseArgs(Deno.args, {
  string: ["opt", "batch", "limit", "weights", "calib-batches"],
  boolean: ["reference"],
});
const opts = (args.opt ?? "O1,O3").split(",") as OptLevel[];
const batch = Number(args.batch ?? 64);
const limit = args.limit === undefined ? undefined : Number(args.limit);

setMarch(March.BAYES);
const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
const floatState = args.weights ? await loadState(args.weights, float) : initState(float, randomKey(0));
const calib = prepareQatFx(float, { "": c8, moduleName: { classifier: c32 } });
let state = qatStateFromFloat(calib, floatState);
const calibModel = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
const train = createLoader(await loadFashionMnist({ split: "train" }), {
  batchSize: 128,
  limit: 128 * Number(args["calib-batches"] ?? 4),
});
for await (const b of train) state = forward(calibModel, state, fromArray(b.x, b.shape)).state;
const intModel = convertFx(setFakeQuantize(calib, FakeQuantState.VALIDATION), state);

const test = createLoader(await loadFashionMnist({ split: "test" }), { batchSize: batch, limit });
const programs = opts.map((opt) => {
  const r = compileProgram(intModel, [{ shape: [batch, 3, 32, 32] }], { opt, log: () => {} });
  console.log(
    `${opt}: ${r.bytes.length} bytes, ${r.program.instructions.length} instructions, arena ${
      r.program.placement!.arenaBytes
    } bytes, ` +
      `${r.tiles.filter((t) => t.tiles > 1).length} tiled convolutions`,
  );
  return { opt, program: loadHbm(r.bytes, { fileName: `${opt}.hbm` }), raw: 0, float: 0, ms: 0 };
});
let images = 0, refMs = 0, kernelMs = 0, kernelDiffers = 0;
for await (const b of test) {
  const x = b.x as Float32Array, n = b.shape[0], classes = 10;
  let t0 = performance.now();
  const ref = runIntModel(intModel, x, b.shape);
  refMs += performance.now() - t0;
  if (args.reference) {
    t0 = performance.now();
    const slow = runIntModel(intModel, x, b.shape, { reference: true });
    kernelMs += performance.now() - t0;
    for (let i = 0; i < n; i++) {
      let same = true;
      for (let c = i * classes; c < (i + 1) * classes; c++) {
        same &&= slow.raw.data[c] === ref.raw.data[c] && Object.is(slow.output[c], ref.output[c]);
      }
      if (!same) kernelDiffers++;
    }
  }
  for (const p of programs) {
    t0 = performance.now();
    const r = runIntModel(p.program, x, b.shape);
    const raw = r.raw.data, out = r.output;
    p.ms += performance.now() - t0;
    for (let i = 0; i < n; i++) {
      let rawSame = true, floatSame = true;
      for (let c = i * classes; c < (i + 1) * classes; c++) {
        rawSame &&= raw[c] === ref.raw.data[c];
        floatSame &&= Object.is(out[c], ref.output[c]);
      }
      if (!rawSame) p.raw++;
      if (!floatSame) p.float++;
    }
  }
  images += n;
}
console.log(`${images} test images; runIntModel ${(refMs / 1000).toFixed(1)} s`);
if (args.reference) {
  console.log(
    `int model, fast kernels against the reference kernels: ${kernelDiffers} images with a different output ` +
      `(reference ${(kernelMs / 1000).toFixed(1)} s)`,
  );
}
for (const p of programs) {
  console.log(
    `${p.opt}: ${p.raw} images with a different raw output, ${p.float} with a different float output (.hbm ${
      (p.ms / 1000).toFixed(1)
    } s)`,
  );
}

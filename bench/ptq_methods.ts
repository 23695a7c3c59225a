/**
 * PTQ of MobileNetV2 on Fashion-MNIST with each calibration method and pass: fixed-point top-1 and output
 * cosine against float on the first test images (the table of docs/ptq.md).
 *
 *   deno run -A bench/ptq_methods.ts --weights model/mobilenetv2/float-checkpoint.safetensors \
 *     [--batch-size 64] [--batches 20] [--eval-limit 2000] [--runs min_max,percentile,mse,kl,mix,percentile+bc]
 *
 * A run is a method, optionally followed by `+eq` (equalization), `+ada` (AdaRound, 100 iterations) and
 * `+bc` (bias correction on 4 batches).
 * @module
 */
import { parseArgs } from "@std/cli";
import { buildModel, loadDataset, ptqQConfig, seedLoader, tensorBatches } from "@hqat/cli";
import { ptq, ptqMix, runIntModel, similarity } from "@hqat/fx";
import { March } from "@hqat/march-bayes";
import { forward, loadState } from "@hqat/nn";
import { type CalibMethod, calibQConfigFor, isCalibMethod } from "@hqat/qtensor";
import { argmax, fromArray, type Tensor } from "@hqat/tensor";

const a = parseArgs(Deno.args, { string: ["weights", "batch-size", "batches", "eval-limit", "runs"] });
if (!a.weights) throw new Error("--weights (a trained float MobileNetV2 checkpoint) is required");
const bs = Number(a["batch-size"] ?? 64),
  nb = Number(a.batches ?? 20),
  evalLimit = Number(a["eval-limit"] ?? 2000);
const model = buildModel("mobilenetv2", { quantStubScale: 1 / 128 });
const floatState = await loadState(a.weights, model);

async function stack(split: "train" | "test", batchSize: number, batches: number | undefined, limit: number) {
  const loader = seedLoader(await loadDataset("fashion-mnist", split), {
    batchSize,
    train: split === "train",
    seed: 0,
    limit,
  });
  const out: { x: Tensor; y: ArrayLike<number> }[] = [];
  for await (const b of tensorBatches(loader, 0, batches)) out.push({ x: b.x, y: b.y.data });
  return out;
}
const parts = await stack("train", bs, nb, 20000);
const all = new Float32Array(parts.reduce((n, p) => n + p.x.size, 0));
parts.reduce((at, p) => (all.set(p.x.data as Float32Array, at), at + p.x.size), 0);
const calib = fromArray(all, [all.length / 3072, 3, 32, 32]);
const test = await stack("test", 250, undefined, evalLimit);
const floatLogits = test.map((b) => forward(model, floatState, b.x).y);
const top1 = (logits: Tensor[]) => {
  let ok = 0, n = 0;
  logits.forEach((l, k) => {
    const p = argmax(l, { axis: 1 }).data;
    for (let i = 0; i < p.length; i++, n++) ok += p[i] === test[k].y[i] ? 1 : 0;
  });
  return (100 * ok) / n;
};
console.log(
  `float top-1 ${top1(floatLogits).toFixed(2)} % on ${evalLimit} test images; ${nb} batches of ${bs}`,
);
console.log("| run | top-1 % | output cosine | seconds |\n|---|---|---|---|");
for (const run of (a.runs ?? "min_max,percentile,mse,kl,mix").split(",")) {
  const [method, ...flags] = run.split("+");
  if (method !== "mix" && !isCalibMethod(method)) throw new Error(`Unknown method "${method}"`);
  const common = {
    march: March.BAYES,
    batchSize: bs,
    warn: () => {},
    equalize: flags.includes("eq"),
    adaround: flags.includes("ada") ? 100 : 0,
    biasCorrect: flags.includes("bc") ? 4 : 0,
  };
  const t0 = performance.now();
  const r = method === "mix"
    ? ptqMix(model, floatState, calib, { ...common, qconfig: (m) => ptqQConfig(model, calibQConfigFor(m)) })
    : ptq(model, floatState, calib, {
      ...common,
      qconfig: ptqQConfig(model, calibQConfigFor(method as CalibMethod)),
    });
  const logits = test.map((b) => {
    const q = runIntModel(r.intModel, b.x.data as Float32Array, b.x.shape);
    return fromArray(q.output, q.shape);
  });
  const cos = logits.reduce((s, l, k) => s + similarity(floatLogits[k].data, l.data).cosine, 0) /
    logits.length;
  console.log(
    `| ${run} | ${top1(logits).toFixed(2)} | ${cos.toFixed(5)} | ${
      ((performance.now() - t0) / 1000).toFixed(0)
    } |`,
  );
}

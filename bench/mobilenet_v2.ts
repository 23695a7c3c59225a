/**
 * MobileNetV2 (10 classes, 3×32×32 input) throughput on the CPU backend: training step (forward,
 * backward, Adam) at batch 64 and 256 and evaluation at batch 256, in images per second, followed by a
 * per-op time profile of one training step. Ratios to PyTorch mean something only when both sides run in
 * one run on one machine: `deno task bench:compare` does that.
 *
 *   deno run -A bench/mobilenet_v2.ts [--quick]
 * @module
 */
import { adam, createTrainState, forward, initState, makeTrainStep, mobilenetV2 } from "@hqat/nn";
import { foldIn, profileOps, randomKey } from "@hqat/tensor";
import { randomBatch } from "./random_batch.ts";

const quick = Deno.args.includes("--quick");

const model = mobilenetV2({ numClasses: 10 });
const opt = adam({ lr: 1e-3, weightDecay: 1e-3 });
const step = makeTrainStep(model, opt);
const state0 = initState(model, randomKey(0));

function timeTrain(n: number, iters: number): number {
  let ts = createTrainState(model, state0, opt);
  const { x, y } = randomBatch(n, 1);
  ts = step(ts, x, y, { key: randomKey(2) }).state; // warm-up
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) ts = step(ts, x, y, { key: foldIn(randomKey(3), i) }).state;
  return (n * iters) / ((performance.now() - t0) / 1000);
}

function timeEval(n: number, iters: number): number {
  const { x } = randomBatch(n, 5);
  forward(model, state0, x);
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) forward(model, state0, x);
  return (n * iters) / ((performance.now() - t0) / 1000);
}

const rows: [string, number][] = [
  ["train step, batch 64", timeTrain(64, quick ? 2 : 6)],
  ["train step, batch 256", timeTrain(256, quick ? 1 : 3)],
  ["eval, batch 256", timeEval(256, quick ? 2 : 6)],
];

console.log("MobileNetV2 (10 classes, 3×32×32), CPU backend (beside PyTorch: deno task bench:compare)");
for (const [name, ips] of rows) console.log(`  ${name.padEnd(24)} ${ips.toFixed(1).padStart(8)} images/s`);

// Where the time goes: one profiled training step at batch 64.
const { x, y } = randomBatch(64, 7);
const ts = createTrainState(model, state0, opt);
const { profile } = profileOps(() => step(ts, x, y, { key: randomKey(8) }));
const total = [...profile.ms.values()].reduce((a, b) => a + b, 0);
console.log(`\nPer-op profile of one training step at batch 64 (${total.toFixed(0)} ms in ops):`);
for (const [op, ms] of [...profile.ms].sort((a, b) => b[1] - a[1]).slice(0, 14)) {
  console.log(
    `  ${op.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms  ${(100 * ms / total).toFixed(1).padStart(5)} %  ${
      profile.calls.get(op)
    } calls`,
  );
}

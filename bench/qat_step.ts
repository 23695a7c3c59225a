/**
 * QAT training step of MobileNetV2 (10 classes, 3×32×32 input, QuantStub scale 1/128) on the CPU
 * backend, prepared as `hqat qat` prepares it (`default_qat_8bit_fake_quant_qconfig`, the classifier
 * with `default_qat_8bit_weight_32bit_out_fake_quant_qconfig`, Adam): images per second of the step
 * (forward, backward, Adam; the median of several steps) at batch 64 and 256 beside the float model's
 * step, then a per-op profile of one QAT step, the time spent outside the ops (observers, graph
 * interpretation, JavaScript), and the time of the observer updates alone.
 *
 *   deno run -A bench/qat_step.ts [--quick] [--no-float] [--batch=64,256] [--iters=N]
 * @module
 */
import { prepareQatFx, type QatModel, qatStateFromFloat, type QConfigDict, setFakeQuantize } from "@hqat/fx";
import { March, setMarch } from "@hqat/march-bayes";
import {
  adam,
  createTrainState,
  initState,
  makeTrainStep,
  mobilenetV2,
  type Module,
  Scope,
  type StateDict,
} from "@hqat/nn";
import {
  default_qat_8bit_fake_quant_qconfig,
  default_qat_8bit_weight_32bit_out_fake_quant_qconfig,
  FakeQuantState,
} from "@hqat/qtensor";
import {
  cast,
  floor,
  foldIn,
  mul,
  profileOps,
  randomKey,
  randomUniform,
  sub,
  type Tensor,
} from "@hqat/tensor";

const args = Deno.args;
const quick = args.includes("--quick");
const withFloat = !args.includes("--no-float");
const batchArg = args.find((a) => a.startsWith("--batch="));
const batches = batchArg ? batchArg.slice(8).split(",").map(Number) : [64, 256];
const itersArg = args.find((a) => a.startsWith("--iters="));
const itersFor = (n: number) => itersArg ? Number(itersArg.slice(8)) : quick ? 1 : n >= 256 ? 5 : 9;

const QAT_QCONFIG: QConfigDict = {
  "": default_qat_8bit_fake_quant_qconfig,
  moduleName: { classifier: default_qat_8bit_weight_32bit_out_fake_quant_qconfig },
};

setMarch(March.BAYES);
const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
const floatState = initState(float, randomKey(0));
const prepared = prepareQatFx(float, QAT_QCONFIG, { warn: () => {} });
const qat = setFakeQuantize(prepared, FakeQuantState.QAT);
const qatState = qatStateFromFloat(qat, floatState);
const opt = adam({ lr: 1e-3, weightDecay: 1e-3 });

/** Pipeline-like input: centered YUV / 128, i.e. multiples of 1/128 in [-1, 1). */
function batch(n: number, seed: number): { x: Tensor; y: Tensor } {
  const x = mul(floor(mul(randomUniform(randomKey(seed), [n, 3, 32, 32]), 256)), 1 / 128);
  const y = cast(mul(randomUniform(randomKey(seed + 1), [n]), 10), "int32");
  return { x: sub(x, 1), y };
}

/** Images per second of the training step: the median step time over `iters` steps, after a warm-up. */
function timeTrain(model: Module, state: StateDict, n: number, iters: number): number {
  const step = makeTrainStep(model, opt);
  let ts = createTrainState(model, state, opt);
  const { x, y } = batch(n, 1);
  ts = step(ts, x, y, { key: randomKey(2) }).state; // warm-up (and the observers' first batch)
  const ms: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    ts = step(ts, x, y, { key: foldIn(randomKey(3), i) }).state;
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const median = iters % 2 === 1 ? ms[(iters - 1) / 2] : (ms[iters / 2 - 1] + ms[iters / 2]) / 2;
  return n / (median / 1000);
}

console.log("MobileNetV2 (10 classes, 3×32×32), CPU backend, training step (fwd + bwd + Adam)");
for (const n of batches) {
  const q = timeTrain(qat, qatState, n, itersFor(n));
  let line = `  batch ${String(n).padStart(3)}: QAT ${q.toFixed(1).padStart(7)} images/s`;
  if (withFloat) {
    const f = timeTrain(float, floatState, n, itersFor(n));
    line += `   float ${f.toFixed(1).padStart(7)} images/s   QAT/float ${(q / f).toFixed(2)}`;
  }
  console.log(line);
}

// Where the time goes: one profiled QAT step (after a warm-up step).
const pn = batches[0];
const step = makeTrainStep(qat, opt);
const { x, y } = batch(pn, 7);
let ts = createTrainState(qat, qatState, opt);
ts = step(ts, x, y, { key: randomKey(8) }).state;
const t0 = performance.now();
const { profile } = profileOps(() => step(ts, x, y, { key: randomKey(9) }));
const wall = performance.now() - t0;
const inOps = [...profile.ms.values()].reduce((a, b) => a + b, 0);
console.log(
  `\nPer-op profile of one QAT step at batch ${pn}: ${wall.toFixed(0)} ms, ${inOps.toFixed(0)} ms in ops, ` +
    `${(wall - inOps).toFixed(0)} ms outside ops (observers, interpretation, JavaScript)`,
);
for (const [op, ms] of [...profile.ms].sort((a, b) => b[1] - a[1]).slice(0, 18)) {
  console.log(
    `  ${op.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms  ${(100 * ms / wall).toFixed(1).padStart(5)} %  ${
      profile.calls.get(op)
    } calls`,
  );
}
console.log(`  observers: ${observerMs(qat, ts, x).toFixed(1)} ms (all updates of one forward pass)`);

/** Time of every observer update of one training forward pass, on that pass's tensors. */
function observerMs(model: QatModel, t: { params: StateDict; buffers: StateDict }, input: Tensor): number {
  const state = { ...t.params, ...t.buffers };
  const quantizers = new Set(model.quantizers());
  const work: [string, Tensor][] = [];
  const scope = new Scope(state, "", { training: true, key: randomKey(10), updates: new Map() });
  model.run(scope, input, (name, y) => {
    const p = `${name}.activation_post_process`;
    if (quantizers.has(p)) work.push([p, y]);
  });
  for (const p of quantizers) {
    if (p.endsWith(".weight_fake_quant")) {
      work.push([p, state[`${p.slice(0, -".weight_fake_quant".length)}.weight`]]);
    }
  }
  const run = () => {
    for (const [p, v] of work) {
      const o = model.observer(p);
      o.update(o.update(o.initialState, v.data, { shape: v.shape }), v.data, { shape: v.shape });
    }
  };
  run();
  const t1 = performance.now();
  run();
  // Each quantizer was updated twice (the first batch and a moving-average one): half is one pass.
  return (performance.now() - t1) / 2;
}

/**
 * The hqat side of `deno task bench:compare`: the MobileNetV2-CIFAR steps that `bench/torch_steps.py` times
 * in PyTorch, by the same names and the same measure (images per second of the median step after the same warm-up):
 * float and QAT training steps (forward, cross-entropy, backward, Adam with weight decay) at batch 64 and
 * 256, float evaluation at batch 256, and fixed-point inference at batch 256 through `runIntModel` on the
 * converted int model (`predict-int`) and on its compiled `.hbm` (`run-hbm`).
 * @module
 */
import process from "node:process";
import { compileProgram, loadHbm } from "@hqat/hbdk";
import { convertFx, prepareQatFx, qatStateFromFloat, type QConfigDict, setFakeQuantize } from "@hqat/fx";
import { March, setMarch } from "@hqat/march-bayes";
import {
  adam,
  createTrainState,
  forward,
  initState,
  makeTrainStep,
  mobilenetV2,
  type Module,
  type StateDict,
} from "@hqat/nn";
import { type IntModel, type Program, runIntModel } from "@hqat/program";
import {
  default_calib_8bit_fake_quant_qconfig as c8,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig as c32,
  default_qat_8bit_fake_quant_qconfig,
  default_qat_8bit_weight_32bit_out_fake_quant_qconfig,
  FakeQuantState,
} from "@hqat/qtensor";
import { cast, floor, foldIn, mul, randomKey, randomUniform, sub, type Tensor } from "@hqat/tensor";

/** The figure names, shared with `bench/torch_steps.py`. */
export const FIGURES = [
  "float_train_64",
  "float_train_256",
  "qat_train_64",
  "qat_train_256",
  "float_eval_256",
  "int8_eval_256",
  "hbm_eval_256",
] as const;

/** One figure's name. */
export type Figure = typeof FIGURES[number];

/** Pipeline-like input: centered YUV / 128, multiples of 1/128 in [-1, 1), and labels in 0..9. */
export function pipelineBatch(n: number, seed: number): { x: Tensor; y: Tensor } {
  const x = mul(floor(mul(randomUniform(randomKey(seed), [n, 3, 32, 32]), 256)), 1 / 128);
  const y = cast(mul(randomUniform(randomKey(seed + 1), [n]), 10), "int32");
  return { x: sub(x, 1), y };
}

/** Milliseconds of CPU time every thread of this process (the kernel workers included) has run (getrusage). */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The clock `medianIps` reads: the wall clock, or with `--cpu` the process's CPU time. */
export const clock = { cpu: false };

/**
 * Warm-up before a figure's timed calls, the same on both sides: at least this many calls and this much wall
 * time. V8 runs the kernels first as baseline code and compiles their optimized code in the background; in a
 * fresh process a batch of 256 through the compiled MobileNetV2 took 156, then 31–43 ms for about a second,
 * then 21–24 ms, so one warm-up call left most timed calls in the transition.
 */
export const WARM_UP = { calls: 3, ms: 1500, maxCalls: 40 };

/** Calls `run(-1)` as {@linkcode WARM_UP} says. */
export function warmUp(run: (i: number) => void): void {
  const t0 = performance.now();
  for (let c = 0; c < WARM_UP.maxCalls && (c < WARM_UP.calls || performance.now() - t0 < WARM_UP.ms); c++) {
    run(-1);
  }
}

/** Images per second of the median of `iters` calls of `run` (after the {@linkcode WARM_UP} calls). */
export function medianIps(n: number, iters: number, run: (i: number) => void): number {
  warmUp(run);
  const now = clock.cpu ? processCpuMs : () => performance.now();
  const ms: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = now();
    run(i);
    ms.push(now() - t0);
  }
  ms.sort((a, b) => a - b);
  const mid = ms.length >> 1;
  return n / ((ms.length % 2 ? ms[mid] : (ms[mid - 1] + ms[mid]) / 2) / 1000);
}

const opt = adam({ lr: 1e-3, weightDecay: 1e-3 });

/** A training-step timer for `model` at batch `n`. */
export function trainRunner(model: Module, state: StateDict, n: number): (i: number) => void {
  const step = makeTrainStep(model, opt);
  const start = createTrainState(model, state, opt);
  let ts = start;
  const { x, y } = pipelineBatch(n, 1);
  return (i) => {
    // As trainOneEpoch does: each step may reuse the arrays of the state it replaces, except the first
    // (the model's state is shared with the other figures).
    ts = step(ts, x, y, { key: foldIn(randomKey(3), i + 1), donate: ts !== start }).state;
  };
}

const QAT_QCONFIG: QConfigDict = {
  "": default_qat_8bit_fake_quant_qconfig,
  moduleName: { classifier: default_qat_8bit_weight_32bit_out_fake_quant_qconfig },
};

/** The float MobileNetV2 and its initial state. */
export function floatModel(): { model: Module; state: StateDict } {
  setMarch(March.BAYES);
  const model = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
  return { model, state: initState(model, randomKey(0)) };
}

/** The QAT model (`hqat qat`'s qconfigs) and its state from the float one. */
export function qatModel(): { model: Module; state: StateDict } {
  const f = floatModel();
  const prepared = prepareQatFx(f.model, QAT_QCONFIG, { warn: () => {} });
  const model = setFakeQuantize(prepared, FakeQuantState.QAT);
  return { model, state: qatStateFromFloat(model, f.state) };
}

/** The int model (calibrated on four pipeline-like batches of 64, converted) and its `.hbm` at O1. */
export function intPrograms(batch: number): { intModel: IntModel; hbm: Program } {
  const f = floatModel();
  const calib = prepareQatFx(f.model, { "": c8, moduleName: { classifier: c32 } }, { warn: () => {} });
  let state = qatStateFromFloat(calib, f.state);
  const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
  for (let i = 0; i < 4; i++) state = forward(cm, state, pipelineBatch(64, 10 + i).x).state;
  const intModel = convertFx(setFakeQuantize(calib, FakeQuantState.VALIDATION), state);
  const r = compileProgram(intModel, [{ shape: [batch, 3, 32, 32] }], { opt: "O1", log: () => {} });
  return { intModel, hbm: loadHbm(r.bytes, { fileName: "O1.hbm" }) };
}

/** Measures `names` (all by default) with `iters(n)` timed steps at batch `n`. */
export function measureHqat(
  names: readonly Figure[] = FIGURES,
  iters: (n: number) => number = (n) => (n >= 256 ? 3 : 5),
): Partial<Record<Figure, number>> {
  const out: Partial<Record<Figure, number>> = {};
  const want = new Set(names);
  const log = (name: Figure) => console.error(`hqat ${name}: ${out[name]!.toFixed(1)} images/s`);
  if (want.has("float_train_64") || want.has("float_train_256") || want.has("float_eval_256")) {
    const f = floatModel();
    for (const n of [64, 256] as const) {
      const name = `float_train_${n}` as Figure;
      if (!want.has(name)) continue;
      out[name] = medianIps(n, iters(n), trainRunner(f.model, f.state, n));
      log(name);
    }
    if (want.has("float_eval_256")) {
      const { x } = pipelineBatch(256, 5);
      out.float_eval_256 = medianIps(256, 2 * iters(64), () => forward(f.model, f.state, x));
      log("float_eval_256");
    }
  }
  if (want.has("qat_train_64") || want.has("qat_train_256")) {
    const q = qatModel();
    for (const n of [64, 256] as const) {
      const name = `qat_train_${n}` as Figure;
      if (!want.has(name)) continue;
      out[name] = medianIps(n, iters(n), trainRunner(q.model, q.state, n));
      log(name);
    }
  }
  if (want.has("int8_eval_256") || want.has("hbm_eval_256")) {
    const { intModel, hbm } = intPrograms(256);
    const { x } = pipelineBatch(256, 5);
    const data = x.data as Float32Array;
    for (const [name, p] of [["int8_eval_256", intModel], ["hbm_eval_256", hbm]] as const) {
      if (!want.has(name)) continue;
      out[name] = medianIps(256, 2 * iters(64), () => runIntModel(p, data, x.shape));
      log(name);
    }
  }
  return out;
}

/** The peak resident set (VmHWM, KiB) of this process. */
export function maxRssKib(): number {
  const m = /VmHWM:\s*(\d+)\s*kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) : NaN;
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 256);
  const f = floatModel();
  const run = trainRunner(f.model, f.state, n);
  for (let i = 0; i < 3; i++) run(i);
  console.log(JSON.stringify({ max_rss_kib: maxRssKib() }));
}

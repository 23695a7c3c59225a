/**
 * The training loop: one epoch of steps with meters and progress, and evaluation with top-1/top-5
 * accuracy like the quick start's `train_one_epoch` and `evaluate`.
 * @module
 */
import { crossEntropy, disposeTree, foldIn, type RandomKey, type Tensor, tidy, toCpu } from "@hqat/tensor";
import { accuracy, AverageMeter } from "./metrics.ts";
import { forward, type Module, type StateDict } from "./module.ts";
import { Progress } from "./progress.ts";
import type { StepOutput, TrainState, TrainStepCallOptions } from "./train_step.ts";

function firstNonFinite(d: ArrayLike<number>): number {
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return i;
  return -1;
}

/** Fails unless every label of `y` is a class of a `k`-way head. */
function checkLabels(y: Tensor, k: number, batch: number): void {
  const d = y.data;
  for (let i = 0; i < d.length; i++) {
    if (!(Number.isInteger(d[i]) && d[i] >= 0 && d[i] < k)) {
      throw new RangeError(
        `Label ${d[i]} (batch ${batch}, row ${i}) is not a class of the model's ${k} outputs; ` +
          `the data set has more classes than the model's head`,
      );
    }
  }
}

/** A batch of inputs and integer labels. */
export interface Batch {
  /** Inputs, e.g. [B, 3, 32, 32] float32. */
  x: Tensor;
  /** Labels [B] int32. */
  y: Tensor;
}

/** Options of {@linkcode trainOneEpoch}. */
export interface TrainEpochOptions {
  /** The epoch's key; step i uses foldIn(key, i). */
  key: RandomKey;
  /** Learning rate per step (from a schedule); default the optimizer's. */
  lrAt?: (stepInEpoch: number) => number | undefined;
  /** Images in the epoch, for the progress display. */
  total?: number;
  /** Label of the progress display. */
  label?: string;
  /** Progress display options (tests pass a writer). */
  progress?: { live?: boolean; everySeconds?: number; write?: (t: string) => void } | false;
  /**
   * Names where a non-finite loss came from (e.g. {@linkcode firstNonFinite} on the batch with the
   * state before the step), for the error of a diverged training.
   */
  locate?: (state: TrainState, x: Tensor) => string | undefined;
}

/** Result of {@linkcode trainOneEpoch}. */
export interface EpochResult {
  /** State after the epoch. */
  state: TrainState;
  /** Mean training loss. */
  loss: number;
  /** Training top-1 (%) on the batches as seen (before each update). */
  top1: number;
  /** Images processed. */
  images: number;
  /** Images per second. */
  imagesPerSecond: number;
}

/**
 * Runs one epoch of training steps over `batches`. On a device (WebGPU) each step runs inside `tidy`, the
 * buffers of the state it replaced go back to the pool (so the state passed in is consumed), and the loss
 * and logits are read back for the meters. On the CPU every step after the first may write its new state
 * into the arrays of the state it replaces (`donate`); the state passed in is left as it was.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adam, createTrainState, initState, Linear, makeTrainStep, trainOneEpoch } from "@hqat/nn";
 * import { randomKey, randomNormal, tensor } from "@hqat/tensor";
 * const m = new Linear(4, 2), opt = adam({ lr: 0.05 });
 * const batches = [{ x: randomNormal(randomKey(1), [8, 4]), y: tensor([0, 1, 0, 1, 0, 1, 0, 1], { dtype: "int32" }) }];
 * const r = await trainOneEpoch(makeTrainStep(m, opt), createTrainState(m, initState(m, randomKey(0)), opt), batches,
 *   { key: randomKey(2), progress: false });
 * assert(r.images === 8);
 * ```
 */
export async function trainOneEpoch(
  step: (ts: TrainState, x: Tensor, y: Tensor, o: TrainStepCallOptions) => StepOutput,
  state: TrainState,
  batches: Iterable<Batch> | AsyncIterable<Batch>,
  options: TrainEpochOptions,
): Promise<EpochResult> {
  const loss = new AverageMeter("Loss", 4), top1 = new AverageMeter("Acc@1", 2);
  const progress = options.progress === false ? null : new Progress(options.label ?? "Train", {
    total: options.total ?? 0,
    ...(options.progress ?? {}),
  });
  const t0 = performance.now();
  let ts = state, i = 0;
  for await (const b of batches) {
    const n = b.x.shape[0];
    // On a device, every buffer the step made and does not return goes back to the pool, and so do
    // the buffers of the state it replaced; the loss and logits are read back.
    // The states between steps are this loop's own: each step may reuse its input's arrays (not those
    // of the state passed in).
    const out = tidy(() =>
      step(ts, b.x, b.y, { key: foldIn(options.key, i), lr: options.lrAt?.(i), donate: ts !== state })
    );
    if (out.logits.device !== "cpu") disposeTree(ts, out.state);
    const lossValue = out.lossTensor ? (await out.lossTensor.read())[0] : out.loss;
    const logits = await toCpu(out.logits);
    out.lossTensor?.dispose();
    out.logits.dispose();
    checkLabels(b.y, logits.shape[1], i);
    if (!Number.isFinite(lossValue)) {
      const where = options.locate?.(ts, b.x);
      throw new RangeError(
        `Training diverged: loss is ${lossValue} at step ${i}` +
          (where === "input"
            ? "; the batch's input holds a NaN or an infinity"
            : where
            ? `; the first non-finite value is the output of "${where}"`
            : ""),
      );
    }
    ts = out.state;
    loss.update(lossValue, n);
    top1.update(accuracy(logits, b.y, [1])[0], n);
    progress?.update(n, { loss: loss.avg });
    i++;
  }
  progress?.done();
  if (i === 0) throw new RangeError("Cannot train: the data set gave no batches (it is empty)");
  const seconds = (performance.now() - t0) / 1000;
  return {
    state: ts,
    loss: loss.avg,
    top1: top1.avg,
    images: loss.count,
    imagesPerSecond: loss.count / seconds,
  };
}

/** Result of {@linkcode evaluate}. */
export interface EvalResult {
  /** Top-1 accuracy (%). */
  top1: number;
  /** Top-5 accuracy (%). */
  top5: number;
  /** Mean cross-entropy. */
  loss: number;
  /** Images evaluated. */
  images: number;
}

/**
 * Evaluates a model (eval mode) on `batches`: top-1, top-5 and loss.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { evaluate, initState, Linear } from "@hqat/nn";
 * import { randomKey, randomNormal, tensor } from "@hqat/tensor";
 * const m = new Linear(4, 6);
 * const r = await evaluate(m, initState(m, randomKey(0)), [{ x: randomNormal(randomKey(1), [2, 4]), y: tensor([0, 1], { dtype: "int32" }) }], { progress: false });
 * assert(r.images === 2 && r.top5 >= r.top1);
 * ```
 */
export async function evaluate(
  model: Module,
  state: StateDict,
  batches: Iterable<Batch> | AsyncIterable<Batch>,
  options: {
    total?: number;
    label?: string;
    progress?: TrainEpochOptions["progress"];
    apply?: (x: Tensor) => Tensor;
  } = {},
): Promise<EvalResult> {
  const top1 = new AverageMeter("Acc@1"), top5 = new AverageMeter("Acc@5"), loss = new AverageMeter("Loss");
  const progress = options.progress === false ? null : new Progress(options.label ?? "Eval", {
    total: options.total ?? 0,
    ...(options.progress ?? {}),
  });
  let batch = 0;
  for await (const b of batches) {
    const n = b.x.shape[0];
    const onDevice = tidy(() => options.apply ? options.apply(b.x) : forward(model, state, b.x).y);
    const logits = await toCpu(onDevice);
    onDevice.dispose();
    const k = logits.shape[1];
    checkLabels(b.y, k, batch);
    const bad = firstNonFinite(logits.data);
    if (bad >= 0) {
      throw new RangeError(
        `Cannot evaluate: the model's output is ${logits.data[bad]} for image ${
          top1.count + Math.floor(bad / k)
        } ` +
          `(batch ${batch}); the weights or the input hold NaN or infinite values`,
      );
    }
    batch++;
    const [a1, a5] = accuracy(logits, b.y, [1, Math.min(5, k)]);
    top1.update(a1, n);
    top5.update(a5, n);
    loss.update(crossEntropy(logits, b.y).item(), n);
    progress?.update(n, { acc1: top1.avg });
  }
  progress?.done();
  if (top1.count === 0) throw new RangeError("Cannot evaluate: the data set gave no images (it is empty)");
  return { top1: top1.avg, top5: top5.avg, loss: loss.avg, images: top1.count };
}

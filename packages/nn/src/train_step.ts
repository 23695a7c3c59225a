/**
 * One training step as a pure function: forward in training mode, cross-entropy loss, gradients by
 * reverse-mode autodiff, an optimizer update, and the new batch-norm statistics.
 * @module
 */
import {
  crossEntropy,
  type RandomKey,
  stateToCpu,
  stateToDevice,
  type Tensor,
  valueAndGrad,
  type WebGpuDevice,
} from "@hqat/tensor";
import { forward, type Module, splitState, type StateDict, stateSpecs } from "./module.ts";
import type { Optimizer, OptimizerState } from "./optim.ts";

/** Everything that changes during training. */
export interface TrainState {
  /** Trainable parameters. */
  readonly params: StateDict;
  /** Buffers (batch-norm running statistics). */
  readonly buffers: StateDict;
  /** Optimizer state. */
  readonly opt: OptimizerState;
}

/**
 * The training state for a model state and an optimizer.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adam, createTrainState, initState, Linear } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const m = new Linear(4, 2);
 * const ts = createTrainState(m, initState(m, randomKey(0)), adam({ lr: 1e-3 }));
 * assert(ts.opt.step === 0);
 * ```
 */
export function createTrainState(model: Module, state: StateDict, optimizer: Optimizer): TrainState {
  const { params, buffers } = splitState(model, state);
  return { params, buffers, opt: optimizer.init(params) };
}

/**
 * The model state (parameters and buffers, in state order) of a training state.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adam, createTrainState, initState, Linear, modelState } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const m = new Linear(4, 2);
 * const s = initState(m, randomKey(0));
 * assert(Object.keys(modelState(m, createTrainState(m, s, adam({ lr: 1 })))).join() === "weight,bias");
 * ```
 */
export function modelState(model: Module, ts: TrainState): StateDict {
  const all = { ...ts.params, ...ts.buffers };
  const out: StateDict = {};
  for (const { name } of stateSpecs(model)) out[name] = all[name];
  return out;
}

/** Options of {@linkcode makeTrainStep}. */
export interface TrainStepOptions {
  /** Loss of logits against labels (default cross-entropy). */
  loss?: (logits: Tensor, labels: Tensor) => Tensor;
}

/** Options of one call of the step {@linkcode makeTrainStep} makes. */
export interface TrainStepCallOptions {
  /** The step's random key (dropout). */
  key: RandomKey;
  /** The learning rate for this step; default the optimizer's. */
  lr?: number;
  /**
   * The caller will not read the state passed in again (a loop replacing its state): the optimizer may
   * write the new parameters and buffers into its arrays (`StepOptions.donate`) instead of fresh ones
   * (default false). A step whose loss is not finite leaves its input as it was, so that the divergence can
   * be traced on it; so does one whose logits or batch-norm statistics share storage with that state.
   */
  donate?: boolean;
}

/** Whether a CPU tensor of `kept` lies in the buffer of a CPU tensor of `given`. */
function sharesStorage(given: readonly Tensor[], kept: readonly Tensor[]): boolean {
  const buffers = new Set(given.filter((t) => t.device === "cpu").map((t) => t.data.buffer));
  return kept.some((t) => t.device === "cpu" && buffers.has(t.data.buffer));
}

/** The result of one step. */
export interface StepOutput {
  /** The training state after the step. */
  state: TrainState;
  /** The batch loss before the update (reading it waits for a device; prefer `lossTensor` there). */
  readonly loss: number;
  /** The batch loss as a one-element tensor on the model's device. */
  lossTensor?: Tensor;
  /** The batch logits before the update. */
  logits: Tensor;
}

/**
 * Makes a training step for `model` and `optimizer`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adam, createTrainState, initState, Linear, makeTrainStep } from "@hqat/nn";
 * import { randomKey, randomNormal, tensor } from "@hqat/tensor";
 * const m = new Linear(4, 2), opt = adam({ lr: 0.1 });
 * const step = makeTrainStep(m, opt);
 * let ts = createTrainState(m, initState(m, randomKey(0)), opt);
 * const x = randomNormal(randomKey(1), [8, 4]), y = tensor([0, 1, 0, 1, 0, 1, 0, 1], { dtype: "int32" });
 * const first = step(ts, x, y, { key: randomKey(2) });
 * let out = first;
 * for (let i = 0; i < 20; i++) out = step(out.state, x, y, { key: randomKey(3 + i) });
 * assert(out.loss < first.loss);
 * ```
 */
export function makeTrainStep(
  model: Module,
  optimizer: Optimizer,
  options: TrainStepOptions = {},
): (ts: TrainState, x: Tensor, labels: Tensor, opts: TrainStepCallOptions) => StepOutput {
  const lossFn = options.loss ?? ((l: Tensor, y: Tensor) => crossEntropy(l, y));
  const vg = valueAndGrad(
    (params: StateDict, buffers: StateDict, x: Tensor, labels: Tensor, key: RandomKey) => {
      const { y, updates } = forward(model, { ...params, ...buffers }, x, { training: true, key });
      return [lossFn(y, labels), { logits: y, updates }] as [
        Tensor,
        { logits: Tensor; updates: Map<string, Tensor> },
      ];
    },
    // The model's intermediate results leave the step only as the logits and the buffer updates (aux).
    { hasAux: true, releaseIntermediates: true },
  );
  return (ts, x, labels, opts) => {
    const { value, grad, aux } = vg(ts.params, ts.buffers, x, labels, opts.key);
    const buffers: StateDict = {};
    for (const [k, v] of Object.entries(ts.buffers)) buffers[k] = aux.updates.get(k) ?? v;
    const donate = opts.donate === true && value.device === "cpu" && Number.isFinite(value.data[0]) &&
      !sharesStorage([
        ...Object.values(ts.params),
        ...Object.values(ts.opt.slots).flatMap((b) => Object.values(b)),
      ], [
        value,
        aux.logits,
        ...Object.values(buffers),
      ]);
    const { params, state } = optimizer.step(ts.params, grad, ts.opt, { lr: opts.lr, donate });
    return {
      state: { params, buffers, opt: state },
      lossTensor: value,
      get loss() {
        return value.item();
      },
      logits: aux.logits,
    };
  };
}

/**
 * The training state copied to a WebGPU device (parameters, buffers and optimizer slots; integer
 * counters such as `num_batches_tracked` stay on the host, which updates them).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adam, createTrainState, initState, Linear, trainStateToDevice } from "@hqat/nn";
 * import { probeWebGpu, randomKey, WebGpuDevice } from "@hqat/tensor";
 * if ((await probeWebGpu()).available) {
 *   const m = new Linear(2, 1), opt = adam({});
 *   const dev = await WebGpuDevice.create();
 *   const ts = trainStateToDevice(createTrainState(m, initState(m, randomKey(0)), opt), dev);
 *   assert(ts.params.weight.device === "webgpu");
 *   dev.destroy();
 * }
 * ```
 */
export function trainStateToDevice(ts: TrainState, dev: WebGpuDevice): TrainState {
  const slots: Record<string, StateDict> = {};
  for (const [k, v] of Object.entries(ts.opt.slots)) slots[k] = stateToDevice(v, dev);
  return {
    params: stateToDevice(ts.params, dev),
    buffers: stateToDevice(ts.buffers, dev),
    opt: { ...ts.opt, slots },
  };
}

/**
 * The training state read back to the host (for checkpoints).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adam, createTrainState, initState, Linear, trainStateToCpu } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const m = new Linear(2, 1), opt = adam({});
 * const ts = await trainStateToCpu(createTrainState(m, initState(m, randomKey(0)), opt));
 * assert(ts.params.weight.device === "cpu");
 * ```
 */
export async function trainStateToCpu(ts: TrainState): Promise<TrainState> {
  const slots: Record<string, StateDict> = {};
  for (const [k, v] of Object.entries(ts.opt.slots)) slots[k] = await stateToCpu(v);
  return {
    params: await stateToCpu(ts.params),
    buffers: await stateToCpu(ts.buffers),
    opt: { ...ts.opt, slots },
  };
}

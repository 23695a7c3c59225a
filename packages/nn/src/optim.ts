/**
 * The functional optimizer contract shared by {@linkcode sgd}, {@linkcode adam} and {@linkcode adamw}: an
 * optimizer turns parameters, gradients and a state into new parameters and a new state, never touching
 * its inputs. States are flat records of float32 tensors plus a step counter, and round-trip through
 * {@linkcode optimizerStateToEntries} / {@linkcode optimizerStateFromEntries} for checkpoints.
 * @module
 */
import { fromArray, type Tensor } from "@hqat/tensor";
import { checkStepCount, sameShape } from "./optim_update.ts";

/** Parameters (or gradients): float32 tensors keyed by PyTorch names, in order. */
export type Params = Readonly<Record<string, Tensor>>;

/** An optimizer's state: the step counter and per-parameter buffers by slot. */
export interface OptimizerState {
  /** The number of steps taken. */
  readonly step: number;
  /**
   * Buffers by slot name (PyTorch's: `momentum_buffer`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`), each
   * keyed like the parameters.
   */
  readonly slots: Readonly<Record<string, Params>>;
}

/** Options of one {@linkcode Optimizer.step}. */
export interface StepOptions {
  /** The learning rate for this step (from a schedule); default the optimizer's `lr`. */
  lr?: number;
  /**
   * The caller will not read `params` or `state` again (a training loop replacing its state): the step may
   * write the new values into their arrays instead of fresh ones, which spares a page fault per 4 KiB of
   * every array on every step (default false). Only CPU arrays that span their whole buffer, each buffer
   * used once among the step's parameters, gradients and state, are reused; the others get fresh arrays.
   */
  donate?: boolean;
}

/** What {@linkcode Optimizer.step} returns: new parameters and a new state. */
export interface StepResult<P extends Params> {
  /** The updated parameters, keyed and ordered like the input. */
  params: P;
  /** The state after the step. */
  state: OptimizerState;
}

/** A functional optimizer (see {@linkcode sgd}, {@linkcode adam}, {@linkcode adamw}). */
export interface Optimizer {
  /** PyTorch's class name: `SGD`, `Adam` or `AdamW`. */
  readonly name: string;
  /** The learning rate used when a step is given none. */
  readonly lr: number;
  /** The slots of the state, in order. */
  readonly slots: readonly string[];
  /** The state before the first step: step 0 and zero buffers. */
  init(params: Params): OptimizerState;
  /** One update from `grads`; inputs are left as they are. */
  step<P extends Params>(
    params: P,
    grads: Params,
    state: OptimizerState,
    options?: StepOptions,
  ): StepResult<P>;
}

/** The entry name of the step counter in {@linkcode optimizerStateToEntries}. */
export const OPTIMIZER_STEP_ENTRY = "step";

/**
 * The state as flat named tensors for a checkpoint: `"<slot>.<parameter name>"` for each buffer (slot by
 * slot, parameters in order) and the step counter as an int32 scalar named `"step"`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adam, optimizerStateToEntries } from "@hqat/nn";
 * import { zeros } from "@hqat/tensor";
 * const entries = optimizerStateToEntries(adam({ lr: 1e-3 }).init({ "fc.weight": zeros([2, 3]) }));
 * assert(entries.map(([name]) => name).join() === "exp_avg.fc.weight,exp_avg_sq.fc.weight,step");
 * ```
 */
export function optimizerStateToEntries(state: OptimizerState): [string, Tensor][] {
  checkStepCount(state.step, "optimizerStateToEntries()");
  const out: [string, Tensor][] = [];
  for (const [slot, buffers] of Object.entries(state.slots)) {
    for (const [name, t] of Object.entries(buffers)) out.push([`${slot}.${name}`, t]);
  }
  out.push([OPTIMIZER_STEP_ENTRY, fromArray(new Int32Array([state.step]), [])]);
  return out;
}

/** Options of {@linkcode optimizerStateFromEntries}. */
export interface StateFromEntriesOptions {
  /** What the entries come from, for error messages (default `"optimizer state"`; e.g. a file name). */
  label?: string;
}

/**
 * Rebuilds a state from {@linkcode optimizerStateToEntries}'s entries, checked against `params`: every
 * slot must hold a float32 buffer of the parameter's shape for every parameter and nothing else, and
 * `"step"` must be a non-negative integer scalar (int32 or float32). Faults throw a `RangeError` or
 * `TypeError` that names the entry.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { optimizerStateFromEntries, optimizerStateToEntries, sgd } from "@hqat/nn";
 * import { ones } from "@hqat/tensor";
 * const params = { w: ones([3]) };
 * const opt = sgd({ lr: 0.1, momentum: 0.9 });
 * const { state } = opt.step(params, { w: ones([3]) }, opt.init(params));
 * const back = optimizerStateFromEntries(optimizerStateToEntries(state), params);
 * assert(back.step === 1 && back.slots.momentum_buffer.w.data[0] === 1);
 * ```
 */
export function optimizerStateFromEntries(
  entries: Iterable<readonly [string, Tensor]>,
  params: Params,
  options: StateFromEntriesOptions = {},
): OptimizerState {
  const where = options.label ?? "optimizer state";
  const fail = (Class: typeof RangeError | typeof TypeError, message: string): never => {
    throw new Class(`Cannot load ${where}: ${message}`);
  };
  let step: number | undefined;
  const slots: Record<string, Record<string, Tensor>> = {};
  const seen = new Set<string>();
  for (const [name, t] of entries) {
    if (seen.has(name)) fail(RangeError, `entry ${JSON.stringify(name)} appears twice`);
    seen.add(name);
    if (name === OPTIMIZER_STEP_ENTRY) {
      if (t.size !== 1 || (t.dtype !== "int32" && t.dtype !== "float32")) {
        fail(TypeError, `"step" must be an int32 or float32 scalar, got ${t.dtype}[${t.shape.join(",")}]`);
      }
      step = t.data[0];
      if (!Number.isInteger(step) || step < 0) {
        fail(RangeError, `"step" must be a non-negative integer, got ${step}`);
      }
      continue;
    }
    const dot = name.indexOf(".");
    if (dot <= 0) {
      fail(RangeError, `entry ${JSON.stringify(name)} is not "step" nor "<slot>.<parameter name>"`);
    }
    const slot = name.slice(0, dot), param = name.slice(dot + 1);
    const p = Object.hasOwn(params, param) ? params[param] : undefined;
    if (p === undefined) fail(RangeError, `entry ${JSON.stringify(name)} names no parameter ("${param}")`);
    if (t.dtype !== "float32") fail(TypeError, `entry ${JSON.stringify(name)} is ${t.dtype}, not float32`);
    if (!sameShape(t.shape, p!.shape)) {
      fail(
        RangeError,
        `entry ${JSON.stringify(name)} has shape [${t.shape}] but parameter "${param}" has shape [${
          p!.shape
        }]`,
      );
    }
    (slots[slot] ??= {})[param] = t;
  }
  if (step === undefined) fail(RangeError, `the step counter "step" is missing`);
  const ordered: Record<string, Params> = {};
  for (const [slot, buffers] of Object.entries(slots)) {
    const inOrder: Record<string, Tensor> = {};
    for (const name of Object.keys(params)) {
      if (!Object.hasOwn(buffers, name)) fail(RangeError, `entry "${slot}.${name}" is missing`);
      inOrder[name] = buffers[name];
    }
    ordered[slot] = inOrder;
  }
  return { step: step!, slots: ordered };
}

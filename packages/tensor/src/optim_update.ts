/**
 * Fused optimizer updates on float32 arrays: one Adam / AdamW step ({@linkcode adamUpdate}) or SGD step
 * ({@linkcode sgdUpdate}) over many parameters at once, rounded to float32 where PyTorch's float32 kernels
 * round. They run on the WebAssembly kernels (the elements split across the kernel threads) where those can
 * run, and on plain-TypeScript loops elsewhere; both give the same bits. `@hqat/nn`'s optimizers compute the
 * step's constants and call these.
 * @module
 */
import { adamUpdateReference, sgdUpdateReference } from "./cpu/optim_reference.ts";
import { adamUpdateWasm, sgdUpdateWasm } from "./cpu/optim_wasm.ts";
import { KernelMemoryError, kernelRuntime } from "./cpu/wasm_runtime.ts";

/**
 * The float32 constants of one Adam step at step number `t` (each is rounded to float32 before use, as
 * PyTorch casts a Python float where it meets a float32 tensor).
 */
export interface AdamConstants {
  /** The parameter's multiplier before the update: AdamW's `1 − lr·weightDecay`, 1 for none. */
  readonly decay: number;
  /** Adam's L2 weight decay, added to the gradient as `g + l2·p`; 0 for none. */
  readonly l2: number;
  /** β1, the first moment's decay rate. */
  readonly beta1: number;
  /** 1 − β1 (rounded from float64). */
  readonly oneMinusBeta1: number;
  /** β2, the second moment's decay rate. */
  readonly beta2: number;
  /** 1 − β2 (rounded from float64). */
  readonly oneMinusBeta2: number;
  /** √(1 − β2^t), the second moment's bias correction. */
  readonly bias2Sqrt: number;
  /** Added to the denominator. */
  readonly eps: number;
  /** −lr / (1 − β1^t), the step size with the first moment's bias correction. */
  readonly negStepSize: number;
  /** Keep and use the maximum of past second moments (AMSGrad). */
  readonly amsgrad: boolean;
}

/**
 * One parameter's arrays for {@linkcode adamUpdate}, all of one length; none is written unless `inPlace`
 * says so.
 */
export interface AdamTensors {
  /** The parameter. */
  readonly param: Float32Array;
  /** Its gradient. */
  readonly grad: Float32Array;
  /** The first moment average (`exp_avg`). */
  readonly expAvg: Float32Array;
  /** The second moment average (`exp_avg_sq`). */
  readonly expAvgSq: Float32Array;
  /** The maximum second moment (`max_exp_avg_sq`); needed with AMSGrad only. */
  readonly maxExpAvgSq?: Float32Array;
  /**
   * Write the new values into `param`, `expAvg`, `expAvgSq` (and `maxExpAvgSq`) themselves, once every input
   * of the call has been read, and return those arrays, sparing fresh ones (default false). The caller
   * guarantees that nothing else reads them afterwards and that no other array of the call is written to
   * the same memory.
   */
  readonly inPlace?: boolean;
}

/** One parameter's new arrays from {@linkcode adamUpdate} (fresh arrays, or the inputs `inPlace`). */
export interface AdamResult {
  /** The new parameter. */
  param: Float32Array;
  /** The new first moment average. */
  expAvg: Float32Array;
  /** The new second moment average. */
  expAvgSq: Float32Array;
  /** The new maximum second moment (AMSGrad only). */
  maxExpAvgSq?: Float32Array;
}

/**
 * The float32 constants of one SGD step (each rounded to float32 before use; a momentum that rounds to 0
 * keeps no buffer).
 */
export interface SgdConstants {
  /** −lr. */
  readonly negLr: number;
  /** L2 weight decay, added to the gradient as `g + weightDecay·p`; 0 for none. */
  readonly weightDecay: number;
  /** The momentum factor; 0 keeps no buffer. */
  readonly momentum: number;
  /** 1 − dampening, the gradient's weight in the momentum buffer. */
  readonly keep: number;
  /** Step along `d + momentum·buffer` instead of the buffer (Nesterov momentum). */
  readonly nesterov: boolean;
  /** The first step: the buffer starts as the gradient instead of being decayed. */
  readonly first: boolean;
}

/**
 * One parameter's arrays for {@linkcode sgdUpdate}, all of one length; none is written unless `inPlace`
 * says so.
 */
export interface SgdTensors {
  /** The parameter. */
  readonly param: Float32Array;
  /** Its gradient. */
  readonly grad: Float32Array;
  /** The momentum buffer; needed when the momentum is not 0. */
  readonly momentumBuffer?: Float32Array;
  /**
   * Write the new values into `param` (and `momentumBuffer`) themselves, once every input of the call has
   * been read, and return those arrays (default false); as {@linkcode AdamTensors.inPlace}.
   */
  readonly inPlace?: boolean;
}

/** One parameter's new arrays from {@linkcode sgdUpdate} (fresh arrays, or the inputs `inPlace`). */
export interface SgdResult {
  /** The new parameter. */
  param: Float32Array;
  /** The new momentum buffer (with momentum only). */
  momentumBuffer?: Float32Array;
}

/** Elements below which an update stays in plain TypeScript (the copies would cost more). */
const WASM_ELEMENTS = 4096;

function checkLengths(who: string, arrays: readonly (Float32Array | undefined)[], names: string, i: number) {
  const n = arrays[0]!.length;
  arrays.forEach((a, j) => {
    if (!(a instanceof Float32Array)) {
      throw new TypeError(`${who}: tensor ${i} has no ${names.split(",")[j]} Float32Array`);
    }
    if (a.length !== n) {
      throw new RangeError(
        `${who}: tensor ${i}'s ${names.split(",")[j]} has ${a.length} elements but its param has ${n}`,
      );
    }
  });
}

function runFused<T, R>(
  tensors: readonly T[],
  size: (t: T) => number,
  fast: (rt: NonNullable<ReturnType<typeof kernelRuntime>>) => R[],
  slow: () => R[],
): R[] {
  let total = 0;
  for (const t of tensors) total += size(t);
  const rt = total >= WASM_ELEMENTS ? kernelRuntime() : undefined;
  if (!rt) return slow();
  try {
    return fast(rt);
  } catch (e) {
    if (e instanceof KernelMemoryError) return slow();
    throw e;
  }
}

/**
 * One Adam step over every parameter in `tensors` (PyTorch's `torch.optim.Adam` / `AdamW` on float32
 * tensors, `foreach=False`): with `p = decay·p` and `g = g + l2·p` when those apply,
 * `m = β1·m + (1 − β1)·g`, `v = β2·v + ((1 − β2)·g)·g`, `v̂ = max(v̂, v)` with AMSGrad (else `v̂ = v`), then
 * `p = p + negStepSize·m / (√v̂ / bias2Sqrt + eps)`, each step rounded to float32 as PyTorch's kernels do.
 * Returns fresh arrays and leaves the inputs as they are, except for tensors marked `inPlace`, whose arrays
 * receive the new values. Throws a RangeError or TypeError when a tensor's arrays differ in length or one is
 * missing.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adamUpdate } from "@hqat/tensor";
 * const constants = {
 *   decay: 1, l2: 0, beta1: 0.9, oneMinusBeta1: 0.1, beta2: 0.999, oneMinusBeta2: 0.001,
 *   bias2Sqrt: Math.sqrt(0.001), eps: 1e-8, negStepSize: -0.1 / 0.1, amsgrad: false,
 * };
 * const zero = new Float32Array(2);
 * const [r] = adamUpdate(
 *   [{ param: Float32Array.of(1, -1), grad: Float32Array.of(3, -0.5), expAvg: zero, expAvgSq: zero }],
 *   constants,
 * );
 * // The first step (lr 0.1) moves each weight by about lr against the sign of its gradient.
 * assert(Math.abs(r.param[0] - 0.9) < 1e-6 && Math.abs(r.param[1] + 0.9) < 1e-6);
 * assert(Math.abs(r.expAvg[0] - 0.3) < 1e-6);
 * ```
 */
export function adamUpdate(tensors: readonly AdamTensors[], constants: AdamConstants): AdamResult[] {
  tensors.forEach((t, i) =>
    checkLengths(
      "adamUpdate()",
      constants.amsgrad
        ? [t.param, t.grad, t.expAvg, t.expAvgSq, t.maxExpAvgSq]
        : [t.param, t.grad, t.expAvg, t.expAvgSq],
      "param,grad,expAvg,expAvgSq,maxExpAvgSq",
      i,
    )
  );
  return runFused(
    tensors,
    (t) => t.param.length,
    (rt) => adamUpdateWasm(rt, tensors, constants),
    () => adamUpdateReference(tensors, constants),
  );
}

/**
 * One SGD step over every parameter in `tensors` (PyTorch's `torch.optim.SGD` on float32 tensors):
 * `d = g + weightDecay·p`; with momentum, `b = d` on the first step and `b = momentum·b + keep·d` after, then
 * `d = d + momentum·b` (Nesterov) or `d = b`; finally `p = p + negLr·d`, each step rounded to float32 as
 * PyTorch's kernels do. Returns fresh arrays and leaves the inputs as they are, except for tensors marked
 * `inPlace`, whose arrays receive the new values. Throws a RangeError or TypeError when a tensor's arrays
 * differ in length or one is missing.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sgdUpdate } from "@hqat/tensor";
 * const constants = { negLr: -0.5, weightDecay: 0, momentum: 0.9, keep: 1, nesterov: false, first: true };
 * const [r] = sgdUpdate(
 *   [{ param: Float32Array.of(1, 2), grad: Float32Array.of(1, 1), momentumBuffer: new Float32Array(2) }],
 *   constants,
 * );
 * assert(r.param.join() === "0.5,1.5" && r.momentumBuffer!.join() === "1,1");
 * ```
 */
export function sgdUpdate(tensors: readonly SgdTensors[], constants: SgdConstants): SgdResult[] {
  tensors.forEach((t, i) =>
    checkLengths(
      "sgdUpdate()",
      Math.fround(constants.momentum) !== 0 ? [t.param, t.grad, t.momentumBuffer] : [t.param, t.grad],
      "param,grad,momentumBuffer",
      i,
    )
  );
  return runFused(
    tensors,
    (t) => t.param.length,
    (rt) => sgdUpdateWasm(rt, tensors, constants),
    () => sgdUpdateReference(tensors, constants),
  );
}

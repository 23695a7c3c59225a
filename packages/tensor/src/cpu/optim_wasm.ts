/**
 * `adamUpdate` and `sgdUpdate` on the WebAssembly kernels (`adam_update`, `sgd_update` in
 * `packages/tensor/wasm/optim.c`): every parameter's arrays are copied into the kernel memory, updated there
 * in place in parts of at most {@linkcode PART_ELEMENTS} elements shared out among the kernel threads, and
 * the new arrays copied out (into the input arrays themselves for tensors marked `inPlace`).
 * @module
 */
import type {
  AdamConstants,
  AdamResult,
  AdamTensors,
  SgdConstants,
  SgdResult,
  SgdTensors,
} from "../optim_update.ts";
import type { KernelName, KernelRuntime } from "./wasm_runtime.ts";

/** The most elements one kernel part updates (a multiple of 4). */
export const PART_ELEMENTS = 1 << 15;

/**
 * Copies each tensor's arrays in (`undefined` ones become address 0), runs `kernel` with the arguments
 * `[...addresses, count, constants, flags]` per part, and copies out the arrays at the `written` positions:
 * into the input arrays themselves for the tensors marked in `inPlace`, else into fresh ones.
 */
function fused(
  rt: KernelRuntime,
  kernel: KernelName,
  tensors: readonly (readonly (Float32Array | undefined)[])[],
  inPlace: readonly boolean[],
  written: readonly number[],
  constants: Float32Array,
  flags: number,
): Float32Array[][] {
  try {
    rt.reset();
    const k = rt.put(constants);
    const addresses = tensors.map((arrays) => arrays.map((a) => (a ? rt.put(a) : 0)));
    const parts: number[][] = [];
    tensors.forEach((arrays, t) => {
      const n = arrays[0]!.length;
      for (let start = 0; start < n; start += PART_ELEMENTS) {
        const count = Math.min(PART_ELEMENTS, n - start);
        parts.push([...addresses[t].map((a) => (a ? a + 4 * start : 0)), count, k, flags]);
      }
    });
    if (parts.length > 0) rt.run(kernel, parts);
    return tensors.map((arrays, t) =>
      written.map((j) => rt.take(addresses[t][j], arrays[0]!.length, inPlace[t] ? arrays[j] : undefined))
    );
  } finally {
    rt.reset();
  }
}

/**
 * `adamUpdate` on the kernels (the arrays are assumed checked).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adamUpdateWasm } from "./optim_wasm.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime();
 * if (rt) {
 *   const c = {
 *     decay: 1, l2: 0, beta1: 0.9, oneMinusBeta1: 0.1, beta2: 0.999, oneMinusBeta2: 0.001,
 *     bias2Sqrt: Math.sqrt(0.001), eps: 1e-8, negStepSize: -10, amsgrad: false,
 *   };
 *   const zero = new Float32Array(1);
 *   const [r] = adamUpdateWasm(rt, [{ param: Float32Array.of(1), grad: Float32Array.of(2), expAvg: zero, expAvgSq: zero }], c);
 *   // lr 1 (negStepSize = −lr / (1 − β1)): the first step moves the weight by lr against its gradient.
 *   assert(Math.abs(r.param[0]) < 1e-6 && zero[0] === 0);
 * }
 * ```
 */
export function adamUpdateWasm(
  rt: KernelRuntime,
  tensors: readonly AdamTensors[],
  c: AdamConstants,
): AdamResult[] {
  const k = Float32Array.of(
    c.decay,
    c.l2,
    c.beta1,
    c.oneMinusBeta1,
    c.beta2,
    c.oneMinusBeta2,
    c.bias2Sqrt,
    c.eps,
    c.negStepSize,
  );
  const flags = (k[0] !== 1 ? 1 : 0) | (k[1] !== 0 ? 2 : 0) | (c.amsgrad ? 4 : 0);
  const out = fused(
    rt,
    "adam_update",
    tensors.map((t) => [t.param, t.grad, t.expAvg, t.expAvgSq, c.amsgrad ? t.maxExpAvgSq : undefined]),
    tensors.map((t) => t.inPlace === true),
    c.amsgrad ? [0, 2, 3, 4] : [0, 2, 3],
    k,
    flags,
  );
  return out.map(([param, expAvg, expAvgSq, maxExpAvgSq]) =>
    c.amsgrad ? { param, expAvg, expAvgSq, maxExpAvgSq } : { param, expAvg, expAvgSq }
  );
}

/**
 * `sgdUpdate` on the kernels (the arrays are assumed checked).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sgdUpdateWasm } from "./optim_wasm.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime();
 * if (rt) {
 *   const c = { negLr: -0.5, weightDecay: 0, momentum: 0, keep: 1, nesterov: false, first: true };
 *   const [r] = sgdUpdateWasm(rt, [{ param: Float32Array.of(1, 2), grad: Float32Array.of(1, -1) }], c);
 *   assert(r.param.join() === "0.5,2.5");
 * }
 * ```
 */
export function sgdUpdateWasm(
  rt: KernelRuntime,
  tensors: readonly SgdTensors[],
  c: SgdConstants,
): SgdResult[] {
  const k = Float32Array.of(c.negLr, c.weightDecay, c.momentum, c.keep);
  const momentum = k[2] !== 0;
  const flags = (k[1] !== 0 ? 1 : 0) | (momentum ? 2 : 0) | (c.first ? 4 : 0) | (c.nesterov ? 8 : 0);
  const out = fused(
    rt,
    "sgd_update",
    tensors.map((t) => [t.param, t.grad, momentum ? t.momentumBuffer : undefined]),
    tensors.map((t) => t.inPlace === true),
    momentum ? [0, 2] : [0],
    k,
    flags,
  );
  return out.map(([param, momentumBuffer]) => (momentum ? { param, momentumBuffer } : { param }));
}

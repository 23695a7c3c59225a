/**
 * A residual add after a requantizing convolution (SPEC.md's add: `x · 2^k + y · t`, `x` the operand with
 * the larger scale, then requantized again), or a second requantization alone (a pooling that averages one
 * value): the options, checks and terms in the kernels' memory of the pass that the GEMM runs on its
 * requantized outputs while they are still in the cache.
 * @module
 */
import type { GemmAdd } from "./int_conv_wasm.ts";
import {
  checkRequantParams,
  intAddRequantFast,
  intRequantFast,
  type IntRequantParams,
} from "./int_requant.ts";
import type { KernelRuntime } from "./wasm_runtime.ts";

/** A residual add folded into a requantizing kernel. */
export interface IntResidual {
  /** The add's other operand, laid out as the kernel's outputs. */
  readonly addend: Int8Array | Int16Array;
  /** The shift of the operand with the larger scale: `· 2^k`. */
  readonly k: number;
  /** The multiplier of the other operand: `· t`. */
  readonly t: number;
  /** Whether the addend is the shifted operand (`addend · 2^k + v · t`); else `v · 2^k + addend · t`. */
  readonly shiftAddend: boolean;
  /** The requantization of the sum (one multiplier and one bound for the whole tensor). */
  readonly requant: IntRequantParams;
}

/**
 * Throws a RangeError unless `r` fits `size` outputs of `vBytes` bytes: the addend's length, SPEC's limits
 * on `k` (by the shifted operand's type) and `t`, and one requantization for the whole sum.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { checkResidual } from "./int_residual.ts";
 * const requant = { multiplier: Int32Array.of(16384), shift: Uint8Array.of(15), lo: -128, hi: [127], bytes: 1 } as const;
 * checkResidual("example", { addend: new Int8Array(2), k: 1, t: 1, shiftAddend: false, requant }, 2, 1);
 * assertThrows(() => checkResidual("example", { addend: new Int8Array(2), k: 24, t: 1, shiftAddend: false, requant }, 2, 1));
 * ```
 */
export function checkResidual(op: string, r: IntResidual, size: number, vBytes: 1 | 2): void {
  const { addend, k, t, requant: p } = r;
  if (!(addend instanceof Int8Array) && !(addend instanceof Int16Array)) {
    throw new TypeError(`${op}: the addend must be an Int8Array or Int16Array`);
  }
  if (addend.length !== size) {
    throw new RangeError(`${op}: an addend of ${addend.length} for ${size} outputs`);
  }
  const kMax = (r.shiftAddend ? addend.BYTES_PER_ELEMENT : vBytes) === 1 ? 23 : 15;
  if (!(Number.isInteger(k) && k >= 0 && k <= kMax && Number.isInteger(t) && Math.abs(t) <= 32767)) {
    throw new RangeError(`${op}: k ${k} or t ${t} is out of range (k ≤ ${kMax}, |t| ≤ 32767)`);
  }
  if (p.multiplier.length !== 1 || p.hi.length !== 1) {
    throw new RangeError(`${op}: the residual sum takes one multiplier and one bound`);
  }
  checkRequantParams(op, p, 1);
}

/**
 * The residual add of `v` (the requantized outputs) on the add kernel, into `out` when given: what the
 * fused epilogue computes, as a separate pass.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { residualAdd } from "./int_residual.ts";
 * const requant = { multiplier: Int32Array.of(16384), shift: Uint8Array.of(15), lo: -128, hi: [127], bytes: 1 } as const;
 * const r = { addend: Int8Array.of(1, 0), k: 1, t: 1, shiftAddend: false, requant };
 * assert(residualAdd(Int8Array.of(1, -3), r).join() === "2,-3");
 * ```
 */
export function residualAdd(v: Int8Array | Int16Array, r: IntResidual, out?: Int8Array | Int16Array) {
  const [x, y] = r.shiftAddend ? [r.addend, v] : [v, r.addend];
  return intAddRequantFast(x, y, { k: r.k, t: r.t, requant: r.requant, out });
}

/**
 * `r` in the kernels' memory for the GEMM epilogue: the addend, its multipliers and the sum's requantization.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gemmAdd } from "./int_residual.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime();
 * const requant = { multiplier: Int32Array.of(16384), shift: Uint8Array.of(15), lo: -128, hi: [127], bytes: 1 } as const;
 * if (rt) {
 *   rt.reset();
 *   const add = gemmAdd(rt, { addend: Int8Array.of(1, 0), k: 2, t: 3, shiftAddend: true, requant });
 *   assert(add.a === 3 && add.b === 4 && add.bytes === 1);
 *   rt.reset();
 * }
 * ```
 */
export function gemmAdd(rt: KernelRuntime, r: IntResidual): GemmAdd {
  const p = r.requant, shifted = 2 ** r.k;
  return {
    addend: rt.putBytes(r.addend),
    bytes: r.addend instanceof Int8Array ? 1 : 2,
    a: r.shiftAddend ? r.t : shifted,
    b: r.shiftAddend ? shifted : r.t,
    rows: rt.putInts([p.multiplier[0], p.shift[0], p.lo, p.hi[0]]),
  };
}

/**
 * Throws a RangeError unless `p` is one requantization for the whole tensor (a second one, after the
 * kernel's own).
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { checkSecondRequant } from "./int_residual.ts";
 * const p = { multiplier: Int32Array.of(16384), shift: Uint8Array.of(14), lo: -128, hi: [127], bytes: 1 } as const;
 * checkSecondRequant("example", p);
 * assertThrows(() => checkSecondRequant("example", { ...p, hi: [1, 2] }));
 * ```
 */
export function checkSecondRequant(op: string, p: IntRequantParams): void {
  if (p.multiplier.length !== 1 || p.hi.length !== 1) {
    throw new RangeError(`${op}: the second requantization takes one multiplier and one bound`);
  }
  checkRequantParams(op, p, 1);
}

/**
 * `v` requantized again by `p` (one multiplier for the whole tensor) on the requantization kernel, into
 * `out` when given: what the GEMM's pass computes, as a pass of its own.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { requantAgain } from "./int_residual.ts";
 * const p = { multiplier: Int32Array.of(16384), shift: Uint8Array.of(15), lo: -128, hi: [127], bytes: 1 } as const;
 * assert(requantAgain(Int8Array.of(3, -3, 100), p).join() === "2,-1,50");
 * ```
 */
export function requantAgain(v: Int8Array | Int16Array, p: IntRequantParams, out?: Int8Array | Int16Array) {
  const layout = { outer: 1, channels: 1, inner: v.length };
  return intRequantFast(Int32Array.from(v), { layout, requant: p, out });
}

/**
 * The second requantization `p` in the kernels' memory for the GEMM's pass: no addend, the outputs times one.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gemmAgain } from "./int_residual.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime();
 * const p = { multiplier: Int32Array.of(16384), shift: Uint8Array.of(14), lo: -128, hi: [127], bytes: 1 } as const;
 * if (rt) {
 *   rt.reset();
 *   const again = gemmAgain(rt, p);
 *   assert(again.addend === 0 && again.a === 1 && again.b === 0);
 *   rt.reset();
 * }
 * ```
 */
export function gemmAgain(rt: KernelRuntime, p: IntRequantParams): GemmAdd {
  return { addend: 0, bytes: 1, a: 1, b: 0, rows: rt.putInts([p.multiplier[0], p.shift[0], p.lo, p.hi[0]]) };
}

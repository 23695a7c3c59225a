/**
 * The CPU executor's fast paths: an instruction whose epilogue is a lone int8/int16 requantization runs as
 * one fused kernel — a convolution or linear layer with the requantization (and its ReLU / ReLU6 clamp) in
 * the kernels' epilogue, so the int32 accumulator never leaves them — and any other int32 value followed by
 * such a requantization is requantized on the WebAssembly kernels. The same integers as the instruction
 * and stage tables' kernels (`@hqat/qtensor`'s `requantize` is the reference): the executor's `reference`
 * option skips these paths. The model input's `quantize` writes its integers straight to the output, and an
 * average pooling with a lone requantization runs as a depthwise convolution with weights of one.
 * @module
 */

import { activationBounds, resolveRange } from "@hqat/qtensor";
import {
  intAddRequantFast,
  intConv2dRequantFast,
  intLinearRequantFast,
  intRequantFast,
  type IntRequantParams,
  quantizeFast,
} from "@hqat/tensor";
import type { Instr } from "./instr.ts";
import type { Requant, Stage } from "./stage.ts";
import { elementCount } from "./program.ts";
import { innerOfAxis1, type IntValue } from "./value.ts";

const isAct = (v: IntValue) => v.dtype === "qint8" || v.dtype === "qint16";

/** The requantization of a lone-requant epilogue to int8/int16, or undefined for any other epilogue. */
export function loneRequant(epilogue: readonly Stage[]): Requant | undefined {
  if (epilogue.length !== 1) return undefined;
  const s = epilogue[0];
  return s.kind === "requant" && s.dtype !== "qint32" ? s : undefined;
}

const paramsCache = new WeakMap<Requant, IntRequantParams>();

/**
 * The kernels' terms of `r`: multipliers, shifts, and the clamp of its dtype and activation.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { requantParams } from "./cpu_fused.ts";
 * const p = requantParams({ M: Int32Array.of(16384), n: Uint8Array.of(15), dtype: "qint8", scale: Float32Array.of(0.1), act: "relu6" });
 * assert(p.lo === 0 && p.hi[0] === 60 && p.bytes === 1);
 * ```
 */
export function requantParams(r: Requant): IntRequantParams {
  let p = paramsCache.get(r);
  if (p) return p;
  if (r.dtype === "qint32") throw new TypeError("requantParams(): a 32-bit output is not requantized");
  const range = resolveRange({ dtype: r.dtype });
  const { lo, hi } = activationBounds(range, {
    activation: r.act === "none" ? undefined : r.act,
    scale: r.scale.length === 1 ? r.scale[0] : r.scale,
  });
  p = { multiplier: r.M, shift: r.n, lo, hi, bytes: r.dtype === "qint8" ? 1 : 2 };
  paramsCache.set(r, p);
  return p;
}

const ONES = new WeakMap<Instr, Int8Array>();

/** A pooling window's weights of one for `length` taps, kept per instruction. */
function onesWeight(instr: Instr, length: number): Int8Array {
  let w = ONES.get(instr);
  if (!w || w.length !== length) ONES.set(instr, w = new Int8Array(length).fill(1));
  return w;
}

/**
 * `instr` on `ins` with its lone requantization `r` fused into the kernel, when the executor has a fused
 * kernel for its kind; undefined otherwise. `outShape` is the output buffer's shape for the run; the
 * output is written to `out` when given (an array of the output's type and length).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fusedInstr } from "./cpu_fused.ts";
 * const r = { M: Int32Array.of(16384), n: Uint8Array.of(15), dtype: "qint8" as const, scale: Float32Array.of(1), act: "none" as const };
 * const quant = { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 1 } as const;
 * assert(fusedInstr(quant, [], r, [1]) === undefined);
 * ```
 */
export function fusedInstr(
  instr: Instr,
  ins: readonly IntValue[],
  r: Requant,
  outShape: readonly number[],
  out?: Int8Array | Int16Array,
): IntValue | undefined {
  const base = { shape: outShape, dtype: r.dtype, scale: r.scale } as const;
  if (instr.op === "conv2d") {
    const x = ins[0];
    if (x.dtype !== "qint8" && x.dtype !== "qint16") return undefined;
    // Row tiles bound the BPU's feature memory; every output row is the same integer whether its tile is
    // accumulated alone or with the others, so the fused kernel runs the convolution whole.
    const geo = {
      stride: instr.stride,
      padding: instr.padding,
      dilation: instr.dilation,
      groups: instr.groups,
    };
    const data = intConv2dRequantFast(
      { data: x.data as Int8Array | Int16Array, shape: x.shape },
      { data: instr.weight, shape: instr.weightShape },
      { geometry: geo, bias: instr.bias, requant: requantParams(r), out },
    );
    return { ...base, data };
  }
  if (instr.op === "avg_pool2d" && !instr.ceilMode && instr.countIncludePad !== false) {
    // The window sums are a depthwise convolution with weights of one: the same int32 sums, requantized
    // in the depthwise kernels' epilogue.
    const x = ins[0];
    if (!isAct(x)) return undefined;
    const c = x.shape[1], [kh, kw] = instr.kernel;
    const data = intConv2dRequantFast(
      { data: x.data as Int8Array | Int16Array, shape: x.shape },
      { data: onesWeight(instr, c * kh * kw), shape: [c, 1, kh, kw] },
      {
        geometry: { stride: instr.stride, padding: instr.padding, dilation: [1, 1], groups: c },
        requant: requantParams(r),
        out,
      },
    );
    return { ...base, data };
  }
  if (instr.op === "add") {
    const [a, b] = ins;
    const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    if (!same || r.M.length !== 1 || !isAct(a) || !isAct(b)) return undefined;
    const [x, y] = instr.shiftSecond ? [b, a] : [a, b];
    const data = intAddRequantFast(x.data as Int8Array | Int16Array, y.data as Int8Array | Int16Array, {
      k: instr.k,
      t: instr.t,
      requant: requantParams(r),
      out,
    });
    return { ...base, data };
  }
  if (instr.op === "linear") {
    const x = ins[0];
    if (x.dtype !== "qint8" && x.dtype !== "qint16") return undefined;
    const [o, k] = instr.weightShape, n = x.shape[0];
    const data = intLinearRequantFast(
      { data: x.data as Int8Array | Int16Array, shape: [n, k] },
      { data: instr.weight, shape: instr.weightShape },
      { bias: instr.bias, requant: requantParams(r), out },
    );
    return { ...base, shape: [n, o], data };
  }
  return undefined;
}

/**
 * `v` (an int32 value) requantized by `r` on the WebAssembly kernels (into `out` when given): the stage
 * table's `requant` kernel, faster.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { requantFast } from "./cpu_fused.ts";
 * const v = { data: Int32Array.of(3, -3, 1000), dtype: "qint32" as const, shape: [1, 3], scale: Float32Array.of(1) };
 * const r = { M: Int32Array.of(1), n: Uint8Array.of(1), dtype: "qint8" as const, scale: Float32Array.of(2), act: "none" as const };
 * assert(requantFast(v, r).data.join() === "2,-1,127");
 * ```
 */
export function requantFast(v: IntValue, r: Requant, out?: Int8Array | Int16Array): IntValue {
  const channels = v.shape.length >= 2 ? v.shape[1] : 1, inner = innerOfAxis1(v.shape);
  const outer = v.data.length / (channels * inner);
  const data = intRequantFast(v.data as Int32Array, {
    layout: { outer, channels, inner },
    requant: requantParams(r),
    out,
  });
  return { data, shape: v.shape, dtype: r.dtype, scale: r.scale };
}

/** The geometry of a convolution instruction. */
const geometry = (instr: Instr & { op: "conv2d" }) => ({
  stride: instr.stride,
  padding: instr.padding,
  dilation: instr.dilation,
  groups: instr.groups,
});

const INTERMEDIATES = new WeakMap<Instr, Int8Array | Int16Array>();

/** An array for an instruction's value between two stages, kept from run to run (no page faults per run). */
function intermediate(instr: Instr, dtype: "qint8" | "qint16", length: number): Int8Array | Int16Array {
  let a = INTERMEDIATES.get(instr);
  const type = dtype === "qint8" ? Int8Array : Int16Array;
  if (!a || a.length !== length || !(a instanceof type)) INTERMEDIATES.set(instr, a = new type(length));
  return a;
}

/**
 * A convolution with a residual add folded in (the epilogue requantization, add, requantization that
 * compiled programs carry) as one kernel: the add and its requantization in the convolution's epilogue
 * (`@hqat/tensor` runs it as a pass of its own where the convolution is no GEMM); a linear layer as two
 * fused kernels, the layer with its requantization, then the add with its own; undefined for any other
 * epilogue. `addend` reads the add's other operand.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fusedResidual } from "./cpu_fused.ts";
 * const quant = { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 1 } as const;
 * assert(fusedResidual(quant, [], () => undefined as never, [1]) === undefined);
 * ```
 */
export function fusedResidual(
  instr: Instr,
  ins: readonly IntValue[],
  addend: (id: number) => IntValue,
  outShape: readonly number[],
  out?: Int8Array | Int16Array,
): IntValue | undefined {
  const [r1, add, r2] = instr.epilogue;
  if (instr.epilogue.length !== 3 || r1.kind !== "requant" || add.kind !== "add" || r2.kind !== "requant") {
    return undefined;
  }
  if (r1.dtype === "qint32" || r1.act !== "none" || r2.dtype === "qint32" || r2.M.length !== 1) {
    return undefined;
  }
  const other = addend(add.addend), size = elementCount(outShape);
  if (!isAct(other) || other.data.length !== size) return undefined;
  const base = { shape: outShape, dtype: r2.dtype, scale: r2.scale } as const;
  const x = ins[0];
  if (instr.op === "conv2d" && isAct(x)) {
    const residual = {
      addend: other.data as Int8Array | Int16Array,
      k: add.k,
      t: add.t,
      shiftAddend: add.shiftAddend,
      requant: requantParams(r2),
    };
    const data = intConv2dRequantFast(
      { data: x.data as Int8Array | Int16Array, shape: x.shape },
      { data: instr.weight, shape: instr.weightShape },
      {
        geometry: {
          stride: instr.stride,
          padding: instr.padding,
          dilation: instr.dilation,
          groups: instr.groups,
        },
        bias: instr.bias,
        requant: requantParams(r1),
        residual,
        out,
      },
    );
    return { ...base, data };
  }
  const v = fusedInstr(instr, ins, r1, outShape, intermediate(instr, r1.dtype, size));
  if (!v) return undefined;
  const [a, b] = add.shiftAddend ? [other, v] : [v, other];
  const data = intAddRequantFast(a.data as Int8Array | Int16Array, b.data as Int8Array | Int16Array, {
    k: add.k,
    t: add.t,
    requant: requantParams(r2),
    out,
  });
  return { ...base, data };
}

/**
 * An instruction whose epilogue is a chain of int8/int16 requantizations (a requantization into a pooling
 * that averages one value, say): a convolution with two of one type, the second on one multiplier, as one
 * kernel (the second in its epilogue where it is a GEMM); otherwise the first fused into the kernel and the
 * others on the WebAssembly kernels; undefined for any other epilogue.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fusedRequantChain } from "./cpu_fused.ts";
 * const quant = { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 1 } as const;
 * assert(fusedRequantChain(quant, [], [1]) === undefined);
 * ```
 */
export function fusedRequantChain(
  instr: Instr,
  ins: readonly IntValue[],
  outShape: readonly number[],
  out?: Int8Array | Int16Array,
): IntValue | undefined {
  const chain = instr.epilogue;
  if (chain.length < 2 || !chain.every((s) => s.kind === "requant" && s.dtype !== "qint32")) return undefined;
  const [r1, r2] = chain as readonly Requant[], x = ins[0];
  if (chain.length === 2 && instr.op === "conv2d" && isAct(x) && r2.M.length === 1 && r1.dtype === r2.dtype) {
    const data = intConv2dRequantFast(
      { data: x.data as Int8Array | Int16Array, shape: x.shape },
      { data: instr.weight, shape: instr.weightShape },
      {
        geometry: geometry(instr),
        bias: instr.bias,
        requant: requantParams(r1),
        requant2: requantParams(r2),
        out,
      },
    );
    return { data, shape: outShape, dtype: r2.dtype, scale: r2.scale };
  }
  let v = fusedInstr(instr, ins, r1, outShape);
  for (let k = 1; v && k < chain.length; k++) {
    const acc = { ...v, data: Int32Array.from(v.data), dtype: "qint32" as const };
    v = requantFast(acc, chain[k] as Requant, k === chain.length - 1 ? out : undefined);
  }
  return v;
}

/**
 * A `quantize` instruction without stages on the run's float `input`, written to `out` when given (an
 * array of the output's type and length): the instruction table's kernel without the copy; undefined for
 * any other instruction.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fusedQuantize } from "./cpu_fused.ts";
 * const quant = { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 } as const;
 * const v = fusedQuantize(quant, Float32Array.of(0.75, -1), [1, 2], "qint8");
 * assert(v !== undefined && v.data.join() === "2,-2");
 * ```
 */
export function fusedQuantize(
  instr: Instr,
  input: Float32Array,
  outShape: readonly number[],
  dtype: string,
  out?: Int8Array | Int16Array,
): IntValue | undefined {
  if (instr.op !== "quantize" || instr.epilogue.length > 0 || (dtype !== "qint8" && dtype !== "qint16")) {
    return undefined;
  }
  const data = quantizeFast(input, instr.scale, { dtype, out });
  return { data, shape: outShape, dtype, scale: Float32Array.of(instr.scale) };
}

/**
 * The lowered program that a `.hbm` file holds: buffers in one arena, and a list of instructions,
 * each a main operation followed by an epilogue of fused stages (requantization, a residual add,
 * an activation). `compileModel` builds it, `encodeHbm` writes it, `loadHbm` reads and checks it,
 * `runHbm` executes it.
 * @module
 */

import type { InputSource } from "@hqat/march-bayes";
import type { OptLevel } from "./schedule.ts";

/**
 * Element type of a buffer: the quantized types, and float32 for the dequantized output.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { BufferDtype } from "@hqat/hbdk";
 * const d: BufferDtype = "qint32";
 * assert(d === "qint32");
 * ```
 */
export type BufferDtype = "qint8" | "qint16" | "qint32" | "float32";

/**
 * How a buffer's elements are ordered in the arena: NCHW (row-major as the shape reads) or NHWC
 * (channels innermost; the same as NCHW for tensors of rank 2 or with H = W = 1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { BufferLayout } from "@hqat/hbdk";
 * const l: BufferLayout = "nhwc";
 * assert(l === "nhwc");
 * ```
 */
export type BufferLayout = "nchw" | "nhwc";

/**
 * One buffer of the arena: the value it holds (`name`, shape at the compiled batch, dtype, and
 * scale — one value or one per channel along axis 1), its layout and its place (`offset`, `bytes`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { HbmBuffer } from "@hqat/hbdk";
 * const b: HbmBuffer = {
 *   name: "quant", shape: [1, 3, 32, 32], dtype: "qint8", scale: Float32Array.of(1 / 128),
 *   layout: "nhwc", offset: 0, bytes: 3072,
 * };
 * assert(b.bytes === 3 * 32 * 32);
 * ```
 */
export interface HbmBuffer {
  /** The name of the value the buffer holds. */
  readonly name: string;
  /** The shape at the compiled batch. */
  readonly shape: readonly number[];
  /** The element dtype. */
  readonly dtype: BufferDtype;
  /** The scale: one value, or one per channel along axis 1. */
  readonly scale: Float32Array;
  /** The memory layout of the elements. */
  readonly layout: BufferLayout;
  /** The byte offset in the arena. */
  readonly offset: number;
  /** The size in bytes. */
  readonly bytes: number;
}

/**
 * A fused activation clamp: none, ReLU `[0, qmax]` or ReLU6 `[0, min(qmax, round(6 / s))]`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Activation } from "@hqat/hbdk";
 * const a: Activation = "relu6";
 * assert(a === "relu6");
 * ```
 */
export type Activation = "none" | "relu" | "relu6";

/**
 * A requantization: per-channel (or one) multipliers `M · 2^-n` from `computeMultiplier`, the
 * output dtype and scale (one value; one per channel for a 32-bit output), and the clamp.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Requant } from "@hqat/hbdk";
 * const r: Requant = { M: Int32Array.of(16384), n: Uint8Array.of(15), dtype: "qint8", scale: Float32Array.of(0.5), act: "none" };
 * assert(r.M.length === r.n.length);
 * ```
 */
export interface Requant {
  /** The integer multipliers, one per channel or one for all. */
  readonly M: Int32Array;
  /** The right shifts that go with `M` (the multiplier is `M · 2^-n`). */
  readonly n: Uint8Array;
  /** The output dtype. */
  readonly dtype: "qint8" | "qint16" | "qint32";
  /** The output scale (one value; one per channel for a 32-bit output). */
  readonly scale: Float32Array;
  /** The clamp applied after requantization. */
  readonly act: Activation;
}

/**
 * One stage of an instruction's epilogue, applied to the value the previous step left:
 * `requant` (an int32 or int8/16 value to the requantization's dtype), `add` (the SPEC add of the
 * value and the `addend` buffer: the operand with the larger scale — `shiftAddend` says which — is
 * shifted by `2^k`, the other multiplied by `t`, giving an int32 sum), `relu`, `relu6` (a clamp on
 * the value's own grid).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Stage } from "@hqat/hbdk";
 * const s: Stage = { kind: "add", addend: 3, shiftAddend: false, k: 14, t: 16384 };
 * assert(s.kind === "add");
 * ```
 */
export type Stage =
  | ({ readonly kind: "requant" } & Requant)
  | {
    readonly kind: "add";
    readonly addend: number;
    readonly shiftAddend: boolean;
    readonly k: number;
    readonly t: number;
  }
  | { readonly kind: "relu" }
  | { readonly kind: "relu6" };

/**
 * Fields every instruction has: the buffers it reads and writes, and its epilogue.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { InstrBase } from "@hqat/hbdk";
 * const b: InstrBase = { name: "flatten", inputs: [4], output: 5, epilogue: [] };
 * assert(b.inputs[0] === 4);
 * ```
 */
export interface InstrBase {
  /** The name of the layer the instruction comes from. */
  readonly name: string;
  /** The indices of the buffers it reads. */
  readonly inputs: readonly number[];
  /** The index of the buffer it writes. */
  readonly output: number;
  /** The stages applied to the result before it is written. */
  readonly epilogue: readonly Stage[];
}

/** A pair `[height, width]`. */
export type Pair = readonly [number, number];

/**
 * One instruction. Main operations: `quantize` (the float model input to the output buffer's
 * dtype with `scale`), `conv2d` and `linear` (the exact int32 accumulator with the int32 bias;
 * `tileRows` output rows per tile), `add` (the int32 SPEC sum of two buffers), `avg_pool2d`
 * (the int32 window sum, padding counted), `max_pool2d`, `cat` (each input requantized, then
 * concatenated), `move` (the input as it is, reshaped to the output: identity, flatten, or a
 * standalone requantization or activation in its epilogue) and `dequantize` (to float32).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Instr } from "@hqat/hbdk";
 * const i: Instr = { op: "move", name: "flatten", inputs: [4], output: 5, epilogue: [] };
 * assert(i.op === "move");
 * ```
 */
export type Instr =
  | (InstrBase & { readonly op: "quantize"; readonly scale: number })
  | (InstrBase & {
    readonly op: "conv2d";
    readonly weight: Int8Array;
    readonly weightShape: readonly [number, number, number, number];
    readonly weightScale: Float32Array;
    readonly bias?: Int32Array;
    readonly stride: Pair;
    readonly padding: Pair;
    readonly dilation: Pair;
    readonly groups: number;
    readonly tileRows: number;
  })
  | (InstrBase & {
    readonly op: "linear";
    readonly weight: Int8Array;
    readonly weightShape: readonly [number, number];
    readonly weightScale: Float32Array;
    readonly bias?: Int32Array;
  })
  | (InstrBase & {
    readonly op: "add";
    readonly shiftSecond: boolean;
    readonly k: number;
    readonly t: number;
  })
  | (InstrBase & {
    readonly op: "avg_pool2d" | "max_pool2d";
    readonly kernel: Pair;
    readonly stride: Pair;
    readonly padding: Pair;
  })
  | (InstrBase & {
    readonly op: "cat";
    readonly axis: number;
    readonly requants: readonly Requant[];
  })
  | (InstrBase & { readonly op: "move" })
  | (InstrBase & { readonly op: "dequantize" });

/**
 * The instruction ops, in opcode order (the opcode of an op is its index).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { INSTR_OPS } from "@hqat/hbdk";
 * assert(INSTR_OPS.indexOf("conv2d") === 1);
 * ```
 */
export const INSTR_OPS = [
  "quantize",
  "conv2d",
  "linear",
  "add",
  "avg_pool2d",
  "max_pool2d",
  "cat",
  "move",
  "dequantize",
] as const satisfies readonly Instr["op"][];

/**
 * A compiled program: what it was compiled for (name, march, opt level, input source), the float
 * input shape at the compiled batch, the buffers, the arena size, the instructions, and the
 * buffer that receives the float output (the buffer its `dequantize` reads is the raw integer
 * output).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { HbmProgram } from "@hqat/hbdk";
 * const p: Pick<HbmProgram, "opt" | "inputSource"> = { opt: "O1", inputSource: "pyramid" };
 * assert(p.opt === "O1");
 * ```
 */
export interface HbmProgram {
  /** The model name. */
  readonly name: string;
  /** The march it was compiled for. */
  readonly march: string;
  /** The optimization level. */
  readonly opt: OptLevel;
  /** Where the input comes from. */
  readonly inputSource: InputSource;
  /** The float input shape at the compiled batch. */
  readonly inputShape: readonly number[];
  /** The buffers of the arena. */
  readonly buffers: readonly HbmBuffer[];
  /** The arena size in bytes. */
  readonly arenaBytes: number;
  /** The instructions, in execution order. */
  readonly instructions: readonly Instr[];
  /** The index of the buffer that receives the float output. */
  readonly output: number;
}

/**
 * Bytes per element of a buffer dtype.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { bufferDtypeBytes } from "@hqat/hbdk";
 * assert(bufferDtypeBytes("qint16") === 2 && bufferDtypeBytes("float32") === 4);
 * ```
 */
export function bufferDtypeBytes(dtype: BufferDtype): number {
  return dtype === "qint8" ? 1 : dtype === "qint16" ? 2 : 4;
}

/**
 * The integer program: the one executable form of a fixed-point model. Buffers hold integer values
 * (one per value of the model, with its shape at the program's batch, dtype and scale); instructions
 * read buffers and write one, each a main operation of a kind in the instruction table followed by an
 * epilogue of fused stages. `convertFx` produces the program at O0 (one instruction per node of the
 * model); `lowerProgram` fuses it; the compiler places it (`placement`); the `.hbm` and `int_model`
 * files are it serialized; the CPU and WebGPU executors run it; check, perf and visualize read it.
 * @module
 */

import type { InputSource } from "@hqat/march-bayes";
import type { Instr } from "./instr.ts";

/**
 * Element type of a buffer: the quantized types, and float32 for the dequantized output.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { BufferDtype } from "@hqat/program";
 * const d: BufferDtype = "qint32";
 * assert(d === "qint32");
 * ```
 */
export type BufferDtype = "qint8" | "qint16" | "qint32" | "float32";

/**
 * How a placed buffer's elements are ordered in the arena: NCHW (row-major as the shape reads) or
 * NHWC (channels innermost; the same as NCHW for tensors of rank 2 or with H = W = 1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { BufferLayout } from "@hqat/program";
 * const l: BufferLayout = "nhwc";
 * assert(l === "nhwc");
 * ```
 */
export type BufferLayout = "nchw" | "nhwc";

/**
 * The lowering level of a program. O0 runs one instruction per node of the model; O1 fuses
 * requantization, activations, 1×1-window pooling and residual adds into the producing instruction and
 * turns identities (and flattens read by linear layers) into views; O2 and O3 run the O1 program and
 * differ in how the compiler places it (buffer reuse, layouts, tiling).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { OptLevel } from "@hqat/program";
 * const o: OptLevel = "O3";
 * assert(o === "O3");
 * ```
 */
export type OptLevel = "O0" | "O1" | "O2" | "O3";

/**
 * Every {@linkcode OptLevel}, lowest first.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { OPT_LEVELS } from "@hqat/program";
 * assert(OPT_LEVELS.join() === "O0,O1,O2,O3");
 * ```
 */
export const OPT_LEVELS: readonly OptLevel[] = ["O0", "O1", "O2", "O3"];

/**
 * One buffer: the value it holds — the name of the model node it comes from, its shape at the
 * program's batch (dimension 0), its dtype and its scale (one value, or one per channel along axis 1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { ProgramBuffer } from "@hqat/program";
 * const b: ProgramBuffer = { name: "quant", shape: [1, 3, 32, 32], dtype: "qint8", scale: Float32Array.of(1 / 128) };
 * assert(b.shape[1] === 3);
 * ```
 */
export interface ProgramBuffer {
  /** The name of the value the buffer holds. */
  readonly name: string;
  /** The shape at the program's batch. */
  readonly shape: readonly number[];
  /** The element dtype. */
  readonly dtype: BufferDtype;
  /** The scale: one value, or one per channel along axis 1. */
  readonly scale: Float32Array;
}

/**
 * Where a compiled program's buffers live: the input source it was compiled for, the arena size, and
 * each buffer's layout and byte offset in the arena (a buffer takes elements × dtype bytes).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Placement } from "@hqat/program";
 * const p: Placement = { inputSource: "pyramid", arenaBytes: 128, buffers: [{ layout: "nhwc", offset: 0 }] };
 * assert(p.buffers[0].offset === 0);
 * ```
 */
export interface Placement {
  /** Where the model input comes from. */
  readonly inputSource: InputSource;
  /** The arena size in bytes. */
  readonly arenaBytes: number;
  /** The layout and offset of each buffer, by buffer index. */
  readonly buffers: readonly { readonly layout: BufferLayout; readonly offset: number }[];
}

/**
 * An integer program (see the module description): what it is called, the march it is for, its
 * lowering level, the float input shape at its batch, the buffers, the instructions in execution
 * order, the float32 buffer the final `dequantize` writes, and — once compiled — its placement.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Program } from "@hqat/program";
 * const p: Program = {
 *   name: "tiny", march: "bayes", opt: "O0", inputShape: [1, 2], output: 1,
 *   buffers: [
 *     { name: "q", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5) },
 *     { name: "d", shape: [1, 2], dtype: "float32", scale: Float32Array.of(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * assert(p.instructions.length === 2 && p.placement === undefined);
 * ```
 */
export interface Program {
  /** The model name. */
  readonly name: string;
  /** The march the model was prepared for. */
  readonly march: string;
  /** The lowering level. */
  readonly opt: OptLevel;
  /** The float input shape at the program's batch. */
  readonly inputShape: readonly number[];
  /** The buffers. */
  readonly buffers: readonly ProgramBuffer[];
  /** The instructions, in execution order. */
  readonly instructions: readonly Instr[];
  /** The index of the float32 buffer the final `dequantize` writes. */
  readonly output: number;
  /** Where the buffers live, once compiled. */
  readonly placement?: Placement;
}

/**
 * The fixed-point model as `convertFx` gives it: a {@linkcode Program} at O0, one instruction per node
 * of the model, each writing a buffer named after its node.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { IntModel } from "@hqat/program";
 * const m: Pick<IntModel, "opt"> = { opt: "O0" };
 * assert(m.opt === "O0");
 * ```
 */
export type IntModel = Program;

/**
 * Bytes per element of a buffer dtype.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { bufferDtypeBytes } from "@hqat/program";
 * assert(bufferDtypeBytes("qint16") === 2 && bufferDtypeBytes("float32") === 4);
 * ```
 */
export function bufferDtypeBytes(dtype: BufferDtype): number {
  return dtype === "qint8" ? 1 : dtype === "qint16" ? 2 : 4;
}

/**
 * The number of elements of `shape`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { elementCount } from "@hqat/program";
 * assert(elementCount([2, 3, 4]) === 24 && elementCount([]) === 1);
 * ```
 */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The bytes a buffer takes: its elements times its dtype's size.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { bufferBytes } from "@hqat/program";
 * assert(bufferBytes({ shape: [2, 10], dtype: "qint32" }) === 80);
 * ```
 */
export function bufferBytes(b: { readonly shape: readonly number[]; readonly dtype: BufferDtype }): number {
  return elementCount(b.shape) * bufferDtypeBytes(b.dtype);
}

/**
 * `shape` with dimension 0 replaced by `batch`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { withBatch } from "@hqat/program";
 * assert(withBatch([1, 3, 32, 32], 8).join() === "8,3,32,32");
 * ```
 */
export function withBatch(shape: readonly number[], batch: number): number[] {
  return shape.length === 0 ? [] : [batch, ...shape.slice(1)];
}

/**
 * The program at another batch: every buffer's and the input's dimension 0 set to `batch`. A placed
 * program loses its placement (the compiler places the program for its batch).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { atBatch, type Program } from "@hqat/program";
 * const p: Program = {
 *   name: "t", march: "bayes", opt: "O0", inputShape: [1, 2], output: 1,
 *   buffers: [
 *     { name: "q", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5) },
 *     { name: "d", shape: [1, 2], dtype: "float32", scale: Float32Array.of(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * assert(atBatch(p, 4).buffers[1].shape.join() === "4,2");
 * ```
 */
export function atBatch(program: Program, batch: number): Program {
  if (!Number.isSafeInteger(batch) || batch < 1) {
    throw new RangeError(`atBatch(): batch must be a positive integer, got ${batch}`);
  }
  const { placement: _, ...rest } = program;
  return {
    ...rest,
    inputShape: withBatch(program.inputShape, batch),
    buffers: program.buffers.map((b) => ({ ...b, shape: withBatch(b.shape, batch) })),
  };
}

/**
 * The instruction that writes each buffer (-1 for none), by buffer index.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { producers } from "@hqat/program";
 * const p = producers({ buffers: [{}, {}], instructions: [{ output: 1 }] } as never);
 * assert(p.join() === "-1,0");
 * ```
 */
export function producers(program: Pick<Program, "buffers" | "instructions">): number[] {
  const p = new Array<number>(program.buffers.length).fill(-1);
  program.instructions.forEach((instr, i) => {
    if (instr.output >= 0 && instr.output < p.length && p[instr.output] < 0) p[instr.output] = i;
  });
  return p;
}

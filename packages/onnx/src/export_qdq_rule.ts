/**
 * The shape of a QDQ export rule and what rules share: how a program buffer is held in the exported
 * graph (a DequantizeLinear output for int8/int16 values, a float tensor for 32-bit and float ones), the
 * context a rule writes its nodes through, and the note each rule gives on how onnxruntime runs it.
 * @module
 */
import type { BufferDtype, Instr, ProgramBuffer } from "@hqat/program";
import type { OnnxAttrValue, OnnxGraphBuilder } from "./qdq_graph.ts";

/** The integer grid a value lies on: its dtype and scale (one value, or one per channel on axis 1). */
export interface QdqGrid {
  /** The dtype. */
  readonly dtype: BufferDtype;
  /** The scale. */
  readonly scale: Float32Array;
}

/**
 * A value in the exported graph: `float`, the dequantized value (for int8/int16 values the output of a
 * DequantizeLinear of `quant`), and the grid it lies on when known. `batchOne` marks a constant, held
 * with batch dimension 1 and broadcast where it is used.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { QdqValue } from "./export_qdq_rule.ts";
 * const v: QdqValue = { float: "c1", quant: "c1:q", grid: { dtype: "qint8", scale: Float32Array.of(0.1) } };
 * assert(v.quant === "c1:q");
 * ```
 */
export interface QdqValue {
  /** The float tensor. */
  readonly float: string;
  /** The int8/int16 tensor `float` dequantizes, when there is one. */
  readonly quant?: string;
  /** The grid the value lies on, when the value is exactly on one. */
  readonly grid?: QdqGrid;
  /** A constant with batch dimension 1. */
  readonly batchOne?: boolean;
}

/**
 * How onnxruntime runs an instruction's nodes: `integer` when its CPU provider runs the main operation
 * as an integer kernel after its QDQ fusion (QLinearConv, QLinearMatMul, MaxPool on int8, …), `exact`
 * when the exported nodes give the program's integers bit for bit, and why.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { OrtNote } from "./export_qdq_rule.ts";
 * const n: OrtNote = { integer: true, exact: true, reason: "a table Gather on the integers" };
 * assert(n.exact);
 * ```
 */
export interface OrtNote {
  /** onnxruntime runs the main operation on integers. */
  readonly integer: boolean;
  /** The nodes give the program's integers bit for bit. */
  readonly exact: boolean;
  /** Why (which kernel, or why it stays float and what differs). */
  readonly reason: string;
}

/**
 * What a rule writes its nodes through: the graph, the values of the instruction's inputs, their
 * buffers and the output buffer, and helpers for names, Q/DQ pairs and constants.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { QdqContext } from "./export_qdq_rule.ts";
 * const c = { ins: [], buffers: [] } as unknown as QdqContext;
 * assert(c.ins.length === 0);
 * ```
 */
export interface QdqContext {
  /** The graph being written. */
  readonly g: OnnxGraphBuilder;
  /** The values of the instruction's inputs. */
  readonly ins: readonly QdqValue[];
  /** The buffers of the instruction's inputs. */
  readonly buffers: readonly ProgramBuffer[];
  /** The output buffer. */
  readonly out: ProgramBuffer;
  /** The graph input (float). */
  readonly input: string;
  /** A node name for this instruction: `<instruction>/<what>`. */
  readonly nodeName: (what: string) => string;
  /** Adds `op` reading `inputs` and returns its one output. */
  readonly op: (
    op: string,
    inputs: readonly string[],
    attrs?: Readonly<Record<string, OnnxAttrValue>>,
  ) => string;
  /** Adds a node of shape arithmetic (no data: named `<instruction>:shape/<op>`) and returns its output. */
  readonly shapeOp: (
    op: string,
    inputs: readonly string[],
    attrs?: Readonly<Record<string, OnnxAttrValue>>,
  ) => string;
  /** QuantizeLinear of `float` to `grid` (int8/int16), then DequantizeLinear: the quantized value. */
  readonly quantize: (float: string, grid: QdqGrid) => QdqValue;
  /**
   * The stored form of int8/int16 integers: `q + zeroPoint` in `elem` (uint8 with zero point 128 for
   * int8 values when the export writes uint8 activations, else the integers themselves).
   */
  readonly stored: (
    dtype: "qint8" | "qint16",
  ) => { readonly elem: "uint8" | "int8" | "int16"; readonly zeroPoint: number };
  /** An initializer of int8/int16 integers in their stored form. */
  readonly ints: (
    base: string,
    dtype: "qint8" | "qint16",
    dims: readonly number[],
    data: ArrayLike<number>,
  ) => string;
  /** A scale initializer (a scalar for one value, else 1-D). */
  readonly scale: (scale: ArrayLike<number>) => string;
  /** An int64 1-D initializer. */
  readonly int64s: (values: readonly number[]) => string;
  /** A float32 scalar initializer. */
  readonly float: (value: number) => string;
  /** `v`'s float tensor with the full batch (a constant expanded). */
  readonly fullBatch: (v: QdqValue, shape: readonly number[]) => string;
}

/**
 * One instruction kind's export rule: `emit` writes the main operation and returns the value of its
 * main result (its grid: the int32 accumulator's scale for arithmetic, the input's for data movement);
 * the exporter then writes the epilogue's stages and brings the value to the output buffer. `ort` says
 * how onnxruntime runs it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { QdqRule } from "./export_qdq_rule.ts";
 * import type { MatmulInstr } from "@hqat/program";
 * const r: QdqRule<MatmulInstr> = {
 *   emit: (_i, ctx) => ({ float: ctx.op("MatMul", [ctx.ins[0].float, ctx.ins[1].float]) }),
 *   ort: () => ({ integer: true, exact: false, reason: "QLinearMatMul" }),
 * };
 * assert(r.ort({} as never, { ins: [], out: {} as never }).integer);
 * ```
 */
export interface QdqRule<I extends Instr> {
  /** Writes the main operation; returns its result. */
  readonly emit: (instr: I, ctx: QdqContext) => QdqValue;
  /** How onnxruntime runs the instruction. */
  readonly ort: (
    instr: I,
    ctx: { readonly ins: readonly ProgramBuffer[]; readonly out: ProgramBuffer },
  ) => OrtNote;
}

/**
 * Why a requantized result is close to the program's, not equal: the sentence the notes share.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { REQUANT_REASON } from "./export_qdq_rule.ts";
 * assert(REQUANT_REASON.includes("half up"));
 * ```
 */
export const REQUANT_REASON =
  "BAYES requantizes with an integer multiplier M·2^-n rounding half up; onnxruntime quantizes the float result " +
  "(or scales by the float ratio) rounding half to even, so an output may differ by one step";

/**
 * Whether both inputs and the output are int8 (the integer kernels onnxruntime fuses take int8 only).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { allInt8 } from "./export_qdq_rule.ts";
 * const b = (dtype: "qint8" | "qint16") => ({ name: "x", shape: [1], dtype, scale: Float32Array.of(1) });
 * assert(allInt8([b("qint8")], b("qint8")) && !allInt8([b("qint16")], b("qint8")));
 * ```
 */
export function allInt8(ins: readonly ProgramBuffer[], out: ProgramBuffer): boolean {
  return ins.every((b) => b.dtype === "qint8") && out.dtype === "qint8";
}

/**
 * The note of an arithmetic kind that onnxruntime fuses into `kernel` when its inputs and output are
 * int8 and runs as a float op between DequantizeLinear and QuantizeLinear otherwise.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { arithmeticNote } from "./export_qdq_rule.ts";
 * const b = { name: "x", shape: [1], dtype: "qint16" as const, scale: Float32Array.of(1) };
 * assert(!arithmeticNote("QLinearAdd", "Add", [b], b).integer);
 * ```
 */
export function arithmeticNote(
  kernel: string,
  floatOp: string,
  ins: readonly ProgramBuffer[],
  out: ProgramBuffer,
): OrtNote {
  if (allInt8(ins, out)) return { integer: true, exact: false, reason: `${kernel}; ${REQUANT_REASON}` };
  const what = out.dtype === "qint32"
    ? "a 32-bit output has no QuantizeLinear"
    : "onnxruntime's integer kernel takes int8 only";
  return {
    integer: false,
    exact: false,
    reason: `float ${floatOp} between DequantizeLinear and QuantizeLinear (${what}); ${REQUANT_REASON}`,
  };
}

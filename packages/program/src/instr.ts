/**
 * Instructions and the shape of an instruction kind's table entry. Every kind is one entry of
 * `INSTR_TABLE` (one file under `ops/`): its container fields, its rule (what its main operation
 * computes, checked), its reference and fast CPU kernels, its WebGPU kernel, its BAYES layer (the
 * operator-table limits it is checked against), its cost rule for the performance model, its drawing
 * label, and what the lowering may fuse about it.
 * @module
 */

import type { LayerAttrs } from "@hqat/march-bayes";
import type { AddInstr } from "./ops/add.ts";
import type { AvgPool2dInstr } from "./ops/avg_pool2d.ts";
import type { CatInstr } from "./ops/cat.ts";
import type { ConstantInstr } from "./ops/constant.ts";
import type { Conv2dInstr } from "./ops/conv2d.ts";
import type { ConvTranspose2dInstr } from "./ops/conv_transpose2d.ts";
import type { DequantizeInstr } from "./ops/dequantize.ts";
import type { LinearInstr } from "./ops/linear.ts";
import type { LutInstr } from "./ops/lut.ts";
import type { MatmulInstr } from "./ops/matmul.ts";
import type { MaxPool2dInstr } from "./ops/max_pool2d.ts";
import type { MoveInstr } from "./ops/move.ts";
import type { MulInstr } from "./ops/mul.ts";
import type { PadInstr } from "./ops/pad.ts";
import type { QuantizeInstr } from "./ops/quantize.ts";
import type { ReduceMeanInstr } from "./ops/reduce_mean.ts";
import type { ResizeInstr } from "./ops/resize.ts";
import type { SliceInstr } from "./ops/slice.ts";
import type { SoftmaxInstr } from "./ops/softmax.ts";
import type { SubInstr } from "./ops/sub.ts";
import type { TransposeInstr } from "./ops/transpose.ts";
import type { FieldReader, FieldWriter } from "./fields.ts";
import type { GpuMain, GpuPrepareContext } from "./gpu_types.ts";
import type { ProgramBuffer } from "./program.ts";
import type { Stage } from "./stage.ts";
import type { IntValue, ValueInfo } from "./value.ts";

/**
 * Fields every instruction has: its name (the model node it computes; fused nodes are in `merged`),
 * the buffers it reads and writes, and its epilogue.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { InstrBase } from "@hqat/program";
 * const b: InstrBase = { name: "flatten", inputs: [4], output: 5, epilogue: [] };
 * assert(b.inputs[0] === 4);
 * ```
 */
export interface InstrBase {
  /** The name of the node the instruction computes. */
  readonly name: string;
  /** The indices of the buffers it reads. */
  readonly inputs: readonly number[];
  /** The index of the buffer it writes. */
  readonly output: number;
  /** The stages applied to the main result before it is written. */
  readonly epilogue: readonly Stage[];
  /** The nodes the lowering folded into this instruction, in order. */
  readonly merged?: readonly string[];
}

/**
 * One instruction: a kind of the instruction table with its fields (see each kind's file under
 * `ops/` and `docs/hbm_format.md`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Instr } from "@hqat/program";
 * const i: Instr = { op: "move", name: "flatten", inputs: [4], output: 5, epilogue: [] };
 * assert(i.op === "move");
 * ```
 */
export type Instr =
  | QuantizeInstr
  | Conv2dInstr
  | LinearInstr
  | AddInstr
  | AvgPool2dInstr
  | MaxPool2dInstr
  | CatInstr
  | MoveInstr
  | DequantizeInstr
  | MulInstr
  | SubInstr
  | ConstantInstr
  | LutInstr
  | TransposeInstr
  | SliceInstr
  | PadInstr
  | ResizeInstr
  | ReduceMeanInstr
  | MatmulInstr
  | ConvTranspose2dInstr
  | SoftmaxInstr;

/** An instruction kind. */
export type InstrOp = Instr["op"];

/** The instruction of kind `K`. */
export type InstrOf<K extends InstrOp> = Extract<Instr, { op: K }>;

/**
 * What checking an instruction's main operation needs: where it is, how to fail, the float input shape
 * at the program's batch, and the buffer it writes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { InferContext } from "@hqat/program";
 * const c = { where: "instruction 0", inputShape: [1, 3] } as unknown as InferContext;
 * assert(c.inputShape[1] === 3);
 * ```
 */
export interface InferContext {
  /** Names the instruction in messages. */
  readonly where: string;
  /** Raises the verifier's error. */
  readonly fail: (message: string) => never;
  /** The float input shape at the program's batch. */
  readonly inputShape: readonly number[];
  /** The buffer the instruction writes. */
  readonly out: ProgramBuffer;
}

/**
 * What a CPU kernel of a main operation needs besides its inputs: the float input of the run and the
 * value its output buffer holds (dtype, scale, shape at the run's batch).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { CpuContext } from "@hqat/program";
 * const c = { inputShape: [1, 3, 8, 8] } as unknown as CpuContext;
 * assert(c.inputShape[1] === 3);
 * ```
 */
export interface CpuContext {
  /** The float input of the run. */
  readonly input: Float32Array;
  /** Its shape. */
  readonly inputShape: readonly number[];
  /** The output buffer's value at the run's batch. */
  readonly out: ValueInfo;
}

/**
 * The work of one instruction for the performance model: a GEMM per frame and group on the MAC array
 * (`m` output pixels, `n` output channels per group, `k` reduction elements), or `elements` per frame
 * through the vector unit, each taking `work` operations.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Work } from "@hqat/program";
 * const w: Work = { gemm: { m: 256, n: 32, k: 27, groups: 1 } };
 * assert(w.gemm!.m * w.gemm!.n * w.gemm!.k === 221184);
 * ```
 */
export interface Work {
  /** A GEMM per frame and group. */
  readonly gemm?: { readonly m: number; readonly n: number; readonly k: number; readonly groups: number };
  /** Vector-unit elements per frame, each `work` operations. */
  readonly vector?: { readonly elements: number; readonly work: number };
}

/**
 * The buffers an instruction reads (its main inputs) and writes, for its layer, cost and fold rules.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { BufferContext } from "@hqat/program";
 * const c: BufferContext = { ins: [], out: { name: "d", shape: [1, 2], dtype: "float32", scale: Float32Array.of(1) } };
 * assert(c.out.dtype === "float32");
 * ```
 */
export interface BufferContext {
  /** The buffers of the main inputs. */
  readonly ins: readonly ProgramBuffer[];
  /** The output buffer. */
  readonly out: ProgramBuffer;
}

/**
 * One instruction kind's table entry (see the module description). `arity` is the smallest and the
 * largest number of inputs; `boundary` kinds (the model input and output transfers) are not BPU steps;
 * `fold` gives the stages that compute the instruction on the value of input `operand`, for the
 * lowering to append them to that value's producer; `accepts` says whether this kind's instruction may
 * take such stages (by default: any but `add` stages); `readsFlat` kinds read their input as
 * `[N, features]`, so a flatten before them is a view; `reshapes` kinds only reshape their input.
 */
export interface InstrDef<I extends Instr> {
  /** The opcode in the container. */
  readonly code: number;
  /** The fewest and the most inputs. */
  readonly arity: readonly [number, number];
  /** The model input and output transfers: not BPU steps. */
  readonly boundary?: boolean;
  /** Writes the kind's fields. */
  readonly encode: (instr: I, w: FieldWriter) => void;
  /** Reads the kind's fields. */
  readonly decode: (r: FieldReader, base: InstrBase & { readonly op: I["op"] }, where: string) => I;
  /** What the main operation computes from its inputs (checked). */
  readonly infer: (instr: I, ins: readonly ValueInfo[], ctx: InferContext) => ValueInfo;
  /** The fast CPU kernel. */
  readonly cpu: (instr: I, ins: readonly IntValue[], ctx: CpuContext) => IntValue;
  /** The reference CPU kernel (`@hqat/qtensor`), when the fast one is another implementation. */
  readonly reference?: (instr: I, ins: readonly IntValue[], ctx: CpuContext) => IntValue;
  /** Prepares the WebGPU kernel. */
  readonly gpu: (instr: I, ctx: GpuPrepareContext) => GpuMain;
  /** The BAYES operator-table entry and attributes it is checked as. */
  readonly layer: (instr: I, ctx: BufferContext) => { readonly op: string; readonly attrs: LayerAttrs };
  /** The work the performance model costs. */
  readonly cost: (instr: I, ctx: BufferContext) => Work;
  /** The drawing label (op and geometry). */
  readonly label: (instr: I, ctx: BufferContext) => string;
  /** The stages that compute the instruction on the value of input `operand`, if any. */
  readonly fold?: (instr: I, operand: number, ctx: BufferContext) => readonly Stage[] | undefined;
  /** Whether the instruction may take `stages` into its epilogue. */
  readonly accepts?: (instr: I, stages: readonly Stage[]) => boolean;
  /** Reads its input as `[N, features]`. */
  readonly readsFlat?: boolean;
  /** The main operation is the input reshaped to the output buffer: without stages it may be a view. */
  readonly reshapes?: boolean;
}

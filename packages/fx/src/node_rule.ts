/**
 * The shape of a node kind's entry in `NODE_RULES`: whether its output takes its own scale or keeps its
 * input's grid, its float function, its VALIDATION twin and its conversion, with what each of them reads.
 * @module
 */
import type { Instr, ProgramBuffer, Requant, Stage } from "@hqat/program";
import type { IntOutput } from "@hqat/qtensor";
import type { Tensor } from "@hqat/tensor";
import type { GraphNode, NodeOp } from "./graph.ts";

/** The node kinds of this table. */
export type RuleOp =
  | "activation"
  | "mul"
  | "pad"
  | "resize"
  | "transpose"
  | "slice"
  | "mean"
  | "cat"
  | "conv_transpose2d"
  | "softmax"
  | "matmul"
  | "scale"
  | "sub";

/** The node kind `K`'s fields. */
export type RuleKind<K extends RuleOp> = Extract<NodeOp, { op: K }>;

/** An integer grid: the dtype and scale of a quantized value. */
export interface Grid {
  /** The integer type. */
  readonly dtype: "qint8" | "qint16";
  /** The scale. */
  readonly scale: number;
}

/** What a float function reads besides its inputs: the model state, and the weight quantization hook. */
export interface ParamAccess {
  /** A state entry by its full name (`<module>.weight` …). */
  get(name: string): Tensor;
  /** The weight as the layer computes with it (fake-quantized in calibration, QAT and VALIDATION). */
  weight(w: Tensor): Tensor;
}

/** What a VALIDATION twin reads: the grids of the node's inputs and of its output (undefined: float). */
export interface TwinContext {
  /** The grid of input `i`. */
  input(i: number): Grid | undefined;
  /** The grid of the node's own output quantizer. */
  output(): Grid | undefined;
  /** A state entry by its full name. */
  param(name: string): Tensor;
  /** The weight quantizer's per-channel scales (undefined: not quantized). */
  weightScale(): Float32Array | undefined;
}

/** An instruction before its name, output buffer and epilogue are known. */
export type InstrDraft = Instr extends infer I
  ? I extends Instr ? Omit<I, "name" | "output" | "epilogue"> : never
  : never;

/** What a conversion rule uses of `convertFx`. */
export interface EmitContext {
  /** The buffer index of input `i`, which must be quantized. */
  input(i: number): number;
  /** A buffer of the program so far. */
  buffer(b: number): ProgramBuffer;
  /** The node's output grid (an error when it has none). */
  output(): Grid;
  /** Appends the node's instruction, writing a new buffer of the node's shape. */
  emit(
    draft: InstrDraft,
    out: { dtype: ProgramBuffer["dtype"]; scale: Float32Array },
    epilogue?: Stage[],
  ): void;
  /** SPEC's requantization of an accumulator of real scale `numerator / divisor` to `out`. */
  requant(numerator: ArrayLike<number>, divisor: number, out: IntOutput): Requant;
  /** Raises the conversion error, naming the node. */
  fail(message: string): never;
  /** A state entry by its full name. */
  param(name: string): Tensor;
  /** The weight quantizer's observed per-channel scales. */
  weightScale(): Float32Array;
  /** Appends a `constant` instruction writing a new buffer `name` (one frame's integers, repeated). */
  constant(name: string, shape: readonly number[], g: Grid, data: Int8Array | Int16Array): number;
}

/** The rule of one node kind. */
export interface NodeRule<K extends RuleOp> {
  /** "own": the output has its own quantizer; "keep": it stays on its (first) input's grid. */
  scale(k: RuleKind<K>): "own" | "keep";
  /**
   * A layer with weights: its module (state `<module>.weight`), its output channels, and the weight's
   * view with one output channel per row of axis 0 (which per-channel observers and fake quantization
   * see) and back.
   */
  weight?: {
    module(k: RuleKind<K>): string;
    channels(k: RuleKind<K>, n: GraphNode): number;
    toChannels(k: RuleKind<K>, w: Tensor): Tensor;
    fromChannels(k: RuleKind<K>, v: Tensor, shape: readonly number[]): Tensor;
  };
  /** The float function. */
  float(k: RuleKind<K>, ins: readonly Tensor[], p: ParamAccess): Tensor;
  /** The fixed-point model's values from fake-quantized inputs (undefined: the float function is exact). */
  twin?(k: RuleKind<K>, ins: readonly Tensor[], c: TwinContext): Tensor | undefined;
  /** Emits the node's instruction. */
  convert(k: RuleKind<K>, n: GraphNode, c: EmitContext): void;
}

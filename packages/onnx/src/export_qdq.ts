/**
 * The QDQ ONNX export of an integer program: a standard QuantizeLinear/DequantizeLinear model that
 * onnxruntime runs with its integer kernels where the format allows. Each instruction's main operation
 * is written by its kind's rule (`QDQ_RULES`); its epilogue follows — a requantization is a
 * QuantizeLinear to the output's dtype and scale, ReLU/ReLU6 a Clip on the int8 integers, a folded
 * residual add a float Add — and every int8/int16 buffer ends as a QuantizeLinear/DequantizeLinear pair,
 * so the next weighted layer reads a DequantizeLinear and onnxruntime's QDQ fusion applies. Weights are
 * int8 with per-channel scales (axis 0 for convolution and linear layers), biases int32 of scale
 * `sx · sw[c]`. The report says, per instruction, how onnxruntime runs it and why.
 * @module
 */
import {
  type Instr,
  type InstrOp,
  type Program,
  type ProgramBuffer,
  type Stage,
  verifyProgram,
} from "@hqat/program";
import { relu6Bound } from "@hqat/qtensor";
import type { OrtNote, QdqContext, QdqGrid, QdqRule, QdqValue } from "./export_qdq_rule.ts";
import { QDQ_RULES } from "./export_qdq_table.ts";
import { OnnxGraphBuilder } from "./qdq_graph.ts";

/**
 * One instruction in the export report: its ONNX nodes and op types, and how onnxruntime runs it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { QdqInstrReport } from "@hqat/onnx";
 * const r: QdqInstrReport = { instruction: "c1", op: "conv2d", nodes: ["c1/Conv"], onnxOps: ["Conv"], integer: true, exact: false, reason: "QLinearConv" };
 * assert(r.integer);
 * ```
 */
export interface QdqInstrReport extends OrtNote {
  /** The instruction's name. */
  readonly instruction: string;
  /** Its kind. */
  readonly op: InstrOp;
  /** The names of the ONNX nodes written for it. */
  readonly nodes: readonly string[];
  /** Their op types. */
  readonly onnxOps: readonly string[];
}

/**
 * An exported model: the ONNX bytes, its opset, the graph input and output names, and the report.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { QdqExport } from "@hqat/onnx";
 * const e: QdqExport = { bytes: new Uint8Array(0), opset: 21, input: "input", output: "output", report: [] };
 * assert(e.opset >= 13);
 * ```
 */
export interface QdqExport {
  /** The ONNX file's bytes. */
  readonly bytes: Uint8Array;
  /** The default-domain opset. */
  readonly opset: number;
  /** The graph input's name (float32, `[N, ...]`). */
  readonly input: string;
  /** The graph output's name (float32, the program's dequantized output). */
  readonly output: string;
  /** One entry per instruction, in program order. */
  readonly report: readonly QdqInstrReport[];
  /**
   * How int8 activations are stored (default uint8). With int8, the report's `integer` is how onnxruntime
   * runs the model on ARM: its x86 build fuses few groups with int8 activations.
   */
  readonly activations?: "uint8" | "int8";
}

/**
 * Options of {@linkcode exportQdq}: the opset (default 21), and how int8 activations are stored —
 * `uint8` with zero point 128 (default; the same values as hqat's symmetric int8, and the form
 * onnxruntime's x86 integer kernels take: it fuses int8 activations only on ARM) or `int8` with zero
 * point 0.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { QdqExportOptions } from "@hqat/onnx";
 * const o: QdqExportOptions = { activations: "int8" };
 * assert(o.opset === undefined);
 * ```
 */
export interface QdqExportOptions {
  /** The default-domain opset (18 or later; 21 for int16 values). */
  readonly opset?: number;
  /** How int8 activations are stored. */
  readonly activations?: "uint8" | "int8";
}

const sameScale = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

const isActivation = (d: string): d is "qint8" | "qint16" => d === "qint8" || d === "qint16";

/** The writer of one program's graph: the values of the buffers and the shared helpers. */
class QdqWriter {
  readonly g = new OnnxGraphBuilder();
  readonly input = this.g.reserve("input");
  readonly output = this.g.reserve("output");
  readonly values: (QdqValue | undefined)[];
  private batch?: string;

  constructor(readonly program: Program, readonly activations: "uint8" | "int8") {
    this.values = new Array(program.buffers.length);
  }

  scale(s: ArrayLike<number>): string {
    return this.g.initializer("scale", "float32", s.length === 1 ? [] : [s.length], s);
  }

  stored(dtype: "qint8" | "qint16"): { elem: "uint8" | "int8" | "int16"; zeroPoint: number } {
    if (dtype === "qint16") return { elem: "int16", zeroPoint: 0 };
    return this.activations === "uint8" ? { elem: "uint8", zeroPoint: 128 } : { elem: "int8", zeroPoint: 0 };
  }

  ints(base: string, dtype: "qint8" | "qint16", dims: readonly number[], data: ArrayLike<number>): string {
    const { elem, zeroPoint } = this.stored(dtype);
    const values = zeroPoint === 0 ? data : Array.from(data, (v) => v + zeroPoint);
    return this.g.initializer(base, elem, dims, values);
  }

  zeroPoint(grid: QdqGrid): string {
    const n = grid.scale.length;
    return this.ints(
      "zero_point",
      grid.dtype as "qint8" | "qint16",
      n === 1 ? [] : [n],
      new Array(n).fill(0),
    );
  }

  context(instr: Instr): QdqContext {
    const g = this.g, name = (what: string) => `${instr.name}/${what}`;
    const op: QdqContext["op"] = (type, inputs, attrs) =>
      g.node(type, inputs, { name: name(type), attrs })[0];
    const shapeOp: QdqContext["shapeOp"] = (type, inputs, attrs) =>
      g.node(type, inputs, { name: `${instr.name}:shape/${type}`, attrs })[0];
    const quantize = (float: string, grid: QdqGrid): QdqValue => {
      if (!isActivation(grid.dtype)) throw new RangeError(`${instr.name}: cannot quantize to ${grid.dtype}`);
      const attrs = grid.scale.length > 1 ? { axis: 1 } : undefined;
      const s = this.scale(grid.scale), zp = this.zeroPoint(grid);
      const quant = op("QuantizeLinear", [float, s, zp], attrs);
      return { float: op("DequantizeLinear", [quant, s, zp], attrs), quant, grid };
    };
    return {
      g,
      ins: instr.inputs.map((b) => this.value(b, instr.name)),
      buffers: instr.inputs.map((b) => this.program.buffers[b]),
      out: this.program.buffers[instr.output],
      input: this.input,
      nodeName: name,
      op,
      shapeOp,
      quantize,
      stored: (d) => this.stored(d),
      ints: (base, d, dims, data) => this.ints(base, d, dims, data),
      scale: (s) => this.scale(s),
      int64s: (v) => g.initializer("shape", "int64", [v.length], v),
      float: (v) => g.initializer("value", "float32", [], [v]),
      fullBatch: (v, shape) => {
        if (!v.batchOne) return v.float;
        this.batch ??=
          g.node("Shape", [this.input], { name: "batch:shape/Shape", attrs: { start: 0, end: 1 } })[0];
        const dims = g.initializer("shape", "int64", [shape.length - 1], shape.slice(1));
        const full = shapeOp("Concat", [this.batch, dims], { axis: 0 });
        return op("Expand", [v.float, full]);
      },
    };
  }

  value(b: number, reader: string): QdqValue {
    const v = this.values[b];
    if (!v) throw new RangeError(`${reader} reads buffer ${b} before any instruction writes it`);
    return v;
  }

  /** QuantizeLinear of `float` to `grid` (int8/int16, one scale): the integers, without a DequantizeLinear. */
  quantOnly(ctx: QdqContext, float: string, grid: QdqGrid): string {
    return ctx.op("QuantizeLinear", [float, this.scale(grid.scale), this.zeroPoint(grid)]);
  }

  /** ReLU or ReLU6 on `v`: a Clip on the integers of an int8/int16 value, else a float op. */
  clamp(v: QdqValue, kind: "relu" | "relu6", ctx: QdqContext, notes: string[]): QdqValue {
    const grid = v.grid;
    if (grid?.dtype === "qint8" && grid.scale.length === 1) {
      const q = v.quant ?? this.quantOnly(ctx, v.float, grid);
      const hi = kind === "relu" ? 127 : relu6Bound(grid.scale[0], 127);
      const lo = this.ints("clip_min", grid.dtype, [], [0]),
        top = this.ints("clip_max", grid.dtype, [], [hi]);
      const quant = ctx.op("Clip", [q, lo, top]);
      notes.push(`${kind} as a Clip on the integers (exact)`);
      const float = ctx.op("DequantizeLinear", [quant, this.scale(grid.scale), this.zeroPoint(grid)]);
      return { float, quant, grid, batchOne: v.batchOne };
    }
    // onnxruntime's Clip has no int16 kernel: 16-bit and 32-bit values clamp as floats (quantized again
    // for 16-bit: exact).
    notes.push(
      `${kind} as a float ${kind === "relu" ? "Relu" : "Clip"} on a ${
        grid?.dtype === "qint16" ? "16" : "32"
      }-bit value`,
    );
    const float = kind === "relu"
      ? ctx.op("Relu", [v.float])
      : ctx.op("Clip", [v.float, ctx.float(0), ctx.float(6)]);
    return { float, grid, batchOne: v.batchOne };
  }

  stage(s: Stage, v: QdqValue, ctx: QdqContext, notes: string[]): QdqValue {
    switch (s.kind) {
      case "requant": {
        const grid = { dtype: s.dtype, scale: s.scale };
        if (s.dtype === "qint32") {
          const q = { ...v, quant: undefined, grid };
          return s.act === "none" ? q : this.clamp(q, s.act, ctx, notes);
        }
        if (s.act !== "none" && s.dtype === "qint8" && s.scale.length === 1) {
          return this.clamp({ ...v, grid, quant: this.quantOnly(ctx, v.float, grid) }, s.act, ctx, notes);
        }
        const q = { ...ctx.quantize(v.float, grid), batchOne: v.batchOne };
        return s.act === "none" ? q : this.clamp(q, s.act, ctx, notes);
      }
      case "relu":
      case "relu6":
        return this.clamp(v, s.kind, ctx, notes);
      case "add": {
        const addend = this.value(s.addend, ctx.nodeName("add"));
        const int8 = (x: QdqValue) => x.quant !== undefined && x.grid?.dtype === "qint8";
        notes.push(
          int8(v) && int8(addend) && this.activations === "uint8"
            ? "the folded residual add as an Add of the two dequantized values (QLinearAdd)"
            : "the folded residual add written as a float Add before the requantization",
        );
        return { float: ctx.op("Add", [v.float, addend.float]), batchOne: v.batchOne && addend.batchOne };
      }
      default: {
        const never: never = s;
        throw new RangeError(`Unknown stage ${(never as Stage).kind}`);
      }
    }
  }

  /** `v` as buffer `b` holds it: quantized again unless it already lies on the buffer's grid as integers. */
  settle(v: QdqValue, b: ProgramBuffer, ctx: QdqContext): QdqValue {
    if (!isActivation(b.dtype)) {
      return {
        float: v.float,
        grid: b.dtype === "qint32" ? { dtype: b.dtype, scale: b.scale } : undefined,
        batchOne: v.batchOne,
      };
    }
    if (v.quant && v.grid && v.grid.dtype === b.dtype && sameScale(v.grid.scale, b.scale)) return v;
    return { ...ctx.quantize(v.float, { dtype: b.dtype, scale: b.scale }), batchOne: v.batchOne };
  }

  instruction(instr: Instr): QdqInstrReport {
    const start = this.g.nodeCount, ctx = this.context(instr), notes: string[] = [];
    const rule = QDQ_RULES[instr.op] as QdqRule<Instr>;
    let v = rule.emit(instr, ctx);
    for (const s of instr.epilogue) v = this.stage(s, v, ctx, notes);
    this.values[instr.output] = this.settle(v, ctx.out, ctx);
    const note = rule.ort(instr, { ins: ctx.buffers, out: ctx.out });
    const exact = note.exact && !instr.epilogue.some((s) => s.kind === "add");
    // A stage written as a float op (on a 32-bit value, or a residual add) leaves the instruction float.
    const floatStage = notes.some((n) => n.includes(" as a float "));
    return {
      instruction: instr.name,
      op: instr.op,
      nodes: this.g.nodeNamesFrom(start),
      onnxOps: this.g.opTypesFrom(start),
      integer: note.integer && !floatStage,
      exact,
      reason: [note.reason, ...notes].join("; "),
    };
  }
}

/**
 * The QDQ ONNX model of `program` (see the module description): graph input `input` (float32
 * `[N, ...]`, the batch dimension named "N"), graph output `output` (the program's dequantized output),
 * opset 21 by default (int16 QuantizeLinear needs it; at least 18 for Resize's axes and ReduceMean's
 * axes input).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { decodeOnnx, exportQdq } from "@hqat/onnx";
 * import type { Program } from "@hqat/program";
 * const p: Program = {
 *   name: "t", march: "bayes", opt: "O0", inputShape: [1, 2], output: 2,
 *   buffers: [
 *     { name: "quant", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5) },
 *     { name: "relu", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5) },
 *     { name: "dequant", shape: [1, 2], dtype: "float32", scale: Float32Array.of(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "quant", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "move", name: "relu", inputs: [0], output: 1, epilogue: [{ kind: "relu" }] },
 *     { op: "dequantize", name: "dequant", inputs: [1], output: 2, epilogue: [] },
 *   ],
 * };
 * const e = exportQdq(p);
 * const ops = decodeOnnx(e.bytes).graph.nodes.map((n) => n.opType);
 * assert(ops.join() === "QuantizeLinear,DequantizeLinear,Clip,DequantizeLinear,Identity");
 * assert(e.report[1].exact && e.report.length === 3);
 * ```
 */
export function exportQdq(program: Program, options: QdqExportOptions = {}): QdqExport {
  const opset = options.opset ?? 21;
  if (!Number.isInteger(opset) || opset < 18) {
    throw new RangeError(`The QDQ export writes opset 18 or later, not ${options.opset}`);
  }
  if (program.buffers.some((b) => b.dtype === "qint16") && opset < 21) {
    throw new RangeError(`${program.name} has int16 values: QuantizeLinear takes int16 from opset 21`);
  }
  verifyProgram(program, {
    fail: (m) => {
      throw new RangeError(`${program.name}: ${m}`);
    },
  });
  const w = new QdqWriter(program, options.activations ?? "uint8");
  const report = program.instructions.map((i) => w.instruction(i));
  const out = w.values[program.output];
  if (!out) {
    throw new RangeError(`${program.name}: no instruction writes the output buffer ${program.output}`);
  }
  w.g.node("Identity", [out.float], { name: "output/Identity", outputs: [w.output] });
  const outShape = program.buffers[program.output].shape;
  const bytes = w.g.encode({
    opset,
    graphName: program.name,
    input: { name: w.input, shape: ["N", ...program.inputShape.slice(1)] },
    output: { name: w.output, shape: ["N", ...outShape.slice(1)] },
    docString: `QDQ export of the hqat integer program "${program.name}" (${program.march}, ${program.opt})`,
  });
  return { bytes, opset, input: w.input, output: w.output, report, activations: w.activations };
}

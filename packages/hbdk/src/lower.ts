/**
 * Lowering: the integer graph becomes a list of instructions over buffers. O0 lowers node by node
 * (an accumulating node writes its int32 accumulator, and a `move` requantizes it); from O1 on the
 * requantization and activations are fused into the producing instruction, a residual add into the
 * convolution that feeds it, a 1×1-window pooling into its producer's epilogue, and identities and
 * flattens read by linear layers become views.
 * @module
 */

import type { IntModel, IntNode } from "@hqat/fx";
import { addAlignment, type FusedActivation, outputMultipliers } from "@hqat/qtensor";
import type { Activation, BufferDtype, Instr, Pair, Requant, Stage } from "./hbm_program.ts";
import { withBatch } from "./int_model_layers.ts";
import type { OptLevel } from "./schedule.ts";

/**
 * A buffer before placement: the value it holds.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { DraftBuffer } from "@hqat/hbdk";
 * const b: DraftBuffer = { name: "x", shape: [1, 4], dtype: "qint8", scale: Float32Array.of(1) };
 * assert(b.dtype === "qint8");
 * ```
 */
export interface DraftBuffer {
  /** The name of the value. */
  name: string;
  /** The shape at the compiled batch. */
  shape: readonly number[];
  /** The element dtype. */
  dtype: BufferDtype;
  /** The scale: one value, or one per channel along axis 1. */
  scale: Float32Array;
}

/**
 * The lowered program before layout, tiling and memory planning.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { LoweredProgram } from "@hqat/hbdk";
 * const p: LoweredProgram = { buffers: [], instructions: [], output: 0, inputShape: [1, 3, 8, 8] };
 * assert(p.instructions.length === 0);
 * ```
 */
export interface LoweredProgram {
  /** The buffers, not yet placed. */
  readonly buffers: readonly DraftBuffer[];
  /** The instructions, in execution order. */
  readonly instructions: readonly Instr[];
  /** The index of the buffer that receives the model's output. */
  readonly output: number;
  /** The float input shape at the compiled batch. */
  readonly inputShape: readonly number[];
}

/**
 * An error in compilation: the model cannot be compiled (the message names the node or the limit).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CompileError } from "@hqat/hbdk";
 * const e = new CompileError('Node "c" reads "x", which is not defined before it');
 * assert(e instanceof RangeError && e.name === "CompileError");
 * ```
 */
export class CompileError extends RangeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CompileError";
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type MInstr = Mutable<Instr> & { epilogue: Stage[] };

const act = (a: FusedActivation | undefined): Activation => a ?? "none";

function requantOf(
  numerator: ArrayLike<number>,
  divisor: number,
  out: { dtype: "qint8" | "qint16"; scale: number } | { dtype: "qint32" },
  a: Activation,
  where: string,
): Requant {
  if (out.dtype === "qint32") {
    const scale = new Float32Array(numerator.length);
    for (let c = 0; c < scale.length; c++) scale[c] = numerator[c] / divisor;
    return {
      M: new Int32Array(scale.length).fill(1),
      n: new Uint8Array(scale.length),
      dtype: "qint32",
      scale,
      act: a,
    };
  }
  let mult;
  try {
    mult = outputMultipliers({ numerator, divisor }, out.scale);
  } catch (e) {
    throw new CompileError(`${where}: ${(e as Error).message}`);
  }
  return {
    M: Int32Array.from(mult, (m) => m.M),
    n: Uint8Array.from(mult, (m) => m.n),
    dtype: out.dtype,
    scale: Float32Array.of(out.scale),
    act: a,
  };
}

/**
 * Lowers `model` at `batch` for optimization level `opt` (see the module description). Throws a
 * {@linkcode CompileError} for a graph it cannot lower (a node reading an unknown node, a model
 * without a final dequantize).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { lowerIntModel } from "@hqat/hbdk";
 * import type { IntModel } from "@hqat/fx";
 * const s = (v: number) => Float32Array.of(v);
 * const m: IntModel = { format: "hqat-int-model", version: 1, march: "bayes", nodes: [
 *   { name: "x", inputs: [], kind: { op: "input" }, shape: [1, 2, 1, 1], dtype: "float32", scale: s(1) },
 *   { name: "q", inputs: ["x"], kind: { op: "quantize", scale: 0.5, dtype: "qint8" }, shape: [1, 2, 1, 1], dtype: "qint8", scale: s(0.5) },
 *   { name: "c", inputs: ["q"], kind: { op: "conv2d", weight: Int8Array.of(1, 2, 3, 4), weightShape: [2, 2, 1, 1],
 *     weightScale: Float32Array.of(0.1, 0.1), stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1,
 *     output: { dtype: "qint8", scale: 0.25 } }, shape: [1, 2, 1, 1], dtype: "qint8", scale: s(0.25) },
 *   { name: "r", inputs: ["c"], kind: { op: "relu" }, shape: [1, 2, 1, 1], dtype: "qint8", scale: s(0.25) },
 *   { name: "d", inputs: ["r"], kind: { op: "dequantize" }, shape: [1, 2, 1, 1], dtype: "float32", scale: s(1) },
 * ] };
 * assert(lowerIntModel(m, { batch: 1, opt: "O0" }).instructions.length === 5);
 * const o1 = lowerIntModel(m, { batch: 1, opt: "O1" });
 * assert(o1.instructions.map((i) => i.op).join() === "quantize,conv2d,dequantize");
 * ```
 */
export function lowerIntModel(
  model: IntModel,
  options: { readonly batch: number; readonly opt: OptLevel },
): LoweredProgram {
  const { batch, opt } = options;
  const fuse = opt !== "O0";
  const users = new Map<string, IntNode[]>(model.nodes.map((n) => [n.name, []]));
  for (const n of model.nodes) {
    for (const i of n.inputs) {
      const u = users.get(i);
      if (!u) throw new CompileError(`Node "${n.name}" reads "${i}", which is not defined before it`);
      u.push(n);
    }
  }
  // Views from O1 on: an identity, or a flatten that only linear layers read.
  const root = new Map<string, string>();
  const rootOf = (name: string): string => root.get(name) ?? name;
  if (fuse) {
    for (const n of model.nodes) {
      const k = n.kind.op;
      const view = k === "identity" ||
        (k === "flatten" && users.get(n.name)!.length > 0 &&
          users.get(n.name)!.every((u) => u.kind.op === "linear"));
      if (view) root.set(n.name, rootOf(n.inputs[0]));
    }
  }
  const reads = new Map<string, number>();
  const isOutput = new Set<string>();
  for (const n of model.nodes) {
    if (root.has(n.name)) continue;
    for (const i of n.inputs) {
      const r = rootOf(i);
      reads.set(r, (reads.get(r) ?? 0) + 1);
      if (n.kind.op === "dequantize") isOutput.add(r);
    }
  }

  const buffers: DraftBuffer[] = [];
  const instructions: MInstr[] = [];
  const valueOf = new Map<string, number>();
  const producer = new Map<number, number>();
  const bufferFor = (name: string, shape: readonly number[], dtype: BufferDtype, scale: Float32Array) => {
    buffers.push({ name, shape: withBatch(shape, batch), dtype, scale });
    return buffers.length - 1;
  };
  // A buffer's scale is the one its value is computed with, as the kernels of runIntModel give it.
  const nodeBuffer = (n: IntNode, scale: Float32Array) => bufferFor(n.name, n.shape, n.dtype, scale);
  const emit = (instr: MInstr): number => {
    instructions.push(instr);
    producer.set(instr.output, instructions.length - 1);
    return instr.output;
  };
  const inputOf = (n: IntNode, i: number): number => {
    const id = valueOf.get(rootOf(n.inputs[i]));
    if (id === undefined) {
      throw new CompileError(`Node "${n.name}" reads "${n.inputs[i]}", which has no integer value`);
    }
    return id;
  };
  /** The instruction that alone produces what only `n` reads, if it may take more stages. */
  const fusable = (n: IntNode, i: number): MInstr | undefined => {
    if (!fuse) return undefined;
    const r = rootOf(n.inputs[i]);
    if (reads.get(r) !== 1 || isOutput.has(r)) return undefined;
    const p = producer.get(valueOf.get(r)!);
    return p === undefined || instructions[p].op === "dequantize" ? undefined : instructions[p];
  };
  /** Requantizes an accumulating instruction: fused at O1+, a `move` at O0. */
  const finish = (
    n: IntNode,
    base: Omit<MInstr, "output" | "epilogue">,
    rq: Requant | undefined,
    acc: Float32Array,
  ) => {
    if (rq === undefined) return emit({ ...base, output: nodeBuffer(n, acc), epilogue: [] } as MInstr);
    if (fuse) {
      return emit(
        { ...base, output: nodeBuffer(n, rq.scale), epilogue: [{ kind: "requant", ...rq }] } as MInstr,
      );
    }
    const accBuffer = bufferFor(`${n.name}:acc`, n.shape, "qint32", acc);
    emit({ ...base, output: accBuffer, epilogue: [] } as MInstr);
    return emit({
      op: "move",
      name: n.name,
      inputs: [accBuffer],
      output: nodeBuffer(n, rq.scale),
      epilogue: [{ kind: "requant", ...rq }],
    });
  };

  for (const n of model.nodes) {
    const k = n.kind;
    if (k.op === "input" || root.has(n.name)) continue;
    let out: number;
    switch (k.op) {
      case "quantize":
        out = emit({
          op: "quantize",
          name: n.name,
          inputs: [],
          output: nodeBuffer(n, Float32Array.of(k.scale)),
          epilogue: [],
          scale: k.scale,
        });
        break;
      case "conv2d":
      case "linear": {
        const x = inputOf(n, 0);
        const sx = buffers[x].scale[0];
        const numerator = Float64Array.from(k.weightScale, (sw) => sx * sw);
        const accScale = Float32Array.from(numerator);
        const rq = k.output.dtype === "qint32" && !k.act
          ? undefined
          : requantOf(numerator, 1, k.output, act(k.act), `Node "${n.name}"`);
        const base = k.op === "conv2d"
          ? {
            op: k.op,
            name: n.name,
            inputs: [x],
            weight: k.weight,
            weightShape: k.weightShape as [number, number, number, number],
            weightScale: k.weightScale,
            bias: k.bias,
            stride: k.stride,
            padding: k.padding,
            dilation: k.dilation,
            groups: k.groups,
            tileRows: n.shape[2],
          }
          : {
            op: k.op,
            name: n.name,
            inputs: [x],
            weight: k.weight,
            weightShape: k.weightShape as [number, number],
            weightScale: k.weightScale,
            bias: k.bias,
          };
        out = finish(n, base as Omit<MInstr, "output" | "epilogue">, rq, accScale);
        break;
      }
      case "add": {
        const a = inputOf(n, 0), b = inputOf(n, 1);
        const [sa, sb] = [buffers[a].scale[0], buffers[b].scale[0]];
        const shiftSecond = !(sa >= sb);
        const shifted = buffers[shiftSecond ? b : a];
        const { k: kk, t } = addAlignment(shifted.scale[0], Math.min(sa, sb), {
          dtype: shifted.dtype as "qint8" | "qint16",
        });
        const rq = requantOf([shifted.scale[0]], 2 ** kk, k.output, act(k.act), `Node "${n.name}"`);
        const fused = fuseAddIntoConv(n, kk, t, rq);
        if (fused !== undefined) {
          out = fused;
          break;
        }
        const base = { op: "add" as const, name: n.name, inputs: [a, b], shiftSecond, k: kk, t };
        out = finish(n, base, rq, Float32Array.of(shifted.scale[0] / 2 ** kk));
        break;
      }
      case "avg_pool2d":
      case "adaptive_avg_pool2d": {
        const x = inputOf(n, 0);
        const [, , h, w] = buffers[x].shape;
        const kernel: Pair = k.op === "avg_pool2d" ? k.kernel : [h, w];
        const stride: Pair = k.op === "avg_pool2d" ? k.stride : [h, w];
        const padding: Pair = k.op === "avg_pool2d" ? k.padding : [0, 0];
        const sx = buffers[x].scale[0];
        const windowOne = kernel[0] * kernel[1] === 1 && padding[0] + padding[1] === 0 && n.shape[2] === h &&
          n.shape[3] === w;
        const p = windowOne ? fusable(n, 0) : undefined;
        const rq = requantOf([sx], kernel[0] * kernel[1], k.output, "none", `Node "${n.name}"`);
        if (p && buffers[p.output].dtype !== "qint32" && buffers[p.output].dtype !== "float32") {
          p.epilogue.push({ kind: "requant", ...rq });
          Object.assign(buffers[p.output], { name: n.name, dtype: n.dtype, scale: rq.scale });
          out = p.output;
          break;
        }
        const base = { op: "avg_pool2d" as const, name: n.name, inputs: [x], kernel, stride, padding };
        out = finish(n, base, rq, Float32Array.of(sx / (kernel[0] * kernel[1])));
        break;
      }
      case "max_pool2d":
        out = emit({
          op: "max_pool2d",
          name: n.name,
          inputs: [inputOf(n, 0)],
          output: nodeBuffer(n, buffers[inputOf(n, 0)].scale),
          epilogue: [],
          kernel: k.kernel,
          stride: k.stride,
          padding: k.padding,
        });
        break;
      case "cat": {
        const ins = n.inputs.map((_, i) => inputOf(n, i));
        const requants = ins.map((b) => requantOf(buffers[b].scale, 1, k.output, "none", `Node "${n.name}"`));
        out = emit({
          op: "cat",
          name: n.name,
          inputs: ins,
          output: nodeBuffer(n, requants[0].scale),
          epilogue: [],
          axis: k.axis,
          requants,
        });
        break;
      }
      case "relu":
      case "relu6": {
        const p = fusable(n, 0);
        if (p) {
          const last = p.epilogue.at(-1);
          if (last?.kind === "requant" && last.act === "none") {
            p.epilogue[p.epilogue.length - 1] = { ...last, act: k.op };
          } else p.epilogue.push({ kind: k.op });
          buffers[p.output].name = n.name;
          out = p.output;
          break;
        }
        out = emit({
          op: "move",
          name: n.name,
          inputs: [inputOf(n, 0)],
          output: nodeBuffer(n, buffers[inputOf(n, 0)].scale),
          epilogue: [{ kind: k.op }],
        });
        break;
      }
      case "flatten":
      case "identity":
        out = emit({
          op: "move",
          name: n.name,
          inputs: [inputOf(n, 0)],
          output: nodeBuffer(n, buffers[inputOf(n, 0)].scale),
          epilogue: [],
        });
        break;
      case "dequantize":
        out = emit({
          op: "dequantize",
          name: n.name,
          inputs: [inputOf(n, 0)],
          output: nodeBuffer(n, Float32Array.of(1)),
          epilogue: [],
        });
        break;
    }
    valueOf.set(n.name, out);
  }
  const last = model.nodes.at(-1);
  if (last?.kind.op !== "dequantize") throw new CompileError("The model's last node must be a dequantize");
  return {
    buffers,
    instructions,
    output: valueOf.get(last.name)!,
    inputShape: withBatch(model.nodes[0].shape, batch),
  };

  /** From O1: a residual add folded into the convolution producing one of its operands. */
  function fuseAddIntoConv(n: IntNode, k: number, t: number, rq: Requant): number | undefined {
    for (const j of [0, 1]) {
      const conv = fusable(n, j);
      if (conv?.op !== "conv2d" || conv.epilogue.length !== 1) continue;
      const stage = conv.epilogue[0];
      const [sh, sw] = conv.stride;
      if (
        stage.kind !== "requant" || stage.act !== "none" || stage.dtype === "qint32" || sh !== sw ||
        (sh !== 1 && sh !== 2)
      ) {
        continue;
      }
      const addend = inputOf(n, 1 - j);
      const ready = producer.get(addend);
      if (ready === undefined || ready >= instructions.indexOf(conv)) continue;
      const a = inputOf(n, 0), b = inputOf(n, 1);
      const shiftSecond = !(buffers[a].scale[0] >= buffers[b].scale[0]);
      // The operand with the larger scale is shifted; here the addend is operand 1 - j.
      const shiftAddend = shiftSecond === (1 - j === 1);
      conv.epilogue.push({ kind: "add", addend, shiftAddend, k, t }, { kind: "requant", ...rq });
      Object.assign(buffers[conv.output], { name: n.name, dtype: n.dtype, scale: rq.scale });
      return conv.output;
    }
    return undefined;
  }
}

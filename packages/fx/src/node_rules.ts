/**
 * The node kinds of imported networks, one entry each: whether the node's output takes its own scale or
 * keeps its input's integer grid, its float function, its VALIDATION twin (the fixed-point model's
 * arithmetic on the fake-quantized inputs, so that VALIDATION equals the integer model bit for bit) and
 * its conversion to an instruction of the integer program. The graph interpreter, `prepareQatFx` and
 * `convertFx` read this table; a kind without an entry is a type error.
 * @module
 */
import { type ActivationName, type ActivationParams, applyActivation } from "@hqat/nn";
import type { Instr, ProgramBuffer, Requant, Stage } from "@hqat/program";
import {
  addAlignment,
  convTransposeScales,
  type IntOutput,
  lutTable,
  quantize,
  quantizeBias,
} from "@hqat/qtensor";
import {
  add,
  addFake,
  concat,
  convTranspose2d,
  convTransposeFake,
  fromArray,
  lutFake,
  matmul,
  matmulFake,
  mean,
  meanFake,
  mul,
  mulFake,
  padMode,
  requantFake,
  reshape,
  resize,
  resizeFake,
  slice,
  softmax,
  softmaxFake,
  sub,
  type Tensor,
  transpose,
} from "@hqat/tensor";
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

const grid = (g: Grid) => ({ dtype: g.dtype, scale: Float32Array.of(g.scale) });
const gridOf = (b: ProgramBuffer): Grid => ({ dtype: b.dtype as Grid["dtype"], scale: b.scale[0] });
const sameGrid = (c: EmitContext, x: number) => ({ dtype: c.buffer(x).dtype, scale: c.buffer(x).scale });

/** The table of activation `fn` from input grid `i` to output grid `o`. */
function activationTable(fn: ActivationName, params: ActivationParams, i: Grid, o: Grid) {
  const f = (v: Float32Array) => applyActivation(fn, fromArray(v, [v.length]), params).data as Float32Array;
  return lutTable(f, { inDtype: i.dtype, inScale: i.scale, outDtype: o.dtype, outScale: o.scale });
}

/** Whether `b` broadcasts to `a` (equal ranks, each dimension equal or 1). */
const broadcastsTo = (b: readonly number[], a: readonly number[]) =>
  a.length === b.length && b.every((d, k) => d === a[k] || d === 1);

/** The product's operands in the order the integer kernel takes them (the broadcast one second). */
function mulOrder(a: readonly number[], b: readonly number[]): [number, number] | undefined {
  if (broadcastsTo(b, a)) return [0, 1];
  if (broadcastsTo(a, b)) return [1, 0];
  return undefined;
}

const geometry = (k: RuleKind<"conv_transpose2d">) => ({
  stride: k.stride,
  padding: k.padding,
  outputPadding: k.outputPadding,
  dilation: k.dilation,
  groups: k.groups,
});

const fullBatch = (k: RuleKind<"slice">, x: Tensor) => ({
  starts: [0, ...k.starts.slice(1)],
  ends: [x.shape[0], ...k.ends.slice(1)],
  steps: [1, ...k.steps.slice(1)],
});

/**
 * The rules by node kind.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { NODE_RULES } from "@hqat/fx";
 * import { tensor } from "@hqat/tensor";
 * const y = NODE_RULES.activation.float({ op: "activation", fn: "hardswish", params: {} }, [tensor([3])]);
 * assert(y.item() === 3 && NODE_RULES.resize.scale({ op: "resize", attrs: { size: [2, 2], mode: "nearest", coordinateTransformation: "asymmetric", nearestMode: "floor", scales: null } }) === "keep");
 * ```
 */
export const NODE_RULES: { readonly [K in RuleOp]: NodeRule<K> } = {
  activation: {
    scale: () => "own",
    float: (k, [x]) => applyActivation(k.fn, x, k.params),
    twin: (k, [x], c) => {
      const i = c.input(0), o = c.output();
      if (!i || !o) return undefined;
      const table = activationTable(k.fn, k.params, i, o);
      return lutFake(x, fromArray(Int32Array.from(table), [table.length]), {
        scaleIn: i.scale,
        dtypeIn: i.dtype,
        outScale: o.scale,
      });
    },
    convert: (k, _n, c) => {
      const x = c.input(0), o = c.output();
      const table = activationTable(k.fn, k.params, gridOf(c.buffer(x)), o);
      c.emit({ op: "lut", inputs: [x], activation: k.fn, table }, grid(o));
    },
  },
  mul: {
    scale: () => "own",
    float: (_k, [a, b]) => mul(a, b),
    twin: (_k, ins, c) => {
      const order = mulOrder(ins[0].shape, ins[1].shape);
      const [ga, gb] = order ? [c.input(order[0]), c.input(order[1])] : [];
      const o = c.output();
      if (!order || !ga || !gb || !o) return undefined;
      return mulFake(ins[order[0]], ins[order[1]], {
        scaleA: ga.scale,
        scaleB: gb.scale,
        dtypeA: ga.dtype,
        dtypeB: gb.dtype,
        outScale: o.scale,
        dtype: o.dtype,
      });
    },
    convert: (_k, n, c) => {
      const [x, y] = [c.input(0), c.input(1)];
      const order = mulOrder(c.buffer(x).shape, c.buffer(y).shape) ??
        c.fail(
          `Node "${n.name}": operands [${c.buffer(x).shape}] and [${c.buffer(y).shape}] do not broadcast`,
        );
      const [a, b] = order[0] === 0 ? [x, y] : [y, x];
      const o = c.output();
      c.emit({ op: "mul", inputs: [a, b] }, grid(o), [{
        kind: "requant",
        ...c.requant([c.buffer(a).scale[0] * c.buffer(b).scale[0]], 1, o),
      }]);
    },
  },
  pad: {
    scale: () => "keep",
    float: (k, [x]) => padMode(x, k.pads, { mode: k.mode, value: k.value }),
    // A constant fill lands on the input's grid, as the integer model's does; copies of cells are exact.
    twin: (k, [x], c) => {
      const i = c.input(0);
      if (!i || k.mode !== "constant") return undefined;
      const value = quantize([k.value], [i.scale], { dtype: i.dtype })[0] * i.scale;
      return padMode(x, k.pads, { mode: "constant", value });
    },
    convert: (k, _n, c) => {
      const x = c.input(0), b = c.buffer(x);
      const value = quantize([k.value], b.scale, { dtype: b.dtype as Grid["dtype"] })[0];
      c.emit({ op: "pad", inputs: [x], pads: k.pads, mode: k.mode, value }, sameGrid(c, x));
    },
  },
  resize: {
    scale: (k) => (k.attrs.mode === "nearest" ? "keep" : "own"),
    float: (k, [x]) => resize(x, { ...k.attrs, scales: k.attrs.scales ?? undefined }),
    twin: (k, [x], c) => {
      const i = c.input(0), o = c.output();
      if (k.attrs.mode === "nearest" || !i || !o) return undefined;
      return resizeFake(x, {
        ...k.attrs,
        scaleIn: i.scale,
        dtypeIn: i.dtype,
        outScale: o.scale,
        dtype: o.dtype,
      });
    },
    convert: (k, n, c) => {
      const x = c.input(0), a = k.attrs;
      const draft = {
        op: "resize" as const,
        inputs: [x],
        size: [a.size[0], a.size[1]] as const,
        mode: a.mode,
        coordinateTransformation: a.coordinateTransformation,
        nearestMode: a.nearestMode,
        ...(a.scales ? { scales: [a.scales[0], a.scales[1]] as const } : {}),
      };
      if (n.shape.length !== 4) c.fail(`Node "${n.name}": resize needs an [N, C, H, W] value`);
      if (a.mode === "nearest") return c.emit(draft, sameGrid(c, x));
      const o = c.output();
      c.emit(draft, grid(o), [{ kind: "requant", ...c.requant([c.buffer(x).scale[0]], 65536, o) }]);
    },
  },
  transpose: {
    scale: () => "keep",
    float: (k, [x]) => transpose(x, k.perm),
    convert: (k, _n, c) => {
      const x = c.input(0);
      c.emit({ op: "transpose", inputs: [x], perm: k.perm }, sameGrid(c, x));
    },
  },
  slice: {
    scale: () => "keep",
    float: (k, [x]) => {
      const r = fullBatch(k, x);
      return slice(x, r.starts, r.ends, { steps: r.steps });
    },
    convert: (k, _n, c) => {
      const x = c.input(0);
      const r = fullBatch(k, { shape: c.buffer(x).shape } as Tensor);
      c.emit({ op: "slice", inputs: [x], ...r }, sameGrid(c, x));
    },
  },
  mean: {
    scale: () => "own",
    float: (k, [x]) => mean(x, { axes: k.axes, keepDims: k.keepDims }),
    twin: (k, [x], c) => {
      const i = c.input(0), o = c.output();
      if (!i || !o) return undefined;
      return meanFake(x, {
        axes: k.axes,
        keepDims: k.keepDims,
        scaleIn: i.scale,
        dtypeIn: i.dtype,
        outScale: o.scale,
        dtype: o.dtype,
      });
    },
    convert: (k, _n, c) => {
      const x = c.input(0), o = c.output(), b = c.buffer(x);
      const count = k.axes.reduce((p, a) => p * b.shape[a], 1);
      c.emit({ op: "reduce_mean", inputs: [x], axes: k.axes, keepDims: k.keepDims }, grid(o), [{
        kind: "requant",
        ...c.requant([b.scale[0]], count, o),
      }]);
    },
  },
  cat: {
    scale: () => "own",
    float: (k, ins) => concat([...ins], k.axis),
    // Each input requantized to the output's grid, as the integer cat does.
    twin: (k, ins, c) => {
      const o = c.output(), grids = ins.map((_, i) => c.input(i));
      if (!o || grids.some((g) => !g)) return undefined;
      const parts = ins.map((x, i) =>
        requantFake(x, {
          scaleIn: grids[i]!.scale,
          dtypeIn: grids[i]!.dtype,
          outScale: o.scale,
          dtype: o.dtype,
        })
      );
      return concat(parts, k.axis);
    },
    convert: (k, n, c) => {
      const ins = n.inputs.map((_, i) => c.input(i)), o = c.output();
      const requants = ins.map((b) => c.requant(c.buffer(b).scale, 1, o));
      const rank = n.shape.length, axis = k.axis < 0 ? k.axis + rank : k.axis;
      c.emit({ op: "cat", inputs: ins, axis, requants }, grid(o));
    },
  },
  conv_transpose2d: {
    scale: () => "own",
    // [Cin, Cout/g, kh, kw] = [g, Cin/g, Cout/g, kh, kw] → [g, Cout/g, Cin/g, kh, kw] = [Cout, Cin/g, kh, kw].
    weight: {
      module: (k) => k.module,
      channels: (_k, n) => n.shape[1],
      toChannels: (k, w) => {
        const [cin, cog, kh, kw] = w.shape, g = k.groups;
        const v = transpose(reshape(w, [g, cin / g, cog, kh, kw]), [0, 2, 1, 3, 4]);
        return reshape(v, [g * cog, cin / g, kh, kw]);
      },
      fromChannels: (k, v, [cin, cog, kh, kw]) => {
        const g = k.groups;
        return reshape(transpose(reshape(v, [g, cog, cin / g, kh, kw]), [0, 2, 1, 3, 4]), [cin, cog, kh, kw]);
      },
    },
    float: (k, [x], p) => {
      const y = convTranspose2d(x, p.weight(p.get(`${k.module}.weight`)), geometry(k));
      return k.bias ? add(y, reshape(p.get(`${k.module}.bias`), [1, -1, 1, 1])) : y;
    },
    twin: (k, [x], c) => {
      const i = c.input(0), o = c.output(), sw = c.weightScale();
      if (!i || !o || !sw) return undefined;
      const bias = k.bias ? c.param(`${k.module}.bias`) : undefined;
      return convTransposeFake(x, c.param(`${k.module}.weight`), bias, {
        sx: i.scale,
        dtypeIn: i.dtype,
        sw: Array.from(sw),
        output: { dtype: o.dtype, scale: o.scale },
        ...geometry(k),
      });
    },
    convert: (k, _n, c) => {
      const x = c.input(0), o = c.output(), sx = c.buffer(x).scale[0];
      const w = c.param(`${k.module}.weight`), sw = c.weightScale();
      const [cin, cog, kh, kw] = w.shape;
      const rows = convTransposeScales(sw, cin, k.groups);
      const weight = quantize(w.data, rows, {
        dtype: "qint8",
        axis: 0,
        shape: [cin * cog, kh * kw],
      }) as Int8Array;
      const bias = k.bias ? quantizeBias(c.param(`${k.module}.bias`).data, sx, sw) : undefined;
      c.emit(
        {
          op: "conv_transpose2d",
          inputs: [x],
          weight,
          weightShape: [cin, cog, kh, kw],
          weightScale: sw,
          ...(bias ? { bias } : {}),
          ...geometry(k),
        },
        grid(o),
        [{ kind: "requant", ...c.requant(Float64Array.from(sw, (s) => sx * s), 1, o) }],
      );
    },
  },
  softmax: {
    scale: () => "own",
    float: (k, [x]) => softmax(x, k.axis),
    twin: (k, [x], c) => {
      const i = c.input(0), o = c.output();
      if (!i || !o) return undefined;
      return softmaxFake(x, {
        axis: k.axis < 0 ? k.axis + x.rank : k.axis,
        scaleIn: i.scale,
        dtypeIn: i.dtype,
        outScale: o.scale,
        dtype: o.dtype,
      });
    },
    convert: (k, n, c) => {
      const x = c.input(0), o = c.output(), rank = n.shape.length;
      const axis = k.axis < 0 ? k.axis + rank : k.axis;
      c.emit({ op: "softmax", inputs: [x], axis }, grid(o), [{
        kind: "requant",
        ...c.requant([1], 65536, o),
      }]);
    },
  },
  matmul: {
    scale: () => "own",
    float: (_k, [a, b]) => matmul(a, b),
    twin: (_k, [a, b], c) => {
      const ga = c.input(0), gb = c.input(1), o = c.output();
      if (!ga || !gb || !o) return undefined;
      return matmulFake(a, b, {
        scaleA: ga.scale,
        scaleB: gb.scale,
        dtypeA: ga.dtype,
        dtypeB: gb.dtype,
        outScale: o.scale,
        dtype: o.dtype,
      });
    },
    convert: (_k, _n, c) => {
      const a = c.input(0), b = c.input(1), o = c.output();
      const numerator = [c.buffer(a).scale[0] * c.buffer(b).scale[0]];
      c.emit({ op: "matmul", inputs: [a, b] }, grid(o), [{ kind: "requant", ...c.requant(numerator, 1, o) }]);
    },
  },
  // x · c: the integer model multiplies by the constant ±1 on the grid |c| and requantizes.
  scale: {
    scale: () => "own",
    float: (k, [x]) => mul(x, k.factor),
    twin: (k, [x], c) => {
      const i = c.input(0), o = c.output();
      if (!i || !o) return undefined;
      const factor = fromArray(Float32Array.of(k.factor), x.shape.map(() => 1));
      return mulFake(x, factor, {
        scaleA: i.scale,
        scaleB: Math.abs(k.factor),
        dtypeA: i.dtype,
        dtypeB: "qint8",
        outScale: o.scale,
        dtype: o.dtype,
      });
    },
    convert: (k, n, c) => {
      const x = c.input(0), o = c.output(), b = c.buffer(x);
      if (!(Number.isFinite(k.factor) && k.factor !== 0)) c.fail(`Node "${n.name}": factor ${k.factor}`);
      const f = c.constant(
        `${n.name}.factor`,
        b.shape.map((d, i) => (i === 0 ? d : 1)),
        { dtype: "qint8", scale: Math.abs(k.factor) },
        Int8Array.of(Math.sign(k.factor)),
      );
      const numerator = [b.scale[0] * c.buffer(f).scale[0]];
      c.emit({ op: "mul", inputs: [x, f] }, grid(o), [{ kind: "requant", ...c.requant(numerator, 1, o) }]);
    },
  },
  sub: {
    scale: () => "own",
    float: (_k, [a, b]) => sub(a, b),
    twin: (_k, [a, b], c) => {
      const ga = c.input(0), gb = c.input(1), o = c.output();
      if (!ga || !gb || !o || ga.dtype !== gb.dtype || !broadcastsTo(b.shape, a.shape)) return undefined;
      return addFake(a, b, {
        scaleA: ga.scale,
        scaleB: gb.scale,
        dtypeIn: ga.dtype,
        outScale: o.scale,
        dtype: o.dtype,
        subtract: true,
      });
    },
    convert: (_k, n, c) => {
      const a = c.input(0), b = c.input(1), o = c.output();
      const [ba, bb] = [c.buffer(a), c.buffer(b)];
      if (!broadcastsTo(bb.shape, ba.shape)) {
        c.fail(`Node "${n.name}": operand [${bb.shape}] does not broadcast to [${ba.shape}]`);
      }
      const shiftSecond = !(ba.scale[0] >= bb.scale[0]);
      const shifted = shiftSecond ? bb : ba;
      const { k, t } = addAlignment(shifted.scale[0], Math.min(ba.scale[0], bb.scale[0]), {
        dtype: shifted.dtype as Grid["dtype"],
      });
      c.emit({ op: "sub", inputs: [a, b], shiftSecond, k, t }, grid(o), [{
        kind: "requant",
        ...c.requant([shifted.scale[0]], 2 ** k, o),
      }]);
    },
  },
};

/**
 * Whether a node kind has an entry in {@linkcode NODE_RULES}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isRuleKind } from "@hqat/fx";
 * assert(isRuleKind({ op: "mul" }) && !isRuleKind({ op: "relu" }));
 * ```
 */
export function isRuleKind(k: NodeOp): k is RuleKind<RuleOp> {
  return Object.hasOwn(NODE_RULES, k.op);
}

/**
 * The rule of a node kind of the table, typed for its fields.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ruleOf } from "@hqat/fx";
 * assert(ruleOf({ op: "mul" }).scale({ op: "mul" }) === "own");
 * ```
 */
export function ruleOf<K extends RuleOp>(k: RuleKind<K>): NodeRule<K> {
  return NODE_RULES[(k as { op: RuleOp }).op] as unknown as NodeRule<K>;
}

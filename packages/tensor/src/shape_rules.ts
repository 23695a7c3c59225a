/**
 * Shape and dtype rules of the primitive ops: one entry per op, which also validates the inputs.
 * @module
 */
import type { DType } from "./dtype.ts";
import type { OpAttrs, OpName } from "./ops.ts";
import { resizeShape } from "./resize_geometry.ts";
import { broadcastShapes, checkShape, normalizeAxis, type Shape, shapesEqual, sizeOf } from "./shape.ts";
import { sliceShape } from "./slice_geometry.ts";
import { INT_TWIN_SHAPE_RULES } from "./shape_rules_int.ts";
import { checkConv, poolShape } from "./window_shapes.ts";
import { chainShapeRule } from "./conv_affine_chain.ts";

export { windowOutputSize } from "./window_shapes.ts";
import type { TensorInfo } from "./tensor.ts";

/** The output shapes and dtypes of an op, or a thrown error that says why the inputs do not fit. */
export type ShapeRule<A> = (inputs: readonly TensorInfo[], attrs: A) => TensorInfo[];
type None = OpAttrs["neg"];

const fmt = (s: Shape) => `[${s.join(",")}]`;

function arity(op: string, inputs: readonly TensorInfo[], n: number): void {
  if (inputs.length !== n) throw new TypeError(`${op}() takes ${n} tensors, got ${inputs.length}`);
}

function floatOnly(op: string, t: TensorInfo): void {
  if (t.dtype !== "float32") throw new TypeError(`${op}() needs a float32 tensor, got ${t.dtype}`);
}

function sameDType(op: string, a: TensorInfo, b: TensorInfo): DType {
  if (a.dtype !== b.dtype) throw new TypeError(`${op}() needs equal dtypes, got ${a.dtype} and ${b.dtype}`);
  return a.dtype;
}

const unaryFloat = (op: string): ShapeRule<None> => (ins) => {
  arity(op, ins, 1);
  if (op !== "neg" && op !== "abs" && op !== "sign" && op !== "relu") floatOnly(op, ins[0]);
  return [{ shape: ins[0].shape, dtype: ins[0].dtype }];
};

const binary = (op: string): ShapeRule<None> => (ins) => {
  arity(op, ins, 2);
  const dtype = sameDType(op, ins[0], ins[1]);
  return [{ shape: broadcastShapes(ins[0].shape, ins[1].shape), dtype }];
};

const compare = (op: string): ShapeRule<None> => (ins) => {
  arity(op, ins, 2);
  sameDType(op, ins[0], ins[1]);
  return [{ shape: broadcastShapes(ins[0].shape, ins[1].shape), dtype: "uint8" }];
};

function reduceShape(shape: Shape, axes: readonly number[], keepDims: boolean): number[] {
  const ax = new Set(axes.map((a) => normalizeAxis(a, shape.length)));
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!ax.has(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

function matmulShape(a: Shape, b: Shape, attrs: OpAttrs["matmul"]): number[] {
  if (a.length < 2 || b.length < 2) {
    throw new RangeError(`matmul() needs tensors of rank >= 2, got ${fmt(a)} and ${fmt(b)}`);
  }
  const [m, ka] = attrs.transA ? [a[a.length - 1], a[a.length - 2]] : [a[a.length - 2], a[a.length - 1]];
  const [kb, n] = attrs.transB ? [b[b.length - 1], b[b.length - 2]] : [b[b.length - 2], b[b.length - 1]];
  if (ka !== kb) throw new RangeError(`matmul(): inner dimensions differ: ${fmt(a)} and ${fmt(b)}`);
  return [...broadcastShapes(a.slice(0, -2), b.slice(0, -2)), m, n];
}

const randomRule: ShapeRule<OpAttrs["randomUniform"]> = (ins, a) => {
  arity("random", ins, 0);
  checkShape(a.shape);
  return [{ shape: a.shape, dtype: "float32" }];
};

/** Shape rules, one per primitive op. */
export const SHAPE_RULES: { [K in OpName]: ShapeRule<OpAttrs[K]> } = {
  neg: unaryFloat("neg"),
  exp: unaryFloat("exp"),
  log: unaryFloat("log"),
  sqrt: unaryFloat("sqrt"),
  rsqrt: unaryFloat("rsqrt"),
  abs: unaryFloat("abs"),
  sign: unaryFloat("sign"),
  tanh: unaryFloat("tanh"),
  sigmoid: unaryFloat("sigmoid"),
  floor: unaryFloat("floor"),
  ceil: unaryFloat("ceil"),
  round: unaryFloat("round"),
  relu: unaryFloat("relu"),
  clamp: (ins, a) => {
    arity("clamp", ins, 1);
    if (!(a.min <= a.max)) throw new RangeError(`clamp(): min ${a.min} must not exceed max ${a.max}`);
    return [{ shape: ins[0].shape, dtype: ins[0].dtype }];
  },
  clampBackward: (ins) => {
    arity("clampBackward", ins, 2);
    if (!shapesEqual(ins[0].shape, ins[1].shape)) {
      throw new RangeError("clampBackward(): g and x shapes differ");
    }
    return [{ shape: ins[1].shape, dtype: "float32" }];
  },
  cast: (ins, a) => {
    arity("cast", ins, 1);
    return [{ shape: ins[0].shape, dtype: a.dtype }];
  },
  add: binary("add"),
  sub: binary("sub"),
  mul: binary("mul"),
  div: binary("div"),
  maximum: binary("maximum"),
  minimum: binary("minimum"),
  pow: binary("pow"),
  equal: compare("equal"),
  notEqual: compare("notEqual"),
  less: compare("less"),
  lessEqual: compare("lessEqual"),
  greater: compare("greater"),
  greaterEqual: compare("greaterEqual"),
  where: (ins) => {
    arity("where", ins, 3);
    if (ins[0].dtype !== "uint8") throw new TypeError(`where() needs a uint8 condition, got ${ins[0].dtype}`);
    const dtype = sameDType("where", ins[1], ins[2]);
    return [{ shape: broadcastShapes(ins[0].shape, broadcastShapes(ins[1].shape, ins[2].shape)), dtype }];
  },
  sum: (ins, a) => {
    arity("sum", ins, 1);
    return [{ shape: reduceShape(ins[0].shape, a.axes, a.keepDims), dtype: ins[0].dtype }];
  },
  max: (ins, a) => {
    arity("max", ins, 1);
    for (const ax of a.axes) {
      if (ins[0].shape[normalizeAxis(ax, ins[0].shape.length)] === 0) {
        throw new RangeError(`max() over an empty axis ${ax} of ${fmt(ins[0].shape)}`);
      }
    }
    return [{ shape: reduceShape(ins[0].shape, a.axes, a.keepDims), dtype: ins[0].dtype }];
  },
  argmax: (ins, a) => {
    arity("argmax", ins, 1);
    return [{ shape: reduceShape(ins[0].shape, [a.axis], a.keepDims), dtype: "int32" }];
  },
  topk: (ins, a) => {
    arity("topk", ins, 1);
    const ax = normalizeAxis(a.axis, ins[0].shape.length);
    if (!Number.isInteger(a.k) || a.k < 0 || a.k > ins[0].shape[ax]) {
      throw new RangeError(`topk(): k = ${a.k} is out of range for axis of size ${ins[0].shape[ax]}`);
    }
    const shape = ins[0].shape.map((d, i) => (i === ax ? a.k : d));
    return [{ shape, dtype: ins[0].dtype }, { shape, dtype: "int32" }];
  },
  reshape: (ins, a) => {
    arity("reshape", ins, 1);
    checkShape(a.shape);
    if (sizeOf(a.shape) !== sizeOf(ins[0].shape)) {
      throw new RangeError(`Cannot reshape ${fmt(ins[0].shape)} to ${fmt(a.shape)}: sizes differ`);
    }
    return [{ shape: a.shape, dtype: ins[0].dtype }];
  },
  transpose: (ins, a) => {
    arity("transpose", ins, 1);
    const r = ins[0].shape.length;
    const seen = new Set(a.perm);
    if (a.perm.length !== r || seen.size !== r || a.perm.some((p) => !(p >= 0 && p < r))) {
      throw new RangeError(`transpose(): [${a.perm.join(",")}] is not a permutation of ${r} axes`);
    }
    return [{ shape: a.perm.map((p) => ins[0].shape[p]), dtype: ins[0].dtype }];
  },
  broadcastTo: (ins, a) => {
    arity("broadcastTo", ins, 1);
    const b = broadcastShapes(ins[0].shape, a.shape);
    if (!shapesEqual(b, a.shape)) {
      throw new RangeError(`Cannot broadcast ${fmt(ins[0].shape)} to ${fmt(a.shape)}`);
    }
    return [{ shape: a.shape, dtype: ins[0].dtype }];
  },
  slice: (ins, a) => {
    arity("slice", ins, 1);
    return [{ shape: sliceShape(ins[0].shape, a), dtype: ins[0].dtype }];
  },
  pad: (ins, a) => {
    arity("pad", ins, 1);
    const s = ins[0].shape;
    if (a.pads.length !== s.length) throw new RangeError(`pad(): pads need ${s.length} entries`);
    const shape = s.map((d, i) => {
      const [lo, hi] = a.pads[i];
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi < 0) {
        throw new RangeError(`pad(): pads must be non-negative integers`);
      }
      return d + lo + hi;
    });
    return [{ shape, dtype: ins[0].dtype }];
  },
  concat: (ins, a) => {
    if (ins.length === 0) throw new TypeError("concat() needs at least one tensor");
    const r = ins[0].shape.length;
    const ax = normalizeAxis(a.axis, r);
    let total = 0;
    for (const t of ins) {
      sameDType("concat", ins[0], t);
      if (t.shape.length !== r || t.shape.some((d, i) => i !== ax && d !== ins[0].shape[i])) {
        throw new RangeError(
          `concat(): shapes ${fmt(ins[0].shape)} and ${fmt(t.shape)} differ off axis ${ax}`,
        );
      }
      total += t.shape[ax];
    }
    return [{ shape: ins[0].shape.map((d, i) => (i === ax ? total : d)), dtype: ins[0].dtype }];
  },
  oneHot: (ins, a) => {
    arity("oneHot", ins, 1);
    if (ins[0].dtype === "float32") throw new TypeError("oneHot() needs integer labels");
    if (!Number.isInteger(a.numClasses) || a.numClasses < 1) {
      throw new RangeError("oneHot(): numClasses must be >= 1");
    }
    return [{ shape: [...ins[0].shape, a.numClasses], dtype: "float32" }];
  },
  matmul: (ins, a) => {
    arity("matmul", ins, 2);
    floatOnly("matmul", ins[0]);
    floatOnly("matmul", ins[1]);
    return [{ shape: matmulShape(ins[0].shape, ins[1].shape, a), dtype: "float32" }];
  },
  conv2d: (ins, a) => {
    arity("conv2d", ins, 2);
    floatOnly("conv2d", ins[0]);
    floatOnly("conv2d", ins[1]);
    return [{ shape: checkConv("conv2d", ins[0].shape, ins[1].shape, a), dtype: "float32" }];
  },
  conv2dAffine: (ins, a) => {
    arity("conv2dAffine", ins, 4);
    for (const t of ins) floatOnly("conv2dAffine", t);
    const out = checkConv("conv2dAffine", ins[0].shape, ins[1].shape, a);
    for (const t of ins.slice(2)) {
      if (t.shape.length !== 1 || t.shape[0] !== out[1]) {
        throw new RangeError(`conv2dAffine(): scale/shift must be [${out[1]}], got ${fmt(t.shape)}`);
      }
    }
    return [{ shape: out, dtype: "float32" }];
  },
  conv2dAffineChain: (ins, a) => chainShapeRule(ins, a, SHAPE_RULES.conv2dAffine),
  conv2dBackwardInput: (ins, a) => {
    arity("conv2dBackwardInput", ins, 2);
    const out = checkConv("conv2dBackwardInput", a.xShape, ins[1].shape, a);
    if (!shapesEqual(out, ins[0].shape)) {
      throw new RangeError(`conv2dBackwardInput(): dy ${fmt(ins[0].shape)} ≠ ${fmt(out)}`);
    }
    return [{ shape: a.xShape, dtype: "float32" }];
  },
  conv2dBackwardWeight: (ins, a) => {
    arity("conv2dBackwardWeight", ins, 2);
    const out = checkConv("conv2dBackwardWeight", ins[1].shape, a.wShape, a);
    if (!shapesEqual(out, ins[0].shape)) {
      throw new RangeError(`conv2dBackwardWeight(): dy ${fmt(ins[0].shape)} ≠ ${fmt(out)}`);
    }
    return [{ shape: a.wShape, dtype: "float32" }];
  },
  maxPool2d: (ins, a) => {
    arity("maxPool2d", ins, 1);
    return [{ shape: poolShape("maxPool2d", ins[0].shape, a), dtype: ins[0].dtype }];
  },
  maxPool2dBackward: (ins) => {
    arity("maxPool2dBackward", ins, 2);
    return [{ shape: ins[1].shape, dtype: "float32" }];
  },
  avgPool2d: (ins, a) => {
    arity("avgPool2d", ins, 1);
    floatOnly("avgPool2d", ins[0]);
    return [{ shape: poolShape("avgPool2d", ins[0].shape, a), dtype: "float32" }];
  },
  avgPool2dBackward: (ins, a) => {
    arity("avgPool2dBackward", ins, 1);
    return [{ shape: a.xShape, dtype: "float32" }];
  },
  resize: (ins, a) => {
    arity("resize", ins, 1);
    return [{ shape: resizeShape("resize", ins[0], a), dtype: ins[0].dtype }];
  },
  resizeBackward: (ins, a) => {
    arity("resizeBackward", ins, 1);
    floatOnly("resizeBackward", ins[0]);
    const out = resizeShape("resizeBackward", { shape: a.xShape, dtype: "float32" }, a);
    if (!shapesEqual(out, ins[0].shape)) {
      throw new RangeError(`resizeBackward(): dy ${fmt(ins[0].shape)} ≠ ${fmt(out)}`);
    }
    return [{ shape: a.xShape, dtype: "float32" }];
  },
  batchNormTrain: (ins) => {
    arity("batchNormTrain", ins, 3);
    const x = ins[0].shape;
    if (x.length !== 4 && x.length !== 2) {
      throw new RangeError(`batchNorm() needs [N,C,H,W] or [N,C], got ${fmt(x)}`);
    }
    floatOnly("batchNorm", ins[0]);
    const c = x[1];
    for (const t of ins.slice(1)) {
      if (t.shape.length !== 1 || t.shape[0] !== c) {
        throw new RangeError(`batchNorm(): gamma/beta must be [${c}]`);
      }
    }
    return [{ shape: x, dtype: "float32" }, { shape: [c], dtype: "float32" }, {
      shape: [c],
      dtype: "float32",
    }];
  },
  batchNormTrainBackward: (ins, a) => {
    arity("batchNormTrainBackward", ins, a.clampMax === undefined ? 7 : 8);
    const c = ins[3].shape[1];
    return [{ shape: ins[3].shape, dtype: "float32" }, { shape: [c], dtype: "float32" }, {
      shape: [c],
      dtype: "float32",
    }];
  },
  channelAffine: (ins) => {
    arity("channelAffine", ins, 3);
    floatOnly("channelAffine", ins[0]);
    const x = ins[0].shape;
    if (x.length < 2) throw new RangeError(`channelAffine() needs [N,C,...], got ${fmt(x)}`);
    for (const t of ins.slice(1)) {
      if (t.shape.length !== 1 || t.shape[0] !== x[1]) {
        throw new RangeError(`channelAffine(): scale/shift must be [${x[1]}]`);
      }
    }
    return [{ shape: x, dtype: "float32" }];
  },
  logSoftmax: (ins, a) => {
    arity("logSoftmax", ins, 1);
    floatOnly("logSoftmax", ins[0]);
    normalizeAxis(a.axis, ins[0].shape.length);
    return [{ shape: ins[0].shape, dtype: "float32" }];
  },
  fakeQuantize: (ins, a) => {
    arity("fakeQuantize", ins, 2);
    floatOnly("fakeQuantize", ins[0]);
    const c = a.axis < 0 ? 1 : ins[0].shape[normalizeAxis(a.axis, ins[0].shape.length)];
    if (ins[1].shape.length !== 1 || ins[1].shape[0] !== c) {
      throw new RangeError(`fakeQuantize(): scale must be [${c}], got [${ins[1].shape.join(",")}]`);
    }
    if (!(Number.isInteger(a.qmin) && Number.isInteger(a.qmax) && a.qmin < a.qmax)) {
      throw new RangeError(`fakeQuantize(): invalid range [${a.qmin}, ${a.qmax}]`);
    }
    return [{ shape: ins[0].shape, dtype: "float32" }];
  },
  fakeQuantizeBackward: (ins) => {
    arity("fakeQuantizeBackward", ins, 3);
    return [{ shape: ins[1].shape, dtype: "float32" }, { shape: ins[2].shape, dtype: "float32" }];
  },
  ...INT_TWIN_SHAPE_RULES,
  randomUniform: randomRule,
  randomNormal: randomRule,
};

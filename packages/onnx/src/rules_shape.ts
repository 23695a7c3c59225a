/**
 * Rules of the operators that move or reshape values (Concat, Split, Slice, Reshape, Transpose, Flatten,
 * Squeeze, Unsqueeze) and of the ones that only make load-time values (Shape, Gather, Constant,
 * ConstantOfShape), which are folded away.
 * @module
 */
import { Flatten } from "@hqat/nn";
import { concat, reshape, slice, type Tensor, transpose } from "@hqat/tensor";
import {
  axisOf,
  concatKnown,
  gatherKnown,
  kindOfType,
  type Known,
  known,
  MAX_FOLDED,
  sliceKnown,
  type SliceRange,
  sliceRange,
  transposeKnown,
  type ValueInfo,
} from "./known.ts";
import type { NodeView } from "./node_view.ts";
import { type Builder, intsFor, moduleStep, type OpRule, type Step, unaryStep } from "./rule.ts";
import { first } from "./rules_elementwise.ts";
import { elementCount } from "./tensor_proto.ts";

const isKnown = (v: ValueInfo | undefined): v is Known => v?.value !== undefined;

/** Why slices cannot be traced yet: the traced slice keeps the example's batch size. */
export const BATCH_SLICE = "it slices the batch axis, which a traced graph keeps at the traced batch size";

/**
 * Known integers of input `i` at analysis time, or an error naming what they are.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { knownInts } from "./rules_shape.ts";
 * import { known } from "./known.ts";
 * import { NodeView } from "./node_view.ts";
 * const n = new NodeView({ name: "r", opType: "Reshape", domain: "", inputs: ["x", "s"], outputs: ["y"], attributes: new Map() }, 13, "m.onnx");
 * assert(knownInts(n, [undefined, known("int", [2], [0, -1])], 1, "shape").join() === "0,-1");
 * ```
 */
export function knownInts(
  n: NodeView,
  ins: readonly (ValueInfo | undefined)[],
  i: number,
  what: string,
): number[] {
  const v = ins[i];
  if (!isKnown(v)) throw n.error(`its ${what} must be known when the model loads`);
  return Array.from(v.value);
}

/** A value with the same elements and another shape (folding of reshapes). */
function reshaped(n: NodeView, x: ValueInfo, shape: readonly number[]): ValueInfo {
  const size = x.shape.reduce((a, b) => a * b, 1);
  if (elementCount(shape, n.where) !== size) {
    throw n.error(`cannot reshape [${x.shape.join(",")}] to [${shape.join(",")}]`);
  }
  return x.value ? known(x.kind, shape, x.value) : { kind: x.kind, shape };
}

/** Axes from the attribute (before `attrOpset`) or from input 1. */
function axesOf(
  n: NodeView,
  ins: readonly (ValueInfo | undefined)[],
  attrOpset: number,
): number[] | undefined {
  if (n.opset < attrOpset) return n.ints("axes")?.slice();
  return ins[1] ? knownInts(n, ins, 1, "axes") : undefined;
}

const concatRule: OpRule = {
  infer(n, ins) {
    const xs = ins.filter((v): v is ValueInfo => v !== undefined);
    if (!xs.length) throw n.error("has no inputs");
    const rank = xs[0].shape.length, axis = n.int("axis", 0);
    const a = axisOf(axis, rank);
    for (const x of xs) {
      if (x.kind !== xs[0].kind) throw n.error("inputs differ in element type", "type");
      if (x.shape.length !== rank || x.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
        throw n.error(
          `cannot concatenate [${xs[0].shape.join(",")}] and [${x.shape.join(",")}] on axis ${axis}`,
        );
      }
    }
    if (xs.every(isKnown)) return [concatKnown(xs as Known[], a)];
    const shape = [...xs[0].shape];
    shape[a] = xs.reduce((s, x) => s + x.shape[a], 0);
    return [{ kind: xs[0].kind, shape }];
  },
  build(b) {
    const reads = b.node.node.inputs.map((_, i) => i).filter((i) => b.has(i));
    const axis = b.node.int("axis", 0);
    return { reads, run: (xs) => [concat(xs, axis < 0 ? axis + xs[0].rank : axis)] };
  },
};

/** Slices `x` with ONNX ranges (load-time or run-time), with steps only when needed. */
function sliceWith(x: Tensor, ranges: readonly SliceRange[]): Tensor {
  const begin = ranges.map((r) => r.start);
  const end = ranges.map((r) => (r.step > 0 ? r.start + r.count : r.start + r.count * r.step));
  if (ranges.every((r) => r.step === 1)) return slice(x, begin, end);
  const open = end.map((e, i) => (ranges[i].step < 0 && e < 0 ? undefined : e));
  return slice(x, begin, open, { steps: ranges.map((r) => r.step) });
}

const splitRule: OpRule = {
  known: [1],
  infer(n, ins) {
    const x = first(n, ins);
    const a = axisOf(n.int("axis", 0), x.shape.length);
    const d = x.shape[a], parts = n.node.outputs.length;
    let sizes = n.opset < 13 ? n.ints("split")?.slice() : ins[1] ? knownInts(n, ins, 1, "split") : undefined;
    if (!sizes) {
      const each = n.opset >= 18 && n.has("num_outputs") ? Math.ceil(d / parts) : d / parts;
      if (!Number.isInteger(each)) throw n.error(`cannot split ${d} into ${parts} equal parts`);
      sizes = Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(each, d - i * each)));
    }
    if (sizes.length !== parts || sizes.reduce((s, v) => s + v, 0) !== d || sizes.some((s) => s < 0)) {
      throw n.error(`split sizes [${sizes.join(",")}] do not divide ${d} into ${parts} outputs`);
    }
    let at = 0;
    return sizes.map((s) => {
      const ranges = x.shape.map((
        dim,
        i,
      ) => (i === a ? { start: at, step: 1, count: s } : sliceRange(dim, 0, dim, 1)));
      at += s;
      if (isKnown(x)) return sliceKnown(x, ranges);
      return { kind: x.kind, shape: ranges.map((r) => r.count) };
    });
  },
  build(b) {
    const a = axisOf(b.node.int("axis", 0), b.shape(0).length);
    const sizes = b.node.node.outputs.map((_, i) => b.outShape(i)[a]);
    if (sizes.some((s) => s < 0)) throw b.node.error("splitting the batch axis is not supported");
    return {
      reads: [0],
      outputs: sizes.length,
      untraceable: a === 0 ? BATCH_SLICE : undefined,
      run: ([x]) => {
        let at = 0;
        return sizes.map((s) => {
          const ranges = x.shape.map((
            d,
            i,
          ) => (i === a ? { start: at, step: 1, count: s } : sliceRange(d, 0, d, 1)));
          at += s;
          return sliceWith(x, ranges);
        });
      },
    };
  },
};

/** ONNX Slice's ranges of every axis of `shape`. */
function rangesOf(
  shape: readonly number[],
  starts: number[],
  ends: number[],
  axes: number[],
  steps: number[],
) {
  const ranges = shape.map((d) => sliceRange(d, 0, d, 1));
  axes.forEach((ax, k) => {
    const a = axisOf(ax, shape.length);
    ranges[a] = sliceRange(shape[a], starts[k], ends[k], steps[k] ?? 1);
  });
  return ranges;
}

const sliceRule: OpRule = {
  known: [1, 2, 3, 4],
  infer(n, ins) {
    const x = first(n, ins);
    const old = n.opset < 10;
    const starts = old ? [...n.ints("starts", [])] : knownInts(n, ins, 1, "starts");
    const ends = old ? [...n.ints("ends", [])] : knownInts(n, ins, 2, "ends");
    const axes = (old ? n.ints("axes")?.slice() : ins[3] ? knownInts(n, ins, 3, "axes") : undefined) ??
      starts.map((_, i) => i);
    const steps = !old && ins[4] ? knownInts(n, ins, 4, "steps") : axes.map(() => 1);
    if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
      throw n.error("starts, ends, axes and steps differ in length");
    }
    let ranges: SliceRange[];
    try {
      ranges = rangesOf(x.shape, starts, ends, axes, steps);
    } catch (e) {
      throw n.error((e as Error).message);
    }
    return [isKnown(x) ? sliceKnown(x, ranges) : { kind: x.kind, shape: ranges.map((r) => r.count) }];
  },
  build(b) {
    const n = b.node;
    const old = n.opset < 10;
    const starts = old
      ? { base: n.ints("starts", []), perBatch: n.ints("starts", []).map(() => 0) }
      : b.ints(1, "starts");
    const ends = old
      ? { base: n.ints("ends", []), perBatch: n.ints("ends", []).map(() => 0) }
      : b.ints(2, "ends");
    const axes = (old ? n.ints("axes")?.slice() : b.has(3) ? b.fixedInts(3, "axes") : undefined) ??
      starts.base.map((_, i) => i);
    const steps = !old && b.has(4) ? b.fixedInts(4, "steps") : axes.map(() => 1);
    return {
      ...unaryStep((x, rt) =>
        sliceWith(x, rangesOf(x.shape, intsFor(starts, rt.batch), intsFor(ends, rt.batch), axes, steps))
      ),
      untraceable: axes.some((ax) => axisOf(ax, b.shape(0).length) === 0) ? BATCH_SLICE : undefined,
    };
  },
};

/** ONNX Reshape's target for an input shape: 0 copies the input's dimension (unless allowzero), -1 infers. */
function target(n: NodeView, inShape: readonly number[], spec: readonly number[]): number[] {
  const allowZero = n.opset >= 14 && n.int("allowzero", 0) === 1;
  const out = spec.map((d, i) => (d === 0 && !allowZero ? inShape[i] : d));
  if (out.some((d) => d === undefined || d < -1 || !Number.isInteger(d))) {
    throw n.error(`reshape target [${spec.join(",")}] is invalid for input [${inShape.join(",")}]`);
  }
  const infer = out.indexOf(-1);
  if (infer >= 0) {
    if (out.lastIndexOf(-1) !== infer) throw n.error(`reshape target [${spec.join(",")}] has two -1`);
    const rest = out.reduce((p, d, i) => (i === infer ? p : p * d), 1);
    const size = inShape.reduce((p, d) => p * d, 1);
    if (rest === 0 || size % rest) {
      throw n.error(`cannot reshape [${inShape.join(",")}] to [${spec.join(",")}]`);
    }
    out[infer] = size / rest;
  }
  return out;
}

const reshapeRule: OpRule = {
  known: [1],
  infer(n, ins) {
    const x = first(n, ins);
    const spec = n.opset < 5 ? [...n.ints("shape", [])] : knownInts(n, ins, 1, "shape");
    return [reshaped(n, x, target(n, x.shape, spec))];
  },
  build(b) {
    const spec = b.ints(1, "shape");
    const keepsBatch = b.shape(0)[0] < 0 && (b.outShape(0)[0] < 0) &&
      (spec.perBatch[0] === 1 && spec.base[0] === 0 || spec.base[0] === 0 && spec.perBatch[0] === 0);
    return {
      ...unaryStep((x, rt) => reshape(x, target(b.node, x.shape, intsFor(spec, rt.batch)))),
      untraceable: keepsBatch || b.shape(0)[0] >= 0 ? undefined : "its target does not keep the batch first",
    };
  },
};

const transposeRule: OpRule = {
  infer(n, ins) {
    const x = first(n, ins);
    const perm = n.ints("perm") ?? x.shape.map((_, i) => x.shape.length - 1 - i);
    if (perm.length !== x.shape.length || [...perm].sort().some((p, i) => p !== i)) {
      throw n.error(`perm [${perm.join(",")}] is not a permutation of ${x.shape.length} axes`);
    }
    return [isKnown(x) ? transposeKnown(x, perm) : { kind: x.kind, shape: perm.map((p) => x.shape[p]) }];
  },
  build(b) {
    const rank = b.shape(0).length;
    const perm = b.node.ints("perm") ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    return unaryStep((x) => transpose(x, perm));
  },
};

const flattenAxis = (n: NodeView, rank: number) => {
  const a = n.int("axis", 1);
  const axis = a < 0 ? a + rank : a;
  if (axis < 0 || axis > rank) throw n.error(`axis ${a} is out of range for rank ${rank}`);
  return axis;
};

const flattenRule: OpRule = {
  infer(n, ins) {
    const x = first(n, ins);
    const axis = flattenAxis(n, x.shape.length);
    const lead = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
    return [reshaped(n, x, [lead, x.shape.slice(axis).reduce((p, d) => p * d, 1)])];
  },
  build(b): Step {
    const rank = b.shape(0).length, axis = flattenAxis(b.node, rank);
    if (axis === 1) {
      const { path, module } = b.stateless(new Flatten(1, -1));
      return rank === 2 ? unaryStep((x) => x) : moduleStep(path, module);
    }
    return unaryStep((x) => reshape(x, [x.shape.slice(0, axis).reduce((p, d) => p * d, 1), -1]));
  },
};

const squeezeRule: OpRule = {
  known: [1],
  infer(n, ins) {
    const x = first(n, ins);
    const axes = (axesOf(n, ins, 13) ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) =>
      axisOf(a, x.shape.length)
    );
    for (const a of axes) {
      if (x.shape[a] !== 1) throw n.error(`cannot squeeze axis ${a} of size ${x.shape[a]}`);
    }
    return [reshaped(n, x, x.shape.filter((_, i) => !axes.includes(i)))];
  },
  build(b) {
    const gone = squeezedAxes(b);
    return unaryStep((x) => reshape(x, x.shape.filter((_, i) => !gone.includes(i))));
  },
};

/** The input axes a squeeze removes. */
function squeezedAxes(b: Builder): number[] {
  const n = b.node, ins = b.shape(0);
  const axes = n.opset < 13 ? n.ints("axes") : b.has(1) ? b.fixedInts(1, "axes") : undefined;
  return (axes ?? ins.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => axisOf(a, ins.length));
}

const unsqueezeAxes = (n: NodeView, axes: readonly number[] | undefined, rank: number) => {
  if (!axes) throw n.error("needs axes");
  const out = rank + axes.length;
  return axes.map((a) => axisOf(a, out)).sort((p, q) => p - q);
};

const unsqueezeRule: OpRule = {
  known: [1],
  infer(n, ins) {
    const x = first(n, ins);
    const axes = unsqueezeAxes(n, axesOf(n, ins, 13), x.shape.length);
    const shape = [...x.shape];
    for (const a of axes) shape.splice(a, 0, 1);
    return [reshaped(n, x, shape)];
  },
  build(b) {
    const n = b.node;
    const axes = unsqueezeAxes(n, n.opset < 13 ? n.ints("axes") : b.fixedInts(1, "axes"), b.shape(0).length);
    return unaryStep((x) => {
      const shape = [...x.shape];
      for (const a of axes) shape.splice(a, 0, 1);
      return reshape(x, shape);
    });
  },
};

const loadTimeOnly = (b: Builder): never => {
  throw b.node.error("its inputs must be known when the model loads (it computes shapes, not data)");
};

const shapeRule: OpRule = {
  infer(n, ins) {
    const x = first(n, ins);
    const r = x.shape.length;
    const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
    const s = n.opset >= 15 ? clampAxis(n.int("start", 0)) : 0;
    const e = n.opset >= 15 ? clampAxis(n.int("end", r)) : r;
    const dims = x.shape.slice(s, Math.max(s, e));
    return [known("int", [dims.length], dims)];
  },
  build: loadTimeOnly,
};

const gatherRule: OpRule = {
  known: [0, 1],
  infer(n, ins) {
    const [x, idx] = ins;
    if (!isKnown(x) || !isKnown(idx)) throw n.error("gathers only from values known when the model loads");
    try {
      return [gatherKnown(x, idx, n.int("axis", 0))];
    } catch (e) {
      throw n.error((e as Error).message);
    }
  },
  build: loadTimeOnly,
};

const constantRule: OpRule = {
  infer(n) {
    const t = n.tensor("value");
    if (t) {
      const kind = kindOfType(t.dataType);
      if (!kind) throw n.error(`constant of element type ${t.dataType} is not supported`, "type");
      return [known(kind, t.dims, t.data)];
    }
    if (n.has("value_float")) return [known("float", [], [n.float("value_float", 0)])];
    if (n.has("value_int")) return [known("int", [], [n.int("value_int", 0)])];
    const fs = n.floats("value_floats");
    if (fs) return [known("float", [fs.length], fs)];
    const is = n.ints("value_ints");
    if (is) return [known("int", [is.length], is)];
    throw n.error("has no value this reader supports (value, value_float(s), value_int(s))", "type");
  },
  build: loadTimeOnly,
};

const constantOfShapeRule: OpRule = {
  known: [0],
  infer(n, ins) {
    const shape = knownInts(n, ins, 0, "shape");
    const t = n.tensor("value");
    const kind = t ? kindOfType(t.dataType) : "float";
    if (!kind || (t && t.data.length !== 1)) throw n.error("value must be one number", "type");
    const count = elementCount(shape, n.where);
    if (count > MAX_FOLDED) throw n.error(`a constant of ${count} elements is absurdly large`);
    try {
      return [known(kind, shape, new Float64Array(count).fill(t ? t.data[0] : 0))];
    } catch (e) {
      throw n.error((e as Error).message);
    }
  },
  build: loadTimeOnly,
};

/** The movement and load-time rules by operator name. */
export const SHAPE_RULES = {
  Concat: concatRule,
  Split: splitRule,
  Slice: sliceRule,
  Reshape: reshapeRule,
  Transpose: transposeRule,
  Flatten: flattenRule,
  Squeeze: squeezeRule,
  Unsqueeze: unsqueezeRule,
  Shape: shapeRule,
  Gather: gatherRule,
  Constant: constantRule,
  ConstantOfShape: constantOfShapeRule,
} as const satisfies Record<string, OpRule>;

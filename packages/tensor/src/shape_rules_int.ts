/**
 * Shape rules of the fake-quantized integer ops (the fake twins of the integer program's kinds): each
 * validates its operands and gives a float32 output.
 * @module
 */
import type { OpAttrs } from "./ops.ts";
import type { Shape } from "./shape.ts";
import type { ShapeRule } from "./shape_rules.ts";
import { convTransposeShape, matmulShape, reduceIndex } from "@hqat/qtensor";
import { resizeShape } from "./resize_geometry.ts";
import { checkConv, poolShape } from "./window_shapes.ts";

type TwinOp =
  | "addFake"
  | "avgPoolFake"
  | "intLayerFake"
  | "lutFake"
  | "resizeFake"
  | "meanFake"
  | "matmulFake"
  | "convTransposeFake"
  | "softmaxFake"
  | "requantFake"
  | "mulFake";

const fmt = (s: Shape) => `[${s.join(",")}]`;

function arity(op: string, inputs: readonly { shape: Shape }[], n: number): void {
  if (inputs.length !== n) throw new TypeError(`${op}() takes ${n} tensors, got ${inputs.length}`);
}

/** The shape rules of the fake twins. */
export const INT_TWIN_SHAPE_RULES: { [K in TwinOp]: ShapeRule<OpAttrs[K]> } = {
  addFake: (ins) => {
    arity("addFake", ins, 2);
    const [a, b] = [ins[0].shape, ins[1].shape];
    if (a.length !== b.length || b.some((d, i) => d !== a[i] && d !== 1)) {
      throw new RangeError(`addFake(): ${fmt(b)} does not broadcast to ${fmt(a)}`);
    }
    return [{ shape: a, dtype: "float32" }];
  },
  avgPoolFake: (ins, a) => {
    arity("avgPoolFake", ins, 1);
    const x = ins[0].shape;
    if (x.length !== 4) throw new RangeError(`avgPoolFake() needs [N,C,H,W], got ${fmt(x)}`);
    if (a.kernel[0] === 0) return [{ shape: [x[0], x[1], 1, 1], dtype: "float32" }];
    return [{
      shape: poolShape("avgPoolFake", x, {
        ...a,
        ceilMode: a.ceilMode ?? false,
        countIncludePad: a.countIncludePad ?? true,
      }),
      dtype: "float32",
    }];
  },
  intLayerFake: (ins, a) => {
    if (ins.length !== 2 && ins.length !== 3) {
      throw new TypeError(`intLayerFake() takes 2 or 3 tensors, got ${ins.length}`);
    }
    const [x, w] = [ins[0].shape, ins[1].shape];
    if (a.linear) {
      if (w.length !== 2 || x[x.length - 1] !== w[1]) {
        throw new RangeError(`intLayerFake(): ${fmt(x)} does not fit weight ${fmt(w)}`);
      }
      return [{ shape: [...x.slice(0, -1), w[0]], dtype: "float32" }];
    }
    return [{ shape: checkConv("intLayerFake", x, w, a), dtype: "float32" }];
  },
  lutFake: (ins, a) => {
    arity("lutFake", ins, 2);
    const entries = a.dtypeIn === "qint8" ? 256 : 65536;
    if (ins[1].dtype !== "int32" || ins[1].shape.length !== 1 || ins[1].shape[0] !== entries) {
      throw new RangeError(
        `lutFake(): the table must be int32 [${entries}] for ${a.dtypeIn}, got ${fmt(ins[1].shape)}`,
      );
    }
    return [{ shape: ins[0].shape, dtype: "float32" }];
  },
  resizeFake: (ins, a) => {
    arity("resizeFake", ins, 1);
    return [{ shape: resizeShape("resizeFake", ins[0], a), dtype: "float32" }];
  },
  meanFake: (ins, a) => {
    arity("meanFake", ins, 1);
    const m = reduceIndex(ins[0].shape, a.axes, a.keepDims);
    return [{ shape: m.shape, dtype: "float32" }];
  },
  matmulFake: (ins) => {
    arity("matmulFake", ins, 2);
    return [{ shape: matmulShape(ins[0].shape, ins[1].shape), dtype: "float32" }];
  },
  convTransposeFake: (ins, a) => {
    if (ins.length !== 2 && ins.length !== 3) {
      throw new TypeError(`convTransposeFake() takes 2 or 3 tensors, got ${ins.length}`);
    }
    const shape = convTransposeShape(ins[0].shape, ins[1].shape, a);
    if (a.sw.length !== shape[1] || (ins[2] && ins[2].shape.join() !== `${shape[1]}`)) {
      throw new RangeError(`convTransposeFake(): needs ${shape[1]} weight scales and biases`);
    }
    return [{ shape, dtype: "float32" }];
  },
  softmaxFake: (ins, a) => {
    arity("softmaxFake", ins, 1);
    if (!(Number.isInteger(a.axis) && a.axis >= 0 && a.axis < ins[0].shape.length)) {
      throw new RangeError(`softmaxFake(): axis ${a.axis} is not an axis of ${fmt(ins[0].shape)}`);
    }
    return [{ shape: ins[0].shape, dtype: "float32" }];
  },
  requantFake: (ins) => {
    arity("requantFake", ins, 1);
    return [{ shape: ins[0].shape, dtype: "float32" }];
  },
  mulFake: (ins) => {
    arity("mulFake", ins, 2);
    const [a, b] = [ins[0].shape, ins[1].shape];
    if (a.length !== b.length || b.some((d, i) => d !== a[i] && d !== 1)) {
      throw new RangeError(`mulFake(): ${fmt(b)} does not broadcast to ${fmt(a)}`);
    }
    return [{ shape: a, dtype: "float32" }];
  },
};

/**
 * The arithmetic node kinds: table-lookup activations, products (of two values, or with a scalar constant), differences, matrix products, means and softmax.
 * @module
 */
import { applyActivation } from "@hqat/nn";
import { addAlignment } from "@hqat/qtensor";
import {
  addFake,
  fromArray,
  lutFake,
  matmul,
  matmulFake,
  mean,
  meanFake,
  mul,
  mulFake,
  softmax,
  softmaxFake,
  sub,
} from "@hqat/tensor";
import { activationTable, broadcastsTo, grid, gridOf } from "./node_rule_util.ts";
import type { Grid, NodeRule } from "./node_rule.ts";

/** The grids of a two-operand twin (`mulFake`, `matmulFake`): its operands' and its output's. */
const twoGrids = (a: Grid, b: Grid, o: Grid) => ({
  scaleA: a.scale,
  scaleB: b.scale,
  dtypeA: a.dtype,
  dtypeB: b.dtype,
  outScale: o.scale,
  dtype: o.dtype,
});

/** The product's operands in the order the integer kernel takes them (the broadcast one second). */
function mulOrder(a: readonly number[], b: readonly number[]): [number, number] | undefined {
  if (broadcastsTo(b, a)) return [0, 1];
  if (broadcastsTo(a, b)) return [1, 0];
  return undefined;
}

/** The rules of `activation`, `mul`, `scale`, `sub`, `matmul`, `mean`, `softmax`. */
export const ARITH_RULES: {
  readonly [K in "activation" | "mul" | "scale" | "sub" | "matmul" | "mean" | "softmax"]: NodeRule<K>;
} = {
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
      return mulFake(ins[order[0]], ins[order[1]], twoGrids(ga, gb, o));
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
  scale: {
    scale: () => "own",
    float: (k, [x]) => mul(x, k.factor),
    twin: (k, [x], c) => {
      const i = c.input(0), o = c.output();
      if (!i || !o) return undefined;
      const factor = fromArray(Float32Array.of(k.factor), x.shape.map(() => 1));
      return mulFake(x, factor, twoGrids(i, { dtype: "qint8", scale: Math.abs(k.factor) }, o));
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
  matmul: {
    scale: () => "own",
    float: (_k, [a, b]) => matmul(a, b),
    twin: (_k, [a, b], c) => {
      const ga = c.input(0), gb = c.input(1), o = c.output();
      if (!ga || !gb || !o) return undefined;
      return matmulFake(a, b, twoGrids(ga, gb, o));
    },
    convert: (_k, _n, c) => {
      const a = c.input(0), b = c.input(1), o = c.output();
      const numerator = [c.buffer(a).scale[0] * c.buffer(b).scale[0]];
      c.emit({ op: "matmul", inputs: [a, b] }, grid(o), [{ kind: "requant", ...c.requant(numerator, 1, o) }]);
    },
  },
  // x · c: the integer model multiplies by the constant ±1 on the grid |c| and requantizes.
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
};

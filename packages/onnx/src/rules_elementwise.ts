/**
 * Rules of the elementwise operators: activations (Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid,
 * HardSwish, Tanh), Softmax, broadcasting arithmetic with computed or constant operands (Add, Sub, Mul,
 * Div), and the pass-through operators (Identity, Dropout, Cast).
 * @module
 */
import {
  type ActivationLayer,
  Dropout,
  Hardsigmoid,
  Hardswish,
  Hardtanh,
  LeakyReLU,
  type Module,
  ReLU,
  ReLU6,
  Sigmoid,
  Softmax,
  Tanh,
} from "@hqat/nn";
import { add, div, mul, reshape, softmax, sub } from "@hqat/tensor";
import {
  binaryKnown,
  broadcastShapes,
  castKnown,
  type ElemKind,
  kindOfType,
  type ValueInfo,
} from "./known.ts";
import type { NodeView } from "./node_view.ts";
import { type Builder, moduleStep, type OpRule, type Step, unaryStep } from "./rule.ts";

/**
 * The first input, which a rule needs.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { first } from "./rules_elementwise.ts";
 * import { NodeView } from "./node_view.ts";
 * const n = new NodeView({ name: "r", opType: "Relu", domain: "", inputs: ["x"], outputs: ["y"], attributes: new Map() }, 13, "m.onnx");
 * assert(first(n, [{ kind: "float", shape: [2] }]).shape.join() === "2");
 * ```
 */
export function first(n: NodeView, ins: readonly (ValueInfo | undefined)[]): ValueInfo {
  const x = ins[0];
  if (!x) throw n.error("its first input is missing");
  return x;
}

/**
 * A float input, for the operators that compute on floats.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { floatIn } from "./rules_elementwise.ts";
 * import { NodeView } from "./node_view.ts";
 * const n = new NodeView({ name: "r", opType: "Relu", domain: "", inputs: ["x"], outputs: ["y"], attributes: new Map() }, 13, "m.onnx");
 * assert(floatIn(n, [{ kind: "float", shape: [2] }]).kind === "float");
 * ```
 */
export function floatIn(n: NodeView, ins: readonly (ValueInfo | undefined)[]): ValueInfo {
  const x = first(n, ins);
  if (x.kind !== "float") throw n.error(`computes on floats, got ${x.kind} input`, "type");
  return x;
}

const sameShape = (n: NodeView, ins: readonly (ValueInfo | undefined)[]) => {
  const x = floatIn(n, ins);
  return [{ kind: x.kind, shape: x.shape }];
};

/** A float activation without parameters. */
/** An activation as one stateless layer, so that tracing records it whole (one table lookup when quantized). */
function activation(make: (b: Builder) => ActivationLayer): OpRule {
  return { infer: sameShape, build: (b) => layerOf(b.stateless(make(b))) };
}

const FLOAT_MAX = 3.4028234663852886e38;

const clip: OpRule = {
  known: [1, 2],
  infer: sameShape,
  build(b) {
    const n = b.node;
    let lo = -Infinity, hi = Infinity;
    if (n.opset < 11) {
      lo = n.float("min", -FLOAT_MAX);
      hi = n.float("max", FLOAT_MAX);
    } else {
      if (b.has(1)) lo = b.floats(1, "min")[0];
      if (b.has(2)) hi = b.floats(2, "max")[0];
    }
    if (lo <= -FLOAT_MAX) lo = -Infinity;
    if (hi >= FLOAT_MAX) hi = Infinity;
    if (lo === 0 && hi === 6) return layerOf(b.stateless(new ReLU6()));
    if (lo === 0 && hi === Infinity) return layerOf(b.stateless(new ReLU()));
    return layerOf(b.stateless(new Hardtanh(lo, hi)));
  },
};

const layerOf = (m: { path: string; module: Module }) => moduleStep(m.path, m.module);

const softmaxRule: OpRule = {
  infer: sameShape,
  build(b) {
    const n = b.node;
    const rank = b.shape(0).length;
    if (n.opset >= 13) return layerOf(b.stateless(new Softmax(n.int("axis", -1))));
    // Before opset 13, Softmax flattens to 2-D at `axis` and normalizes each row.
    const axis = n.int("axis", 1) < 0 ? n.int("axis", 1) + rank : n.int("axis", 1);
    return unaryStep((x) => {
      const rows = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
      return reshape(softmax(reshape(x, [rows, -1]), -1), x.shape);
    });
  },
};

const OPS = { Add: add, Sub: sub, Mul: mul, Div: div } as const;

/** Broadcasting arithmetic; known operands fold, and a known single value becomes a number. */
function binary(op: keyof typeof OPS): OpRule {
  return {
    infer(n, ins) {
      const [a, c] = [ins[0], ins[1]];
      if (!a || !c) throw n.error("needs two inputs");
      if (a.kind !== c.kind) throw n.error(`operands are ${a.kind} and ${c.kind}`, "type");
      let shape: number[];
      try {
        shape = broadcastShapes(a.shape, c.shape);
      } catch (e) {
        throw n.error((e as Error).message);
      }
      if (a.value && c.value) return [binaryKnown(op, a as Required<ValueInfo>, c as Required<ValueInfo>)];
      return [{ kind: a.kind, shape }];
    },
    build(b) {
      if (b.kind(0) !== "float") throw b.node.error("integer arithmetic on computed values is not supported");
      const f = OPS[op];
      const out = b.outShape(0);
      // A known operand that holds one value and does not widen the result is a plain number.
      const scalar = (i: number) =>
        b.isKnown(i) && b.shape(i).every((d) => d === 1) && b.shape(i).length <= out.length &&
        b.shape(1 - i).length === out.length;
      if (scalar(1)) {
        const v = b.floats(1, "operand")[0];
        return unaryStep((x) => f(x, v));
      }
      if (scalar(0)) {
        const v = b.floats(0, "operand")[0];
        return { reads: [1], run: ([x]) => [f(v, x)] };
      }
      return { reads: [0, 1], run: ([x, y]) => [f(x, y)] };
    },
  };
}

const identity: OpRule = {
  infer: (n, ins) => [first(n, ins)],
  build: () => ({ reads: [0], run: ([x]) => [x] }),
};

const dropout: OpRule = {
  known: [1, 2],
  infer(n, ins) {
    const x = floatIn(n, ins);
    return [{ kind: "float", shape: x.shape }, { kind: "bool", shape: x.shape }];
  },
  build(b): Step {
    const n = b.node;
    const p = n.opset < 12 ? n.float("ratio", 0.5) : b.has(1) ? b.floats(1, "ratio")[0] : 0.5;
    if (!(p >= 0 && p < 1)) throw n.error(`ratio ${p} must be in [0, 1)`);
    // The model's training flag, not the file's training_mode, decides whether values drop.
    return layerOf(b.stateless(new Dropout(p)));
  },
};

const castRule: OpRule = {
  infer(n, ins) {
    const x = first(n, ins);
    const to = n.int("to", 0);
    const kind: ElemKind | undefined = kindOfType(to);
    if (!kind) throw n.error(`cast to element type ${to} is not supported`, "type");
    return [x.value ? castKnown(x as Required<ValueInfo>, kind) : { kind, shape: x.shape }];
  },
  build(b) {
    const to = kindOfType(b.node.int("to", 0));
    if (b.kind(0) !== "float" || to !== "float") {
      throw b.node.error("casts of computed values are supported only from float to float");
    }
    return { reads: [0], run: ([x]) => [x] };
  },
};

/** The elementwise rules by operator name. */
export const ELEMENTWISE_RULES = {
  Relu: { infer: sameShape, build: (b) => layerOf(b.stateless(new ReLU())) } as OpRule,
  Clip: clip,
  LeakyRelu: activation((b) => new LeakyReLU(b.node.float("alpha", 0.01))),
  Sigmoid: activation(() => new Sigmoid()),
  HardSigmoid: activation((b) => new Hardsigmoid(b.node.float("alpha", 0.2), b.node.float("beta", 0.5))),
  HardSwish: activation(() => new Hardswish()),
  Tanh: activation(() => new Tanh()),
  Softmax: softmaxRule,
  Add: binary("Add"),
  Sub: binary("Sub"),
  Mul: binary("Mul"),
  Div: binary("Div"),
  Identity: identity,
  Dropout: dropout,
  Cast: castRule,
} as const satisfies Record<string, OpRule>;

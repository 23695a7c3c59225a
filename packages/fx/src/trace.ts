/**
 * Tracing: runs a model once on an example input and records a graph whose nodes are the calls of
 * leaf modules (named by their module path, like PyTorch FX) and the tensor functions applied
 * between them (named after the function: `add`, `add_1`, `flatten` …).
 * @module
 */
import {
  ActivationLayer,
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  DeQuantStub,
  Dropout,
  Flatten,
  forward,
  Identity,
  Linear,
  MaxPool2d,
  type Module,
  namedModules,
  PadLayer,
  QuantStub,
  ReLU,
  ReLU6,
  Softmax,
  type StateDict,
} from "@hqat/nn";
import { observeOps, type OpAttrs, type OpName, stopGradient, type Tensor } from "@hqat/tensor";
import type { Graph, GraphNode, NodeOp } from "./graph.ts";
import { verifyGraph } from "./verify.ts";

/** Whether tracing records `module` as one node (rather than descending into it). */
export function isLeafModule(module: Module): boolean {
  return module instanceof Conv2d || module instanceof BatchNorm2d || module instanceof Linear ||
    module instanceof ReLU || module instanceof ReLU6 || module instanceof Dropout ||
    module instanceof Identity ||
    module instanceof Flatten || module instanceof MaxPool2d || module instanceof AvgPool2d ||
    module instanceof AdaptiveAvgPool2d || module instanceof QuantStub || module instanceof DeQuantStub ||
    module instanceof ActivationLayer || module instanceof ConvTranspose2d || module instanceof PadLayer ||
    module instanceof Softmax;
}

function moduleOp(name: string, m: Module): NodeOp {
  if (m instanceof Conv2d) {
    return {
      op: "conv2d",
      module: name,
      stride: m.stride,
      padding: m.padding,
      dilation: m.dilation,
      groups: m.groups,
      bias: m.bias,
      paddingMode: m.paddingMode,
    };
  }
  if (m instanceof ConvTranspose2d) {
    return {
      op: "conv_transpose2d",
      module: name,
      stride: m.stride,
      padding: m.padding,
      outputPadding: m.outputPadding,
      dilation: m.dilation,
      groups: m.groups,
      bias: m.bias,
    };
  }
  if (m instanceof Softmax) return { op: "softmax", axis: m.dim, module: name };
  if (m instanceof PadLayer) return { op: "pad", pads: m.pads, mode: m.mode, value: m.value, module: name };
  if (m instanceof BatchNorm2d) return { op: "batch_norm", module: name, eps: m.eps, momentum: m.momentum };
  if (m instanceof Linear) return { op: "linear", module: name, bias: m.bias };
  if (m instanceof ReLU) return { op: "relu", module: name };
  if (m instanceof ActivationLayer) {
    return { op: "activation", fn: m.activation, params: m.params, module: name };
  }
  if (m instanceof ReLU6) return { op: "relu6", module: name };
  if (m instanceof Dropout) return { op: "dropout", module: name, p: m.p };
  if (m instanceof Identity) return { op: "identity", module: name };
  if (m instanceof Flatten) return { op: "flatten", module: name, startDim: m.startDim };
  if (m instanceof MaxPool2d || m instanceof AvgPool2d) {
    const o = m.options;
    const pair = (v: number | readonly [number, number] | undefined, d: readonly [number, number]) =>
      (v === undefined ? d : typeof v === "number" ? [v, v] : v) as [number, number];
    return {
      op: m instanceof MaxPool2d ? "max_pool2d" : "avg_pool2d",
      module: name,
      kernel: m.kernelSize,
      stride: pair(o.stride, m.kernelSize),
      padding: pair(o.padding, [0, 0]),
      ceilMode: o.ceilMode ?? false,
      countIncludePad: o.countIncludePad ?? true,
    };
  }
  if (m instanceof AdaptiveAvgPool2d) {
    return { op: "adaptive_avg_pool2d", module: name, outputSize: m.outputSize };
  }
  if (m instanceof QuantStub) return { op: "quant_stub", module: name, scale: m.scale };
  if (m instanceof DeQuantStub) return { op: "dequant_stub", module: name };
  throw new TypeError(`Module "${name}" (${m.typeName}) is not a leaf module`);
}

/** A primitive op as a node: its base name, kind, and the inputs it reads (default all). */
type PrimNode = [string, NodeOp, (readonly Tensor[])?];

function primOp(
  op: OpName,
  attrs: OpAttrs[OpName],
  inputs: readonly Tensor[],
  output: Tensor,
  isValue: (t: Tensor) => boolean,
): PrimNode {
  // A product with (or quotient by) a scalar constant.
  const scalar = (t: Tensor) => t.size === 1 && !isValue(t);
  if ((op === "mul" || op === "div") && inputs.length === 2 && isValue(inputs[0]) && scalar(inputs[1])) {
    const c = inputs[1].toArray()[0];
    return ["scale", { op: "scale", factor: op === "mul" ? c : 1 / c }, [inputs[0]]];
  }
  if (op === "mul" && inputs.length === 2 && scalar(inputs[0]) && isValue(inputs[1])) {
    return ["scale", { op: "scale", factor: inputs[0].toArray()[0] }, [inputs[1]]];
  }
  switch (op) {
    case "add":
      return ["add", { op: "add" }];
    case "relu":
      return ["relu", { op: "relu" }];
    case "clamp": {
      const a = attrs as OpAttrs["clamp"];
      if (a.min === 0 && a.max === 6) return ["relu6", { op: "relu6" }];
      return ["clip", { op: "activation", fn: "clip", params: { min: a.min, max: a.max } }];
    }
    case "matmul": {
      const a = attrs as OpAttrs["matmul"];
      if (!a.transA && !a.transB) return ["matmul", { op: "matmul" }];
      break;
    }
    case "sub":
      return ["sub", { op: "sub" }];
    case "avgPool2d": {
      const a = attrs as OpAttrs["avgPool2d"];
      const [h, w] = [inputs[0].shape[2], inputs[0].shape[3]];
      if (a.padding[0] === 0 && a.padding[1] === 0 && a.kernel[0] === h && a.kernel[1] === w) {
        return ["adaptive_avg_pool2d", { op: "adaptive_avg_pool2d", outputSize: [1, 1] }];
      }
      return ["avg_pool2d", { op: "avg_pool2d", ...a }];
    }
    case "maxPool2d":
      return ["max_pool2d", { op: "max_pool2d", ...(attrs as OpAttrs["maxPool2d"]) }];
    case "concat":
      return ["cat", { op: "cat", axis: (attrs as OpAttrs["concat"]).axis }];
    case "sigmoid":
    case "tanh":
      return [op, { op: "activation", fn: op, params: {} }];
    case "mul":
      return ["mul", { op: "mul" }];
    case "pad": {
      const a = attrs as OpAttrs["pad"];
      if (a.pads[0][0] === 0 && a.pads[0][1] === 0) {
        return ["pad", { op: "pad", pads: a.pads, mode: "constant", value: a.value }];
      }
      break;
    }
    case "resize":
      return ["resize", { op: "resize", attrs: attrs as OpAttrs["resize"] }];
    case "transpose": {
      const a = attrs as OpAttrs["transpose"];
      if (a.perm[0] === 0) return ["transpose", { op: "transpose", perm: a.perm }];
      break;
    }
    case "slice": {
      // The batch axis must be taken whole, so that the node runs at any batch size.
      const a = attrs as OpAttrs["slice"];
      const steps = a.steps ?? a.starts.map(() => 1);
      if (a.starts[0] === 0 && a.ends[0] === inputs[0].shape[0] && steps[0] === 1) {
        return ["slice", { op: "slice", starts: a.starts, ends: a.ends, steps }];
      }
      break;
    }
    case "reshape": {
      const x = inputs[0].shape, y = output.shape;
      if (y.length >= 1 && x.slice(0, y.length - 1).every((d, i) => d === y[i])) {
        return ["flatten", { op: "flatten", startDim: y.length - 1 }];
      }
      return ["reshape", { op: "reshape", shape: [...y] }];
    }
  }
  return [op, { op: "prim", prim: op, attrs }];
}

/**
 * Traces `model` on `example` (evaluation mode) into a verified graph.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { trace, printGraph } from "@hqat/fx";
 * import { initState, Linear, ReLU, Sequential } from "@hqat/nn";
 * import { ones, randomKey } from "@hqat/tensor";
 * const m = new Sequential(new Linear(4, 3), new ReLU());
 * const g = trace(m, initState(m, randomKey(0)), ones([2, 4]));
 * assert(printGraph(g).includes("%0: float32[2,3] = linear[0](%x)"));
 * ```
 */
export function trace(model: Module, state: StateDict, example: Tensor): Graph {
  const nodes: GraphNode[] = [{
    name: "x",
    kind: { op: "input", index: 0 },
    inputs: [],
    shape: [...example.shape],
    dtype: "float32",
  }];
  const names = new Map<number, string>([[example.id, "x"]]);
  const stateIds = new Map<number, string>(Object.entries(state).map(([k, t]) => [t.id, k]));
  // Module paths are reserved for module calls; functions get the first free `base`, `base_1`, ….
  const reserved = new Set(namedModules(model).map(([n]) => n));
  const used = new Set<string>(["x", "output"]);
  const fresh = (base: string, isModule = false) => {
    let name = base;
    for (let k = 1; used.has(name) || (!isModule && reserved.has(name)); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
  const inputOf = (t: Tensor, user: string): string => {
    const n = names.get(t.id);
    if (n) return n;
    const param = stateIds.get(t.id);
    if (param) {
      throw new TypeError(`${user} uses state "${param}" outside its module; such models cannot be traced`);
    }
    if (t.size > 64) {
      throw new TypeError(
        `${user} uses a constant tensor of ${t.size} values; only small constants are traced`,
      );
    }
    const name = fresh("_const");
    nodes.push({
      name,
      kind: { op: "constant", value: t.toArray(), shape: [...t.shape] },
      inputs: [],
      shape: [...t.shape],
      dtype: "float32",
    });
    names.set(t.id, name);
    return name;
  };
  let leafDepth = 0;
  const owners: string[] = [""];
  const record = (
    name: string,
    kind: NodeOp,
    inputs: readonly Tensor[],
    out: Tensor,
    owner: string,
  ): Tensor => {
    const ins = inputs.map((t) => inputOf(t, `"${name}"`));
    // Identity-like results get their own tensor, so that later uses of the input keep pointing at it.
    const y = out === inputs[0] ? stopGradient(out) : out;
    nodes.push({ name, kind, inputs: ins, shape: [...y.shape], dtype: "float32", owner });
    names.set(y.id, name);
    return y;
  };
  const observer = (
    op: OpName,
    inputs: readonly Tensor[],
    attrs: OpAttrs[OpName],
    outputs: readonly Tensor[],
  ) => {
    if (leafDepth > 0 || op === "randomUniform" || op === "randomNormal") return;
    const isValue = (t: Tensor) => names.has(t.id);
    const [base, kind, read] = primOp(op, attrs, inputs, outputs[0], isValue);
    record(fresh(base), kind, read ?? inputs, outputs[0], owners[owners.length - 1]);
  };
  const { y } = observeOps(observer, () =>
    forward(model, state, example, {
      intercept: (name, module, x, run) => {
        if (!isLeafModule(module)) {
          owners.push(name);
          try {
            return run(x);
          } finally {
            owners.pop();
          }
        }
        leafDepth++;
        let out: Tensor;
        try {
          out = run(x);
        } finally {
          leafDepth--;
        }
        return record(fresh(name, true), moduleOp(name, module), [x], out, name);
      },
    }));
  nodes.push({
    name: "output",
    kind: { op: "output" },
    inputs: [inputOf(y, "output")],
    shape: [...y.shape],
    dtype: "float32",
  });
  return verifyGraph({ nodes: foldMeans(nodes) });
}

/** `sum` over axes followed by a product with 1 / (the number of values summed): one `mean` node. */
function foldMeans(nodes: GraphNode[]): GraphNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const uses = new Map<string, number>();
  for (const n of nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  const folded = new Map<string, GraphNode>(); // scale node -> mean node
  const dropped = new Set<string>();
  for (const n of nodes) {
    const sum = byName.get(n.inputs[0]);
    if (n.kind.op !== "scale" || !sum || sum.kind.op !== "prim" || sum.kind.prim !== "sum") continue;
    const a = sum.kind.attrs as OpAttrs["sum"], x = byName.get(sum.inputs[0])!;
    const count = a.axes.reduce((p, ax) => p * x.shape[ax], 1);
    if (uses.get(sum.name) !== 1 || a.axes.includes(0) || Math.abs(n.kind.factor * count - 1) > 1e-6) {
      continue;
    }
    folded.set(n.name, {
      ...n,
      kind: { op: "mean", axes: a.axes, keepDims: a.keepDims },
      inputs: sum.inputs,
    });
    dropped.add(sum.name);
  }
  return nodes.filter((n) => !dropped.has(n.name)).map((n) => folded.get(n.name) ?? n);
}

/**
 * Structural checks of a decoded model before any work: a supported opset, only supported operators
 * (one error naming the node, its operator and the supported list), one input and one output, every
 * value defined once and read only where it is defined, no cycles. The nodes come out in topological
 * order, with Identity nodes replaced by their input and nodes that do not reach the output dropped.
 * @module
 */
import { isSupportedOp, SUPPORTED_OPS } from "./op_table.ts";
import type { OnnxModelProto, OnnxNode, OnnxValueInfo } from "./proto.ts";
import type { OnnxTensor } from "./tensor_proto.ts";

/** The opsets of the default domain that the reader accepts. */
export const OPSETS = { min: 9, max: 21 } as const;

/** A model that passed the structural checks. */
export interface CheckedGraph {
  /** The file, for messages. */
  readonly source: string;
  /** The default domain's opset. */
  readonly opset: number;
  /** Nodes in topological order (Identity nodes resolved, dead nodes dropped). */
  readonly nodes: readonly OnnxNode[];
  /** Initializers by name. */
  readonly initializers: ReadonlyMap<string, OnnxTensor>;
  /** The graph input that is not an initializer. */
  readonly input: OnnxValueInfo;
  /** The graph output's name. */
  readonly output: string;
}

function unsupportedError(source: string, bad: readonly OnnxNode[]): TypeError {
  const n = bad[0];
  const op = n.domain && n.domain !== "ai.onnx" ? `${n.domain}::${n.opType}` : n.opType;
  const others = bad.length > 1
    ? ` (and ${bad.length - 1} more: ${[...new Set(bad.slice(1).map((m) => m.opType))].join(", ")})`
    : "";
  return new TypeError(
    `${source}: node "${n.name}" uses operator ${op}, which is not supported${others}. ` +
      `Supported operators: ${SUPPORTED_OPS.join(", ")}`,
  );
}

/**
 * Checks a decoded model's structure (see the module doc) and returns its graph ready for analysis.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { checkGraph } from "./graph_check.ts";
 * const graph = { name: "g", nodes: [], initializers: [], inputs: [], outputs: [] };
 * assertThrows(() => checkGraph({ irVersion: 8, opset: 5, opsets: [], producer: "", graph }, "m.onnx"), RangeError, "opset 5");
 * ```
 */
export function checkGraph(model: OnnxModelProto, source: string): CheckedGraph {
  if (model.opset < OPSETS.min || model.opset > OPSETS.max) {
    throw new RangeError(
      `${source}: opset ${
        model.opset || "(none)"
      } of the default domain is not supported (${OPSETS.min}–${OPSETS.max})`,
    );
  }
  const g = model.graph;
  const bad = g.nodes.filter((n) => !isSupportedOp(n.opType, n.domain));
  if (bad.length) throw unsupportedError(source, bad);

  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializers) {
    if (!t.name) throw new RangeError(`${source}: an initializer has no name`);
    if (initializers.has(t.name)) throw new RangeError(`${source}: initializer "${t.name}" is defined twice`);
    initializers.set(t.name, t);
  }
  const inputs = g.inputs.filter((v) => !initializers.has(v.name));
  if (inputs.length !== 1) {
    throw new RangeError(
      `${source}: the graph has ${inputs.length} inputs; models with exactly one input are supported`,
    );
  }
  if (g.outputs.length !== 1) {
    throw new RangeError(
      `${source}: the graph has ${g.outputs.length} outputs; models with exactly one output are supported`,
    );
  }
  const input = inputs[0];
  const output = g.outputs[0].name;

  // Who produces each value.
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (!o) continue;
      if (producer.has(o) || initializers.has(o) || o === input.name) {
        throw new RangeError(`${source}: value "${o}" of node "${n.name}" is defined twice`);
      }
      producer.set(o, i);
    }
  });
  // Identity nodes are replaced by their input (so layers see their initializers directly).
  const alias = new Map<string, string>();
  const resolve = (name: string): string => {
    for (let k = 0; alias.has(name) && k <= g.nodes.length; k++) name = alias.get(name)!;
    return name;
  };
  for (const n of g.nodes) {
    if (n.opType === "Identity" && n.inputs[0] && n.outputs[0] && n.outputs[0] !== output) {
      alias.set(n.outputs[0], n.inputs[0]);
    }
  }
  // PyTorch's export keeps one copy of initializers with equal values and names the others by Identity
  // nodes: each such name is a parameter of its own (its layer's, under PyTorch's state name), not a
  // weight shared with another layer.
  for (const [name] of alias) {
    const init = initializers.get(resolve(name));
    if (init) initializers.set(name, { ...init, name });
  }
  for (const name of [...alias.keys()]) if (initializers.has(name)) alias.delete(name);
  const nodes = g.nodes
    .filter((n) => !(n.opType === "Identity" && (alias.has(n.outputs[0]) || initializers.has(n.outputs[0]))))
    .map((n) => ({ ...n, inputs: n.inputs.map((i) => (i ? resolve(i) : i)) }));
  const known = (name: string) => name === input.name || initializers.has(name) || producer.has(name);
  for (const n of nodes) {
    for (const i of n.inputs) {
      if (i && !known(i)) {
        throw new RangeError(
          `${source}: node "${n.name}" (${n.opType}) reads "${i}", which no initializer, graph input or node provides`,
        );
      }
    }
  }
  if (!known(output)) throw new RangeError(`${source}: no node computes the output "${output}"`);

  // Keep the nodes the output depends on, in topological order (Kahn), and find cycles.
  const index = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o && index.set(o, i)));
  const needed = new Set<number>();
  const stack = [output];
  while (stack.length) {
    const v = stack.pop()!;
    const i = index.get(v);
    if (i === undefined || needed.has(i)) continue;
    needed.add(i);
    for (const x of nodes[i].inputs) if (x) stack.push(x);
  }
  const pending = new Map<number, number>();
  const users = new Map<number, number[]>();
  for (const i of needed) {
    const deps = new Set(
      nodes[i].inputs.map((x) => index.get(x)).filter((d): d is number => d !== undefined),
    );
    pending.set(i, deps.size);
    for (const d of deps) users.set(d, [...(users.get(d) ?? []), i]);
  }
  const ready = [...needed].filter((i) => pending.get(i) === 0).sort((a, b) => a - b);
  const order: OnnxNode[] = [];
  while (ready.length) {
    const i = ready.shift()!;
    order.push(nodes[i]);
    for (const u of users.get(i) ?? []) {
      const left = pending.get(u)! - 1;
      pending.set(u, left);
      if (left === 0) ready.push(u);
    }
  }
  if (order.length !== needed.size) {
    // Strip the nodes that only follow a cycle; what is left lies on one.
    const rest = new Set([...needed].filter((i) => pending.get(i)! > 0));
    for (let changed = true; changed;) {
      changed = false;
      for (const i of rest) {
        if (!(users.get(i) ?? []).some((u) => rest.has(u))) changed = rest.delete(i) || changed;
      }
    }
    const cycle = [...rest].sort((a, b) => a - b).map((i) => `"${nodes[i].name}"`);
    throw new RangeError(`${source}: nodes ${cycle.slice(0, 5).join(", ")} form a cycle`);
  }
  return { source, opset: model.opset, nodes: order, initializers, input, output };
}

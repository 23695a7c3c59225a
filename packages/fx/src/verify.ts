/**
 * The graph verifier, run after every pass: unique names, inputs defined before use, arity per op,
 * one output node at the end, and no dangling nodes.
 * @module
 */
import type { Graph, NodeOpName } from "./graph.ts";

const ARITY: Partial<Record<NodeOpName, number>> = {
  input: 0,
  constant: 0,
  quant_stub: 1,
  dequant_stub: 1,
  batch_norm: 1,
  linear: 1,
  relu: 1,
  relu6: 1,
  dropout: 1,
  identity: 1,
  add: 2,
  max_pool2d: 1,
  avg_pool2d: 1,
  adaptive_avg_pool2d: 1,
  flatten: 1,
  reshape: 1,
  activation: 1,
  mul: 2,
  pad: 1,
  resize: 1,
  transpose: 1,
  slice: 1,
  mean: 1,
  conv_transpose2d: 1,
  softmax: 1,
  matmul: 2,
  scale: 1,
  sub: 2,
};

/** A graph that does not verify. */
export class GraphError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "GraphError";
  }
}

/**
 * Checks a graph's structure; throws a {@linkcode GraphError} naming the node and the problem.
 *
 * @example
 * ```ts
 * import { verifyGraph } from "@hqat/fx";
 * const g = { nodes: [
 *   { name: "x", kind: { op: "input" as const, index: 0 }, inputs: [], shape: [1], dtype: "float32" as const },
 *   { name: "output", kind: { op: "output" as const }, inputs: ["x"], shape: [1], dtype: "float32" as const },
 * ] };
 * verifyGraph(g);
 * ```
 */
export function verifyGraph(g: Graph): Graph {
  const seen = new Set<string>();
  const used = new Set<string>();
  g.nodes.forEach((n, i) => {
    if (!n.name) throw new GraphError(`Node ${i} has no name`);
    if (seen.has(n.name)) throw new GraphError(`Duplicate node name "${n.name}"`);
    for (const inp of n.inputs) {
      if (!seen.has(inp)) throw new GraphError(`Node "${n.name}" uses "${inp}" before it is defined`);
      used.add(inp);
    }
    const k = n.kind;
    let arity = ARITY[k.op];
    if (k.op === "conv2d") arity = k.add ? 2 : 1;
    if (arity !== undefined && n.inputs.length !== arity) {
      throw new GraphError(`Node "${n.name}" (${k.op}) takes ${arity} inputs, has ${n.inputs.length}`);
    }
    if (k.op === "output" && i !== g.nodes.length - 1) {
      throw new GraphError(`Output node "${n.name}" is not last`);
    }
    if (n.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new GraphError(`Node "${n.name}" has an invalid shape [${n.shape.join(",")}]`);
    }
    seen.add(n.name);
  });
  const last = g.nodes[g.nodes.length - 1];
  if (!last || last.kind.op !== "output") throw new GraphError("Graph has no output node");
  for (const n of g.nodes) {
    if (n.kind.op !== "output" && n.kind.op !== "input" && !used.has(n.name)) {
      throw new GraphError(`Node "${n.name}" is computed but never used`);
    }
  }
  return g;
}

/**
 * PyTorch exports `nn.Linear` on an input of more than two dimensions (tokens `[N, T, C]`) as
 * `Transpose(weight) → MatMul → Add(bias)`. This pass rewrites that pattern into one `hqat.Linear`
 * node (an internal operator, never read from a file), which becomes a `Linear` layer: its weights
 * stay trainable state under their initializer names, and tracing sees one layer.
 * @module
 */
import type { CheckedGraph } from "./graph_check.ts";
import type { OnnxNode } from "./proto.ts";

/** The internal operator of a fused linear layer. */
export const LINEAR_OP = "hqat.Linear";

/**
 * Rewrites every `Transpose(W) → MatMul(x, ·) [→ Add(·, b)]` of a 2-D initializer `W` (and a 1-D
 * initializer `b` of `W`'s rows) whose intermediate values have no other use into one `hqat.Linear`
 * node reading `[x, W, b]`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fuseLinear } from "./fuse_linear.ts";
 * const t = (name: string, dims: number[]) => ({ name, dataType: 1, dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });
 * const node = (name: string, opType: string, inputs: string[], outputs: string[]) => ({ name, opType, domain: "", inputs, outputs, attributes: new Map() });
 * const g = {
 *   source: "m.onnx", opset: 13, output: "y", input: { name: "x", elemType: 1, shape: ["N", 4, 3] },
 *   initializers: new Map([["w", t("w", [2, 3])], ["b", t("b", [2])]]),
 *   nodes: [node("T", "Transpose", ["w"], ["wt"]), node("M", "MatMul", ["x", "wt"], ["m"]), node("A", "Add", ["b", "m"], ["y"])],
 * };
 * const f = fuseLinear(g);
 * assert(f.nodes.length === 1 && f.nodes[0].opType === "hqat.Linear" && f.nodes[0].inputs.join() === "x,w,b");
 * ```
 */
export function fuseLinear(g: CheckedGraph): CheckedGraph {
  const users = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) users.set(i, [...(users.get(i) ?? []), n]);
  const only = (value: string): OnnxNode | undefined => {
    const u = users.get(value);
    return u && u.length === 1 && value !== g.output ? u[0] : undefined;
  };
  const removed = new Set<OnnxNode>();
  const replaced = new Map<OnnxNode, OnnxNode>();
  for (const t of g.nodes) {
    const w = g.initializers.get(t.inputs[0]);
    if (t.opType !== "Transpose" || !w || w.dims.length !== 2) continue;
    const a0 = t.attributes.get("perm"), perm = a0?.kind === "ints" ? a0.value : undefined;
    if (a0 && !(perm && perm.length === 2 && perm[0] === 1 && perm[1] === 0)) continue;
    const m = only(t.outputs[0]);
    if (!m || m.opType !== "MatMul" || m.inputs[1] !== t.outputs[0] || m.inputs[0] === t.outputs[0]) continue;
    const a = only(m.outputs[0]);
    const biasName = a?.opType === "Add" ? a.inputs.find((i) => i !== m.outputs[0]) : undefined;
    const bias = biasName ? g.initializers.get(biasName) : undefined;
    const withBias = a && bias && bias.dims.length === 1 && bias.dims[0] === w.dims[0] &&
      a.inputs.length === 2;
    const fused: OnnxNode = {
      name: m.name,
      opType: LINEAR_OP,
      domain: "",
      inputs: withBias ? [m.inputs[0], t.inputs[0], biasName!] : [m.inputs[0], t.inputs[0]],
      outputs: withBias ? a.outputs : m.outputs,
      attributes: new Map(),
    };
    removed.add(t).add(m);
    if (withBias) {
      removed.add(a);
      replaced.set(a, fused);
    } else replaced.set(m, fused);
  }
  if (replaced.size === 0) return g;
  const nodes = g.nodes.flatMap((n) => (replaced.has(n) ? [replaced.get(n)!] : removed.has(n) ? [] : [n]));
  return { ...g, nodes };
}

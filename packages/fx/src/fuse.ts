/**
 * The fuse pass: conv2d + batch_norm [+ add] [+ relu | relu6] and conv2d/linear + relu[6] become one
 * node that keeps the convolution's name and records what it absorbed in typed fields.
 * @module
 */
import { type Graph, type GraphNode, nodeMap, usersOf } from "./graph.ts";
import { verifyGraph } from "./verify.ts";

/** Options of {@linkcode fuse}. */
export interface FuseOptions {
  /** Fold a following residual add into convolutions (default true; quantization keeps adds apart). */
  add?: boolean;
}

/**
 * Fuses the patterns above where each intermediate result has a single user; an add followed by an
 * activation becomes one add node.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fuse, printGraph, trace } from "@hqat/fx";
 * import { BatchNorm2d, Conv2d, initState, ReLU6, Sequential } from "@hqat/nn";
 * import { ones, randomKey } from "@hqat/tensor";
 * const m = new Sequential(new Conv2d(3, 4, 3, { bias: false }), new BatchNorm2d(4), new ReLU6());
 * const g = fuse(trace(m, initState(m, randomKey(0)), ones([1, 3, 5, 5])));
 * assert(g.nodes.length === 3 && printGraph(g).includes("bn=1 act=relu6"));
 * ```
 */
export function fuse(g: Graph, options: FuseOptions = {}): Graph {
  const byName = nodeMap(g);
  const users = usersOf(g);
  const removed = new Set<string>();
  const rename = new Map<string, string>(); // removed node -> the fused node that now produces its value
  const placeAt = new Map<string, GraphNode>(); // last absorbed node -> fused node
  const moved = new Set<string>();
  const single = (n: GraphNode) =>
    (users.get(n.name) ?? []).length === 1 && !removed.has(users.get(n.name)![0]);
  const nextOf = (n: GraphNode) => byName.get(users.get(n.name)![0])!;

  for (const n of g.nodes) {
    if (removed.has(n.name)) continue;
    const k = n.kind;
    if (k.op === "add" && single(n)) {
      const a = nextOf(n);
      if (a.kind.op === "relu" || a.kind.op === "relu6") {
        removed.add(a.name);
        rename.set(a.name, n.name);
        placeAt.set(a.name, { ...n, kind: { op: "add", act: a.kind.op }, shape: a.shape });
        moved.add(n.name);
      }
      continue;
    }
    if (k.op !== "conv2d" && k.op !== "linear") continue;
    let cur = n;
    let kind = { ...k } as typeof k;
    const inputs = [...n.inputs];
    const absorb = (m: GraphNode) => {
      removed.add(m.name);
      rename.set(m.name, n.name);
      cur = m;
    };
    if (kind.op === "conv2d" && single(cur) && nextOf(cur).kind.op === "batch_norm") {
      const bn = nextOf(cur);
      const bk = bn.kind as { module: string; eps: number; momentum: number };
      kind = { ...kind, bn: { module: bk.module, eps: bk.eps, momentum: bk.momentum } };
      absorb(bn);
    }
    if (kind.op === "conv2d" && options.add !== false && single(cur) && nextOf(cur).kind.op === "add") {
      const add = nextOf(cur);
      const other = add.inputs[0] === cur.name ? add.inputs[1] : add.inputs[0];
      if (other !== cur.name) {
        kind = { ...kind, add: true };
        inputs.push(other);
        absorb(add);
      }
    }
    if (single(cur)) {
      const act = nextOf(cur);
      if (act.kind.op === "relu" || act.kind.op === "relu6") {
        kind = { ...kind, act: act.kind.op };
        absorb(act);
      }
    }
    if (cur !== n) {
      // The fused node sits where the last absorbed node was, after every input it now reads.
      placeAt.set(cur.name, { ...n, kind, inputs, shape: cur.shape, dtype: cur.dtype });
      moved.add(n.name);
    }
  }
  const resolve = (name: string) => rename.get(name) ?? name;
  const nodes: GraphNode[] = [];
  for (const n of g.nodes) {
    const fused = placeAt.get(n.name);
    if (fused) nodes.push({ ...fused, inputs: fused.inputs.map(resolve) });
    else if (!removed.has(n.name) && !moved.has(n.name)) nodes.push({ ...n, inputs: n.inputs.map(resolve) });
  }
  return verifyGraph({ nodes });
}

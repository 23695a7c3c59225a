/**
 * A stable text form of graphs, one node per line, for snapshot tests and debugging.
 * @module
 */
import type { Graph, GraphNode, NodeOp } from "./graph.ts";

function fields(k: NodeOp): string {
  const parts: string[] = [];
  for (const [key, v] of Object.entries(k)) {
    if (key === "op" || key === "module" || v === undefined) continue;
    if (key === "bn" && v && typeof v === "object") {
      parts.push(`bn=${(v as { module: string }).module}`);
      continue;
    }
    if (key === "attrs") {
      parts.push(`attrs=${JSON.stringify(v)}`);
      continue;
    }
    if (key === "value" && Array.isArray(v)) {
      const vals = v as number[];
      parts.push(`value=[${vals.slice(0, 4).join(",")}${vals.length > 4 ? ",…" : ""}]`);
      continue;
    }
    const text = (x: unknown): string =>
      Array.isArray(x)
        ? `(${x.map(text).join(",")})`
        : x && typeof x === "object"
        ? JSON.stringify(x)
        : String(x);
    parts.push(`${key}=${text(v)}`);
  }
  return parts.length ? ` ${parts.join(" ")}` : "";
}

/**
 * One node as text: `%name: dtype[shape] = op[module](%inputs) fields`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { printNode } from "@hqat/fx";
 * const line = printNode({ name: "r", kind: { op: "relu" }, inputs: ["x"], shape: [1, 2], dtype: "float32" });
 * assert(line === "%r: float32[1,2] = relu(%x)");
 * ```
 */
export function printNode(n: GraphNode): string {
  const k = n.kind;
  const mod = "module" in k && k.module ? `[${k.module}]` : "";
  const op = k.op === "prim" ? `prim.${k.prim}` : k.op;
  const ins = n.inputs.map((i) => `%${i}`).join(", ");
  if (k.op === "output") return `return ${ins}`;
  if (k.op === "input") return `%${n.name}: ${n.dtype}[${n.shape.join(",")}] = input(${k.index})`;
  return `%${n.name}: ${n.dtype}[${n.shape.join(",")}] = ${op}${mod}(${ins})${fields(k)}`;
}

/**
 * The whole graph as text.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { printGraph } from "@hqat/fx";
 * const text = printGraph({ nodes: [
 *   { name: "x", kind: { op: "input", index: 0 }, inputs: [], shape: [1], dtype: "float32" },
 *   { name: "output", kind: { op: "output" }, inputs: ["x"], shape: [1], dtype: "float32" },
 * ] });
 * assert(text.endsWith("return %x\n"));
 * ```
 */
export function printGraph(g: Graph): string {
  return g.nodes.map(printNode).join("\n") + "\n";
}

/**
 * `visualizeModel`: hqat's counterpart of `visualize_model` — the integer graph drawn as SVG, one
 * box per node showing its op, output shape, dtype and scale.
 * @module
 */

import type { IntModel, IntNode } from "@hqat/fx";
import { atomicWriteFile } from "@hqat/nn";
import { exampleBatch, type ExampleInput } from "./example_inputs.ts";
import { type GraphLayout, layoutGraph } from "./graph_layout.ts";
import { withBatch } from "./int_model_layers.ts";
import { escapeXml } from "./perf_html.ts";

/**
 * Options of {@linkcode visualizeModel}: where to write the SVG (nothing is written without it).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { VisualizeOptions } from "@hqat/hbdk";
 * const o: VisualizeOptions = { savePath: "model.svg" };
 * assert(o.savePath === "model.svg");
 * ```
 */
export interface VisualizeOptions {
  /** Where to write the SVG (nothing is written without it). */
  readonly savePath?: string;
}

/**
 * The drawing: the SVG text, the layout it was drawn from, and each box's text lines.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Visualization } from "@hqat/hbdk";
 * const v: Pick<Visualization, "svg"> = { svg: "<svg/>" };
 * assert(v.svg.startsWith("<svg"));
 * ```
 */
export interface Visualization {
  /** The SVG text. */
  readonly svg: string;
  /** The layout it was drawn from. */
  readonly layout: GraphLayout;
  /** Each box's text lines, by node name. */
  readonly labels: ReadonlyMap<string, readonly string[]>;
}

const LINE = 15, PAD = 8, CHAR = 6.6;

function scaleText(s: Float32Array): string {
  if (s.length === 1) return `scale ${Number(s[0].toPrecision(5))}`;
  return `scale ×${s.length} (per channel)`;
}

function opText(n: IntNode): string {
  const k = n.kind;
  const parts: string[] = [k.op];
  if (k.op === "conv2d") {
    parts.push(`${k.weightShape[2]}×${k.weightShape[3]}`, `s${k.stride[0]}`);
    if (k.groups > 1) parts.push(`g${k.groups}`);
  }
  if ((k.op === "conv2d" || k.op === "linear" || k.op === "add") && k.act) parts.push(`+${k.act}`);
  if (k.op === "avg_pool2d" || k.op === "max_pool2d") {
    parts.push(`${k.kernel[0]}×${k.kernel[1]}`, `s${k.stride[0]}`);
  }
  return parts.join(" ");
}

/**
 * Draws `intModel` at the batch of the example input: a box per node (name, op with its kernel,
 * stride, groups and fused activation, output shape and dtype, scale), laid out by
 * `layoutGraph` top to bottom, edges as arrows; writes the SVG atomically to `savePath` when
 * given. The SVG is self-contained.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { visualizeModel } from "@hqat/hbdk";
 * import type { IntModel } from "@hqat/fx";
 * const s = (v: number) => Float32Array.of(v);
 * const m: IntModel = { format: "hqat-int-model", version: 1, march: "bayes", nodes: [
 *   { name: "x", inputs: [], kind: { op: "input" }, shape: [1, 2], dtype: "float32", scale: s(1) },
 *   { name: "q", inputs: ["x"], kind: { op: "quantize", scale: 0.5, dtype: "qint8" }, shape: [1, 2], dtype: "qint8", scale: s(0.5) },
 *   { name: "d", inputs: ["q"], kind: { op: "dequantize" }, shape: [1, 2], dtype: "float32", scale: s(1) },
 * ] };
 * const v = await visualizeModel(m, [{ shape: [4, 2] }]);
 * assert(v.svg.includes("[4, 2] qint8") && v.layout.boxes.length === 3);
 * ```
 */
export async function visualizeModel(
  intModel: IntModel,
  exampleInputs: readonly ExampleInput[],
  options: VisualizeOptions = {},
): Promise<Visualization> {
  const batch = exampleBatch(exampleInputs, { tool: "visualizeModel", model: intModel });
  const labels = new Map<string, string[]>();
  for (const n of intModel.nodes) {
    labels.set(n.name, [
      n.name,
      opText(n),
      `[${withBatch(n.shape, batch).join(", ")}] ${n.dtype}`,
      scaleText(n.scale),
    ]);
  }
  const nodes = intModel.nodes.map((n) => {
    const lines = labels.get(n.name)!;
    return {
      id: n.name,
      width: Math.max(150, Math.ceil(Math.max(...lines.map((l) => l.length)) * CHAR) + 2 * PAD),
      height: lines.length * LINE + 2 * PAD,
    };
  });
  const edges = intModel.nodes.flatMap((n) => n.inputs.map((i) => ({ from: i, to: n.name })));
  const layout = layoutGraph(nodes, edges);
  const paths = layout.edges.map((e) =>
    `<polyline class="edge" data-from="${escapeXml(e.from)}" data-to="${escapeXml(e.to)}" points="${
      e.points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ")
    }" fill="none" stroke="#666" marker-end="url(#arrow)"/>`
  );
  const boxes = layout.boxes.map((b) => {
    const lines = labels.get(b.id)!;
    const text = lines.map((l, i) =>
      `<text x="${(b.x + PAD).toFixed(1)}" y="${(b.y + PAD + (i + 1) * LINE - 4).toFixed(1)}"${
        i === 0 ? ' font-weight="bold"' : ""
      }>${escapeXml(l)}</text>`
    );
    return `<g class="node" data-name="${escapeXml(b.id)}"><rect x="${b.x.toFixed(1)}" y="${
      b.y.toFixed(1)
    }" width="${b.width}" height="${b.height}" rx="4" fill="#eef3fb" stroke="#3572b0"/>${text.join("")}</g>`;
  });
  const svg = `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(layout.width)}" height="${
    Math.ceil(layout.height)
  }" viewBox="0 0 ${Math.ceil(layout.width)} ${
    Math.ceil(layout.height)
  }" font-family="monospace" font-size="11">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>
${paths.join("\n")}
${boxes.join("\n")}
</svg>
`;
  if (options.savePath !== undefined) await atomicWriteFile(options.savePath, new TextEncoder().encode(svg));
  return { svg, layout, labels };
}

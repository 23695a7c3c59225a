/**
 * `visualizeModel`: hqat's counterpart of `visualize_model` — an integer program drawn as SVG: the
 * model input, and one box per instruction showing its node, its op (the instruction table's label and
 * what its epilogue fuses), its output shape, dtype and scale.
 * @module
 */

import { atomicWriteFile } from "@hqat/io";
import { type Instr, instrDef, instrReads, type Program, withBatch } from "@hqat/program";
import { exampleBatch, type ExampleInput } from "./example_inputs.ts";
import { type GraphLayout, layoutGraph } from "./graph_layout.ts";
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

/** The instruction's label with what its epilogue fuses: `+relu6`, `+add`. */
function opText(program: Program, instr: Instr): string {
  const def = instrDef(instr);
  const ctx = { ins: instr.inputs.map((b) => program.buffers[b]), out: program.buffers[instr.output] };
  const label = def.label(instr, ctx);
  const fused: string[] = [];
  for (const s of instr.epilogue) {
    if (s.kind === "add") fused.push("+add");
    else if (s.kind === "requant" && s.act !== "none") fused.push(`+${s.act}`);
    else if ((s.kind === "relu" || s.kind === "relu6") && label !== s.kind) fused.push(`+${s.kind}`);
  }
  return [label, ...fused].join(" ");
}

/**
 * Draws `program` (an int model, or a compiled program) at the batch of the example input: a box for
 * the model input and one per instruction (node name, op with its kernel, stride, groups and fused
 * stages, output shape and dtype, scale), laid out by `layoutGraph` top to bottom, edges (a buffer's
 * writer to each reader) as arrows; writes the SVG atomically to `savePath` when given. The SVG is
 * self-contained.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { visualizeModel } from "@hqat/hbdk";
 * import type { Program } from "@hqat/program";
 * const s = (v: number) => Float32Array.of(v);
 * const m: Program = {
 *   name: "model", march: "bayes", opt: "O0", inputShape: [1, 2], output: 1,
 *   buffers: [{ name: "q", shape: [1, 2], dtype: "qint8", scale: s(0.5) }, { name: "d", shape: [1, 2], dtype: "float32", scale: s(1) }],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * const v = await visualizeModel(m, [{ shape: [4, 2] }]);
 * assert(v.svg.includes("[4, 2] qint8") && v.layout.boxes.length === 3);
 * ```
 */
export async function visualizeModel(
  program: Program,
  exampleInputs: readonly ExampleInput[],
  options: VisualizeOptions = {},
): Promise<Visualization> {
  const batch = exampleBatch(exampleInputs, { tool: "visualizeModel", model: program });
  const input = "(input)";
  const labels = new Map<string, string[]>([[input, [
    input,
    "model input",
    `[${withBatch(program.inputShape, batch).join(", ")}] float32`,
    scaleText(Float32Array.of(1)),
  ]]]);
  const writer = new Map<number, string>();
  for (const instr of program.instructions) {
    const b = program.buffers[instr.output];
    labels.set(instr.name, [
      instr.name,
      opText(program, instr),
      `[${withBatch(b.shape, batch).join(", ")}] ${b.dtype}`,
      scaleText(b.scale),
    ]);
    writer.set(instr.output, instr.name);
  }
  const nodes = [...labels.entries()].map(([id, lines]) => ({
    id,
    width: Math.max(150, Math.ceil(Math.max(...lines.map((l) => l.length)) * CHAR) + 2 * PAD),
    height: lines.length * LINE + 2 * PAD,
  }));
  const edges = program.instructions.flatMap((instr) => {
    const reads = instrReads(instr);
    return (reads.length === 0 ? [input] : reads.map((b) => writer.get(b)!)).map((from) => ({
      from,
      to: instr.name,
    }));
  });
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

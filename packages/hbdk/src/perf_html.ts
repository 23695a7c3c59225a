/**
 * The HTML performance report: one self-contained page (no script, no network) with the summary
 * table, the per-layer table and a bar chart of each step's compute and DDR time as inline SVG.
 * @module
 */

import type { PerformanceEstimate } from "./cost_model.ts";

/**
 * `text` with the HTML special characters escaped.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { escapeXml } from "@hqat/hbdk";
 * assert(escapeXml('a<b & "c"') === "a&lt;b &amp; &quot;c&quot;");
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

const fmt = (v: number) => typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : String(v);

/** The chart: per step, a bar of its compute time and one of its DDR time (µs), one row each. */
function chart(e: PerformanceEstimate): string {
  const label = 220, width = 520, row = 18, top = 24;
  const max = Math.max(1e-9, ...e.layers.map((l) => Math.max(l.computeCostUs, l.loadStoreCostUs)));
  const scale = (v: number) => (v / max) * width;
  const h = top + e.layers.length * row + 8;
  const rows = e.layers.map((l, i) => {
    const y = top + i * row;
    return `<g class="step"><text x="${label - 6}" y="${y + 12}" text-anchor="end">${
      escapeXml(l.name)
    }</text>` +
      `<rect class="bar-compute" x="${label}" y="${y + 2}" width="${
        scale(l.computeCostUs).toFixed(2)
      }" height="6"><title>compute ${l.computeCostUs.toFixed(3)} us</title></rect>` +
      `<rect class="bar-ddr" x="${label}" y="${y + 9}" width="${
        scale(l.loadStoreCostUs).toFixed(2)
      }" height="6"><title>DDR ${l.loadStoreCostUs.toFixed(3)} us</title></rect></g>`;
  });
  return `<svg id="latency-chart" xmlns="http://www.w3.org/2000/svg" width="${
    label + width + 20
  }" height="${h}" ` +
    `viewBox="0 0 ${label + width + 20} ${h}" font-family="sans-serif" font-size="11">` +
    `<text x="${label}" y="14">compute (blue) and DDR load/store (orange) time per step, µs (max ${
      max.toFixed(2)
    })</text>` +
    rows.join("") + `</svg>`;
}

/**
 * The HTML report of an estimate: the summary (the JSON summary's keys and values) in
 * `table#summary`, every step in `table#layers` (name, op, merged layers, ops, compute, load/store,
 * bytes, latency), and the chart `svg#latency-chart`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { compileProgram, perfHtml, perfJson } from "@hqat/hbdk";
 * import type { Program } from "@hqat/program";
 * const s = (v: number) => Float32Array.of(v);
 * const m: Program = {
 *   name: "model", march: "bayes", opt: "O0", inputShape: [1, 2], output: 2,
 *   buffers: [
 *     { name: "q", shape: [1, 2], dtype: "qint8", scale: s(0.5) },
 *     { name: "r", shape: [1, 2], dtype: "qint8", scale: s(0.5) },
 *     { name: "d", shape: [1, 2], dtype: "float32", scale: s(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "move", name: "r", inputs: [0], output: 1, epilogue: [{ kind: "relu" }] },
 *     { op: "dequantize", name: "d", inputs: [1], output: 2, epilogue: [] },
 *   ],
 * };
 * const e = compileProgram(m, [{ shape: [1, 2] }], { opt: "O0", log: () => {} }).estimate;
 * const html = perfHtml(e, { name: "m", summary: perfJson(e, { name: "m", inputShape: [1, 2], layerDetails: false }).summary });
 * assert(html.includes('<table id="summary">') && html.includes('<svg id="latency-chart"'));
 * ```
 */
export function perfHtml(
  e: PerformanceEstimate,
  options: { readonly name: string; readonly summary: object },
): string {
  const summary = Object.entries(options.summary).map(([k, v]) =>
    `<tr><th>${escapeXml(k)}</th><td>${
      escapeXml(Array.isArray(v) ? v.map((r) => r.join(": ")).join("; ") : fmt(v))
    }</td></tr>`
  );
  const layers = e.layers.map((l) =>
    `<tr><td>${escapeXml(l.name)}</td><td>${escapeXml(l.op)}</td><td>${escapeXml(l.merged.join(", "))}</td>` +
    `<td>${l.ops}</td><td>${l.computeCostUs.toFixed(3)}</td><td>${l.loadStoreCostUs.toFixed(3)}</td>` +
    `<td>${l.loadBytes}</td><td>${l.storeBytes}</td><td>${l.latencyUs.toFixed(3)}</td></tr>`
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeXml(options.name)} — hqat performance estimate</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: 2px 8px; text-align: left; font-size: 13px; }
#layers td:nth-child(n+4) { text-align: right; }
.bar-compute { fill: #3572b0; }
.bar-ddr { fill: #e8833a; }
</style>
</head>
<body>
<h1>${escapeXml(options.name)}</h1>
<p>Estimated by hqat's analytic cost model (${
    escapeXml(e.march)
  }, ${e.opt}, input from ${e.inputSource}, ${e.framesPerRun} frame(s) per run).</p>
<h2>Summary</h2>
<table id="summary">
${summary.join("\n")}
</table>
<h2>Layer details</h2>
<table id="layers">
<tr><th>layer name</th><th>op</th><th>merged layers</th><th>ops</th><th>computing cost (no DDR) (us)</th><th>load/store cost (us)</th><th>loaded bytes</th><th>stored bytes</th><th>latency (us)</th></tr>
${layers.join("\n")}
</table>
<h2>Time per step</h2>
${chart(e)}
</body>
</html>
`;
}

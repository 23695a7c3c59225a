/**
 * The analysis report as one self-contained HTML page: a summary, SVG charts (sensitivity bars and
 * per-layer similarity curves) and the tables behind them.
 * @module
 */
import type { AnalysisReport } from "./analysis_report.ts";

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

function num(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? "inf" : "-inf";
}

/** Horizontal bars: (1 − cosine) with only the node quantized, and the cosine gained at int16. */
function sensitivitySvg(r: AnalysisReport): string {
  const rows = r.sensitivity, base = r.output.cosine;
  const loss = rows.map((s) => Math.max(0, 1 - s.only.cosine));
  const gain = rows.map((s) => (s.int16 ? Math.max(0, s.int16.cosine - base) : 0));
  const maxLoss = Math.max(...loss, 1e-12), maxGain = Math.max(...gain, 1e-12);
  const label = 220, width = 300, row = 16, h = rows.length * row + 30;
  const bars = rows.map((s, i) => {
    const y = 24 + i * row;
    return `<text x="${label - 6}" y="${y + 11}" text-anchor="end">${esc(s.node)}</text>` +
      `<rect class="bar-only" x="${label}" y="${y + 1}" width="${
        ((loss[i] / maxLoss) * width).toFixed(1)
      }" height="6"><title>1 − cosine ${loss[i].toExponential(2)}</title></rect>` +
      `<rect class="bar-int16" x="${label}" y="${y + 8}" width="${
        ((gain[i] / maxGain) * width).toFixed(1)
      }" height="6"><title>int16 gain ${gain[i].toExponential(2)}</title></rect>`;
  });
  return `<svg id="sensitivity-chart" xmlns="http://www.w3.org/2000/svg" width="${
    label + width + 20
  }" height="${h}" font-size="11" font-family="sans-serif">` +
    `<text x="${label}" y="12">only this layer quantized: 1 − cosine (red); at int16: cosine gained (green)</text>` +
    bars.join("") + "</svg>";
}

/** Per-layer SQNR (dB) of fake-quantized and integer feature maps against float, as polylines. */
function similaritySvg(r: AnalysisReport): string {
  const ls = r.layers, w = 560, h = 220, pad = 36;
  const finite = ls.flatMap((l) => [l.sqnrFakeQuant, l.sqnrInt]).filter(Number.isFinite);
  const top = Math.max(10, ...finite), bottom = Math.min(0, ...finite);
  const x = (i: number) => pad + (ls.length <= 1 ? 0 : (i * (w - 2 * pad)) / (ls.length - 1));
  const y = (v: number) => h - pad - ((Math.min(v, top) - bottom) / (top - bottom || 1)) * (h - 2 * pad);
  const line = (cls: string, pick: (i: number) => number) =>
    `<polyline class="${cls}" fill="none" points="${
      ls.map((_, i) => `${x(i).toFixed(1)},${y(pick(i)).toFixed(1)}`).join(" ")
    }"/>`;
  return `<svg id="similarity-chart" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" ` +
    `font-size="11" font-family="sans-serif">` +
    `<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#888"/>` +
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#888"/>` +
    `<text x="${pad}" y="${pad - 8}">SQNR (dB) per layer: fake-quant (blue), integer (orange)</text>` +
    `<text x="4" y="${y(top) + 4}">${num(top, 0)}</text><text x="4" y="${y(bottom) + 4}">${
      num(bottom, 0)
    }</text>` +
    line("curve-fq", (i) => ls[i].sqnrFakeQuant) + line("curve-int", (i) => ls[i].sqnrInt) + "</svg>";
}

/**
 * The report as HTML (deterministic: the same report gives the same bytes).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { analysisHtml } from "@hqat/fx";
 * const html = analysisHtml({
 *   format: "hqat-analysis",
 *   output: { cosine: 0.99, sqnr: 20, maxAbs: 0.1, count: 10 },
 *   layers: [],
 *   sensitivity: [{ node: "conv<1>", only: { cosine: 0.98, sqnr: 17, maxAbs: 0.2, count: 10 } }],
 *   worst: [],
 * });
 * assert(html.includes("conv&lt;1&gt;") && html.includes('<svg id="sensitivity-chart"'));
 * ```
 */
export function analysisHtml(r: AnalysisReport): string {
  const o = r.output;
  const layerRows = r.layers.map((l) =>
    `<tr><td>${esc(l.name)}</td><td>${esc(l.op)}</td><td>${num(l.cosineFakeQuant, 6)}</td><td>${
      num(l.sqnrFakeQuant, 2)
    }</td><td>${num(l.cosineInt, 6)}</td><td>${num(l.sqnrInt, 2)}</td><td>${l.maxLsbDiff}</td></tr>`
  );
  const sensRows = r.sensitivity.map((s) =>
    `<tr><td>${esc(s.node)}</td><td>${num(s.only.cosine, 6)}</td><td>${num(s.only.sqnr, 2)}</td><td>${
      s.int16 ? num(s.int16.cosine, 6) : "—"
    }</td><td>${s.int16 ? num(s.int16.sqnr, 2) : "—"}</td></tr>`
  );
  const worstRows = r.worst.map((w) =>
    `<tr><td>${w.index}</td><td>${num(w.cosine, 6)}</td><td>${num(w.sqnr, 2)}</td><td>${
      num(w.maxAbs, 6)
    }</td></tr>`
  );
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>hqat quantization analysis</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.bar-only { fill: #d9534f; } .bar-int16 { fill: #5cb85c; }
.curve-fq { stroke: #337ab7; stroke-width: 1.5; } .curve-int { stroke: #f0ad4e; stroke-width: 1.5; }
</style></head><body>
<h1>Quantization analysis</h1>
<table id="summary"><tr><th>integer output vs float</th><th>value</th></tr>
<tr><td>cosine</td><td>${num(o.cosine, 6)}</td></tr>
<tr><td>SQNR (dB)</td><td>${num(o.sqnr, 2)}</td></tr>
<tr><td>max abs error</td><td>${num(o.maxAbs, 6)}</td></tr>
<tr><td>values compared</td><td>${o.count}</td></tr></table>
<h2>Sensitivity</h2>
${sensitivitySvg(r)}
<table id="sensitivity"><tr><th>node</th><th>cosine, only it quantized</th><th>SQNR</th><th>cosine, it at int16</th><th>SQNR</th></tr>
${sensRows.join("\n")}
</table>
<h2>Per-layer similarity</h2>
${similaritySvg(r)}
<table id="layers"><tr><th>node</th><th>op</th><th>cosine fake-quant</th><th>SQNR fake-quant</th><th>cosine integer</th><th>SQNR integer</th><th>max LSB (fq vs int)</th></tr>
${layerRows.join("\n")}
</table>
<h2>Worst inputs</h2>
<table id="worst"><tr><th>input</th><th>cosine</th><th>SQNR</th><th>max abs error</th></tr>
${worstRows.join("\n")}
</table>
</body></html>
`;
}

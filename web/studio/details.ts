/**
 * The layer panel: a layer's tensors (shapes, dtypes, scales), the BAYES limits that apply to it with
 * its measured values, and its step in the performance estimate.
 * @module
 */
import { GENERAL_LIMITS, type Limit, March, opTable } from "../hqat_browser.ts";
import { fmt, h } from "./dom.ts";
import { boxLines, INPUT_NODE } from "./graph_view.ts";
import type { StudioModel } from "./model.ts";

function scaleText(s: Float32Array): string {
  if (s.length === 1) return fmt(s[0], 6);
  let lo = Infinity, hi = -Infinity;
  for (const v of s) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return `${s.length} per channel, ${fmt(lo)} … ${fmt(hi)}`;
}

function table(caption: string, head: string[], rows: (string | Node)[][]): HTMLTableElement {
  return h(
    "table",
    {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))),
  );
}

function limitRows(model: StudioModel, name: string): (string | Node)[][] {
  const layer = model.layers.find((l) => l.name === name);
  if (!layer) return [];
  const entry = opTable(model.program.march as March)[layer.op];
  const broken = new Map(
    (model.check.nodes.find((n) => n.name === name)?.violations ?? []).map((v) => [v.limit, v]),
  );
  const rows: (string | Node)[][] = [];
  const verdict = (ok: boolean) => h("span", { class: ok ? "ok" : "bad" }, ok ? "✓ within" : "✗ exceeds");
  if (!entry) {
    rows.push(["operator", `${layer.op}: not in the ${model.program.march} table`, verdict(false)]);
    return rows;
  }
  const dtypes = layer.inputs.map((t) => t.dtype).join(", ");
  rows.push([
    "input dtypes",
    `${dtypes} (allowed: ${entry.inputDtypes.join(", ")})`,
    verdict(!broken.has(`${layer.op}.dtype`)),
  ]);
  const outs = entry.outputDtypes === "same-as-input" ? "same as input" : entry.outputDtypes.join(", ");
  rows.push([
    "output dtype",
    `${layer.output.dtype} (allowed: ${outs})`,
    verdict(!broken.has(`${layer.op}.dtype`)),
  ]);
  const all: readonly Limit[] = [...GENERAL_LIMITS, ...entry.limits];
  for (const limit of all) {
    const values = limit.measure(layer, { inputSource: model.inputSource });
    if (values === undefined || values.length === 0) continue;
    const shown = limit.format?.(values, layer) ??
      String(limit.kind === "min" ? Math.min(...values) : Math.max(...values));
    const v = broken.get(limit.id);
    rows.push([limit.rule, v ? v.actual : shown, verdict(!v)]);
  }
  for (const v of broken.values()) {
    if (!all.some((l) => l.id === v.limit)) rows.push([v.limit, v.message, verdict(false)]);
  }
  return rows;
}

/**
 * The panel's content for layer `name` of `model`.
 *
 * @example
 * ```ts ignore
 * panel.replaceChildren(layerDetails(model, "features.0.0"));
 * ```
 */
export function layerDetails(model: StudioModel, name: string): HTMLElement {
  const p = model.program;
  const lines = boxLines(p, name);
  const box = h("div", { class: "details" }, h("h2", {}, name), h("p", { class: "op" }, lines[1]));
  if (name === INPUT_NODE) {
    box.append(table("Tensor", ["", "shape", "dtype"], [["input", `[${p.inputShape}]`, "float32"]]));
    return box;
  }
  const instr = p.instructions.find((i) => i.name === name)!;
  const tensors = instr.inputs.map((b, i) => {
    const buf = p.buffers[b];
    return [`input ${i} (${buf.name})`, `[${buf.shape}]`, buf.dtype, scaleText(buf.scale)];
  });
  const out = p.buffers[instr.output];
  tensors.push(["output", `[${out.shape}]`, out.dtype, scaleText(out.scale)]);
  box.append(table("Tensors (batch 1)", ["", "shape", "dtype", "scale"], tensors));
  const limits = limitRows(model, name);
  if (limits.length) {
    box.append(table(`BAYES limits (${model.program.march})`, ["rule", "this layer", ""], limits));
  }
  const step = model.costOf.get(name);
  if (step) {
    const share = step.latencyUs / Math.max(1e-9, model.estimate.latencyUs);
    const rows: string[][] = [
      ["step", step.name === name ? `${step.op}` : `folded into ${step.name} (${step.op})`],
      [
        "latency",
        `${fmt(step.latencyUs)} µs (${(share * 100).toFixed(1)} % of ${fmt(model.estimate.latencyUs)} µs)`,
      ],
      ["compute", `${fmt(step.computeCostUs)} µs`],
      ["load / store", `${fmt(step.loadStoreCostUs)} µs`],
      [
        "loaded / stored",
        `${step.loadBytes.toLocaleString("en-US")} / ${step.storeBytes.toLocaleString("en-US")} bytes`,
      ],
      ["weights", `${step.weightBytes.toLocaleString("en-US")} bytes`],
      ["MACs", step.macs.toLocaleString("en-US")],
    ];
    box.append(table(`Cost (performance model, ${model.estimate.opt}, batch 1)`, ["", ""], rows));
  }
  return box;
}

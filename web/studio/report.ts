/**
 * The report panel: the performance estimate's summary (HBDK's keys, from `perfJson`), the target
 * check's verdict, and every step's cost, slowest first, each row selecting its layer in the graph.
 * @module
 */
import { perfHtml, perfJson } from "../hqat_browser.ts";
import { fmt, h } from "./dom.ts";
import type { StudioModel } from "./model.ts";

/**
 * The panel's content for `model`; `select` is called with a layer name when a row is chosen.
 *
 * @example
 * ```ts ignore
 * panel.replaceChildren(reportPanel(model, (name) => graph.select(name)));
 * ```
 */
export function reportPanel(model: StudioModel, select: (name: string) => void): HTMLElement {
  const e = model.estimate;
  const name = model.program.name || "model";
  const json = perfJson(e, { name, inputShape: model.compiled.inputShape, layerDetails: false });
  const box = h("div", { class: "report" });
  box.append(h("h2", {}, `${name}: ${model.kind}`));
  const verdict = model.check.supported
    ? h(
      "p",
      { class: "ok", id: "check-verdict" },
      `HBDK model check PASS: every layer is within the ${model.program.march} limits`,
    )
    : h(
      "div",
      { id: "check-verdict" },
      h("p", { class: "bad" }, `HBDK model check FAIL: ${model.check.violations.length} violations`),
      h("ul", {}, model.check.violations.map((v) => h("li", {}, v.message))),
    );
  box.append(verdict);
  const keys = [
    "compiling options",
    "FPS",
    "latency (us)",
    "DDR bytes per frame",
    "loaded bytes per frame",
    "stored bytes per frame",
    "BPU OPs per frame (effective)",
  ] as const;
  box.append(h(
    "table",
    { id: "perf-summary" },
    h("caption", {}, `Performance estimate (${e.opt}, ${model.inputSource} input, batch ${e.framesPerRun})`),
    h(
      "tbody",
      {},
      keys.map((k) =>
        h("tr", {}, h("th", { scope: "row" }, k), h("td", { class: "num" }, String(json.summary[k])))
      ),
    ),
  ));
  const html = perfHtml(e, { name, summary: json.summary });
  box.append(h(
    "p",
    {},
    h("a", {
      href: URL.createObjectURL(new Blob([html], { type: "text/html" })),
      download: `${name}.html`,
    }, "Download the HTML report"),
  ));
  const slowest = [...e.layers].sort((a, b) => b.latencyUs - a.latencyUs);
  const top = Math.max(1e-9, slowest[0]?.latencyUs ?? 1);
  box.append(h(
    "table",
    { id: "cost-table" },
    h("caption", {}, "Cost per step (slowest first; choose a row to show the layer)"),
    h("thead", {}, h("tr", {}, ["step", "op", "latency µs", ""].map((c) => h("th", { scope: "col" }, c)))),
    h(
      "tbody",
      {},
      slowest.map((s) => {
        const row = h(
          "tr",
          { tabindex: 0, class: "pick", "data-name": s.name },
          h("td", {}, s.name),
          h("td", {}, s.op),
          h("td", { class: "num" }, fmt(s.latencyUs)),
          h(
            "td",
            { class: "bar-cell" },
            h("span", { class: "bar", style: `width:${(100 * s.latencyUs / top).toFixed(1)}%` }),
          ),
        );
        const go = () => select(s.name);
        row.addEventListener("click", go);
        row.addEventListener("keydown", (ev) => {
          if (ev.key === "Enter" || ev.key === " ") {
            ev.preventDefault();
            go();
          }
        });
        return row;
      }),
    ),
  ));
  return box;
}

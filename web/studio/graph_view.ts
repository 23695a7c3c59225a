/**
 * The interactive graph: the program drawn as `visualizeModel` draws it (one box per instruction, laid
 * out by `layoutGraph`), in an SVG the user pans (drag, arrow keys), zooms (wheel, + / −, 0 to fit),
 * searches (the names containing the text light up; Enter steps through them) and selects from (click,
 * or Tab to a box and Enter; ↑ / ↓ go to the box's producer / consumer, ← / → to the previous / next
 * box in drawing order). The boxes are one stop of the Tab order: the last box focused or selected
 * holds it, so Tab leaves the graph in one step.
 * @module
 */
import { instrDef, instrReads, type LayoutBox, layoutGraph, type Program } from "../hqat_browser.ts";

const SVG = "http://www.w3.org/2000/svg";
const LINE = 16, PAD = 8, CHAR = 7.3;
/** The box that stands for the model input. */
export const INPUT_NODE = "(input)";

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** A box's text lines: name, op (the instruction table's label and its fused stages), shape and dtype, scale. */
export function boxLines(program: Program, name: string): string[] {
  if (name === INPUT_NODE) return [name, "model input", `[${program.inputShape.join(", ")}] float32`];
  const instr = program.instructions.find((i) => i.name === name)!;
  const out = program.buffers[instr.output];
  const label = instrDef(instr).label(instr, { ins: instr.inputs.map((b) => program.buffers[b]), out });
  const fused = instr.epilogue.flatMap((s) =>
    s.kind === "add" ? ["+add"] : s.kind === "requant" && s.act !== "none" ? [`+${s.act}`] : []
  );
  const scale = out.scale.length === 1
    ? `scale ${Number(out.scale[0].toPrecision(5))}`
    : `scale ×${out.scale.length}`;
  return [name, [label, ...fused].join(" "), `[${out.shape.join(", ")}] ${out.dtype}`, scale];
}

/** The graph view (see the module description). */
export class GraphView {
  readonly #svg: SVGSVGElement;
  readonly #viewport: SVGGElement;
  readonly #nodes = new Map<string, SVGGElement>();
  readonly #boxes = new Map<string, LayoutBox>();
  readonly #up = new Map<string, string[]>();
  readonly #down = new Map<string, string[]>();
  #order: string[] = [];
  #view = { x: 0, y: 0, k: 1 };
  #matches: string[] = [];
  #matchAt = -1;
  #selected: string | undefined;
  /** The box that is the graph's one stop in the Tab order. */
  #tabStop: string | undefined;

  /** Draws `program` into `host` (emptied first); `onSelect` hears every selection. */
  constructor(
    readonly host: HTMLElement,
    readonly program: Program,
    readonly onSelect: (name: string) => void,
  ) {
    host.replaceChildren();
    this.#svg = svg("svg", { class: "graph", role: "group", "aria-label": "model graph" });
    this.#viewport = svg("g", { class: "viewport" });
    this.#svg.append(this.#defs(), this.#viewport);
    host.append(this.#svg);
    this.#draw();
    this.#bindPanZoom();
    requestAnimationFrame(() => this.fit());
  }

  #defs(): SVGDefsElement {
    const defs = svg("defs", {});
    const marker = svg("marker", {
      id: "arrow",
      viewBox: "0 0 10 10",
      refX: 10,
      refY: 5,
      markerWidth: 6,
      markerHeight: 6,
      orient: "auto",
    });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
    defs.append(marker);
    return defs;
  }

  #draw(): void {
    const p = this.program;
    const writer = new Map<number, string>();
    const names = [INPUT_NODE, ...p.instructions.map((i) => i.name)];
    const edges: { from: string; to: string }[] = [];
    for (const instr of p.instructions) {
      const reads = instrReads(instr);
      for (const from of reads.length === 0 ? [INPUT_NODE] : reads.map((b) => writer.get(b) ?? INPUT_NODE)) {
        edges.push({ from, to: instr.name });
        this.#down.set(from, [...(this.#down.get(from) ?? []), instr.name]);
        this.#up.set(instr.name, [...(this.#up.get(instr.name) ?? []), from]);
      }
      writer.set(instr.output, instr.name);
    }
    const lines = new Map(names.map((n) => [n, boxLines(p, n)]));
    const layout = layoutGraph(
      names.map((id) => {
        const l = lines.get(id)!;
        return {
          id,
          width: Math.max(150, Math.ceil(Math.max(...l.map((s) => s.length)) * CHAR) + 2 * PAD),
          height: l.length * LINE + 2 * PAD,
        };
      }),
      edges,
    );
    for (const e of layout.edges) {
      this.#viewport.append(svg("polyline", {
        class: "edge",
        points: e.points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "),
        "marker-end": "url(#arrow)",
      }));
    }
    const sorted = [...layout.boxes].sort((a, b) => a.layer - b.layer || a.order - b.order);
    for (const b of sorted) {
      this.#boxes.set(b.id, b);
      const l = lines.get(b.id)!;
      const g = svg("g", {
        class: "node",
        tabindex: -1,
        role: "button",
        "data-name": b.id,
        "aria-label": l.join(", "),
      });
      g.append(svg("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 4 }));
      l.forEach((text, i) => {
        const t = svg("text", {
          x: b.x + PAD,
          y: b.y + PAD + (i + 1) * LINE - 4,
          class: i === 0 ? "title" : "",
        });
        t.textContent = text;
        g.append(t);
      });
      g.addEventListener("click", () => this.select(b.id));
      g.addEventListener("keydown", (e) => this.#nodeKey(e, b.id));
      g.addEventListener("focus", () => this.#setTabStop(b.id));
      this.#viewport.append(g);
      this.#nodes.set(b.id, g);
    }
    this.#order = sorted.map((b) => b.id);
    this.#setTabStop(this.#order[0]);
  }

  #setTabStop(id: string): void {
    if (this.#tabStop === id) return;
    if (this.#tabStop) this.#nodes.get(this.#tabStop)?.setAttribute("tabindex", "-1");
    this.#tabStop = id;
    this.#nodes.get(id)?.setAttribute("tabindex", "0");
  }

  #nodeKey(e: KeyboardEvent, id: string): void {
    const go = (next: string | undefined) => {
      if (!next) return;
      e.preventDefault();
      this.#nodes.get(next)!.focus({ preventScroll: true });
      this.center(next);
    };
    const at = this.#order.indexOf(id);
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      this.select(id);
    } else if (e.key === "ArrowDown") go(this.#down.get(id)?.[0]);
    else if (e.key === "ArrowUp") go(this.#up.get(id)?.[0]);
    else if (e.key === "ArrowRight") go(this.#order[at + 1]);
    else if (e.key === "ArrowLeft") go(this.#order[at - 1]);
  }

  #apply(): void {
    const { x, y, k } = this.#view;
    this.#viewport.setAttribute(
      "transform",
      `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(4)})`,
    );
  }

  #bindPanZoom(): void {
    let drag: { x: number; y: number; vx: number; vy: number } | undefined;
    this.#svg.addEventListener("pointerdown", (e) => {
      if ((e.target as Element).closest(".node")) return;
      drag = { x: e.clientX, y: e.clientY, vx: this.#view.x, vy: this.#view.y };
      this.#svg.setPointerCapture(e.pointerId);
    });
    this.#svg.addEventListener("pointermove", (e) => {
      if (!drag) return;
      this.#view.x = drag.vx + e.clientX - drag.x;
      this.#view.y = drag.vy + e.clientY - drag.y;
      this.#apply();
    });
    this.#svg.addEventListener("pointerup", () => (drag = undefined));
    this.#svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = this.#svg.getBoundingClientRect();
      this.zoom(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    this.host.addEventListener("keydown", (e) => {
      if ((e.target as Element).closest?.("input")) return;
      const step = 60;
      if (e.key === "+" || e.key === "=") this.zoom(1.25);
      else if (e.key === "-") this.zoom(0.8);
      else if (e.key === "0") this.fit();
      else if (!(e.target as Element).closest(".node") && e.key.startsWith("Arrow")) {
        this.#view.x += e.key === "ArrowLeft" ? step : e.key === "ArrowRight" ? -step : 0;
        this.#view.y += e.key === "ArrowUp" ? step : e.key === "ArrowDown" ? -step : 0;
        this.#apply();
      } else return;
      e.preventDefault();
    });
  }

  /** Zooms by `factor` about a point of the view (default its centre). */
  zoom(factor: number, cx?: number, cy?: number): void {
    const r = this.#svg.getBoundingClientRect();
    const px = cx ?? r.width / 2, py = cy ?? r.height / 2;
    const k = Math.min(4, Math.max(0.05, this.#view.k * factor));
    const f = k / this.#view.k;
    this.#view = { x: px - (px - this.#view.x) * f, y: py - (py - this.#view.y) * f, k };
    this.#apply();
  }

  /** Fits the whole drawing's width (at most 1:1) and shows its top. */
  fit(): void {
    const r = this.#svg.getBoundingClientRect();
    const bb = this.#viewport.getBBox();
    const k = Math.min(1, (r.width - 20) / Math.max(1, bb.width));
    this.#view = { x: (r.width - bb.width * k) / 2 - bb.x * k, y: 10 - bb.y * k, k };
    this.#apply();
  }

  /** Moves the view so that box `id` is in the middle. */
  center(id: string): void {
    const b = this.#boxes.get(id);
    if (!b) return;
    const r = this.#svg.getBoundingClientRect();
    const k = Math.max(this.#view.k, 0.6);
    this.#view = { x: r.width / 2 - (b.x + b.width / 2) * k, y: r.height / 2 - (b.y + b.height / 2) * k, k };
    this.#apply();
  }

  /**
   * Selects box `id`: highlights it, centres it, makes it the graph's Tab stop and tells `onSelect`;
   * with `focus`, the keyboard focus moves to it too (a choice made from a table elsewhere).
   */
  select(id: string, options: { readonly focus?: boolean } = {}): void {
    if (!this.#nodes.has(id)) return;
    if (this.#selected) {
      const old = this.#nodes.get(this.#selected);
      old?.classList.remove("selected");
      old?.removeAttribute("aria-pressed");
    }
    this.#selected = id;
    const g = this.#nodes.get(id)!;
    g.classList.add("selected");
    g.setAttribute("aria-pressed", "true");
    this.#setTabStop(id);
    this.center(id);
    this.onSelect(id);
    if (options.focus) g.focus({ preventScroll: true });
  }

  /** Lights up the boxes whose name contains `text` (case-insensitive); returns how many. */
  search(text: string): number {
    const q = text.trim().toLowerCase();
    this.#matches = [];
    this.#matchAt = -1;
    for (const [id, g] of this.#nodes) {
      const hit = q !== "" && id.toLowerCase().includes(q);
      g.classList.toggle("match", hit);
      if (hit) this.#matches.push(id);
    }
    return this.#matches.length;
  }

  /** Selects the next search match; returns its name. */
  nextMatch(): string | undefined {
    if (this.#matches.length === 0) return undefined;
    this.#matchAt = (this.#matchAt + 1) % this.#matches.length;
    const id = this.#matches[this.#matchAt];
    this.select(id);
    return id;
  }
}

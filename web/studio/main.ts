/**
 * hqat studio: open a model, see its graph, run it on images or a `.npy`, compare float and integer.
 * Every error is shown in the page (the alert line under the header), never left to the console.
 * @module
 */
import type { QTensor } from "../hqat_browser.ts";
import { compareLayers } from "./compare.ts";
import { floatFromOnnx, floatFromSafetensors } from "./compare.ts";
import { layerDetails } from "./details.ts";
import { byId, fmt, h } from "./dom.ts";
import { fileKind, imageBatch, type InputBatch, npyBatch, PREPROCESS, type Preprocess } from "./files.ts";
import { GraphView } from "./graph_view.ts";
import { openOnnx, openProgram, type StudioModel } from "./model.ts";
import { reportPanel } from "./report.ts";
import { availableBackends, type Backend, runProgram, type RunResult, softmaxRows } from "./run.ts";

const LABELS: Record<string, readonly string[]> = {
  "Fashion-MNIST": [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
  ],
  "CIFAR-10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
};

let model: StudioModel | undefined;
let graph: GraphView | undefined;
let batch: InputBatch | undefined;
let labels = "Fashion-MNIST";

const status = (text: string) => (byId("status").textContent = text);
function showError(e: unknown): void {
  const el = byId("error");
  el.textContent = e instanceof Error ? e.message : String(e);
  el.hidden = false;
}
async function busy<T>(what: string, fn: () => Promise<T> | T): Promise<T | undefined> {
  document.body.dataset.busy = "true";
  byId("error").hidden = true;
  status(`${what}…`);
  // Let the page paint the status before the work blocks the thread.
  await new Promise((r) => setTimeout(r, 30));
  try {
    return await fn();
  } catch (e) {
    showError(e);
    status(`${what}: failed`);
    return undefined;
  } finally {
    document.body.dataset.busy = "false";
  }
}

function showTab(id: string): void {
  for (const tab of document.querySelectorAll<HTMLElement>('[role="tab"]')) {
    const on = tab.id === `tab-${id}`;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    byId(tab.getAttribute("aria-controls")!).hidden = !on;
  }
}

function selectLayer(name: string): void {
  if (!model) return;
  byId("panel-layer").replaceChildren(layerDetails(model, name));
  showTab("layer");
}

function showModel(m: StudioModel): void {
  model = m;
  graph = new GraphView(byId("graph"), m.program, selectLayer);
  byId("panel-report").replaceChildren(reportPanel(m, (name) => graph!.select(name, { focus: true })));
  byId("panel-layer").replaceChildren(h("p", { class: "empty" }, "Choose a layer in the graph."));
  byId("compare-output").replaceChildren();
  for (const id of ["search", "zoom-in", "zoom-out", "zoom-fit", "run", "compare", "backend"]) {
    (byId(id) as HTMLButtonElement).disabled = false;
  }
  const e = m.estimate;
  status(
    `${m.fileName}: ${m.program.instructions.length} instructions, input [${m.program.inputShape}]; ` +
      `estimate ${fmt(e.fps)} FPS, ${fmt(e.latencyUs)} µs per frame`,
  );
}

function rawTable(raw: QTensor): HTMLTableElement {
  const n = raw.shape[0], per = raw.data.length / n;
  return h(
    "table",
    { id: "raw-table" },
    h("caption", {}, `Raw integer output (${raw.dtype}, before the DeQuantStub)`),
    h(
      "tbody",
      {},
      Array.from({ length: n }, (_, i) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, `#${i}`),
          h(
            "td",
            { class: "raw" },
            Array.from(raw.data.subarray(i * per, (i + 1) * per) as Int32Array).join(" "),
          ),
        )),
    ),
  );
}

function showRun(r: RunResult, b: InputBatch): void {
  const classes = r.shape.at(-1) ?? 1;
  const names = classes === 10 ? LABELS[labels] : undefined;
  const probs = r.shape.length === 2 ? softmaxRows(r.output, classes) : [];
  const select = h(
    "select",
    { id: "labels" },
    Object.keys(LABELS).map((k) => h("option", { value: k, selected: k === labels }, k)),
  );
  select.addEventListener("change", () => {
    labels = select.value;
    showRun(r, b);
  });
  const scores = probs.map((p, i) => {
    const top = [...p.keys()].sort((a, c) => p[c] - p[a]).slice(0, 3);
    return [
      b.thumbnails[i] ? h("img", { src: b.thumbnails[i], alt: `input ${i}` }) : h("span", {}, `#${i}`),
      h(
        "div",
        {},
        top.map((c) =>
          h(
            "div",
            { class: "score" },
            h("span", {}, names ? names[c] : `class ${c}`),
            h("span", {
              class: "bar",
              style: `width:${(100 * p[c]).toFixed(1)}%`,
              role: "img",
              "aria-label": `${(100 * p[c]).toFixed(1)} %`,
            }),
            h("span", { class: "num" }, `${(100 * p[c]).toFixed(1)} %`),
          )
        ),
      ),
    ];
  });
  const raw = r.raw;
  const npy = h("a", {
    href: URL.createObjectURL(
      new Blob([
        JSON.stringify({ dtype: raw.dtype, shape: raw.shape, data: Array.from(raw.data as Int32Array) }),
      ], { type: "application/json" }),
    ),
    download: "raw_output.json",
  }, "Download the raw integers (JSON)");
  byId("run-output").replaceChildren(
    h(
      "p",
      { id: "run-summary", "data-backend": r.backend },
      `${b.source}: batch ${b.shape[0]} on ${
        r.backend === "webgpu" ? "WebGPU" : "the CPU (WebAssembly)"
      } in ${r.ms.toFixed(0)} ms`,
    ),
    names ? h("p", {}, h("label", { for: "labels" }, "Class names "), select) : "",
    h("div", { class: "scores", id: "scores" }, scores.flat()),
    rawTable(raw),
    npy,
  );
}

async function run(): Promise<void> {
  if (!model || !batch) return;
  const m = model, b = batch;
  const backend = (byId("backend") as HTMLSelectElement).value as Backend;
  const r = await busy(`Running ${b.source} on ${backend}`, () => runProgram(m.program, b, backend));
  if (!r) return;
  showRun(r, b);
  showTab("run");
  status(`Ran ${b.source} (batch ${b.shape[0]}) on ${backend} in ${r.ms.toFixed(0)} ms`);
}

function compare(): void {
  const m = model, b = batch;
  if (!m) return;
  if (!b) {
    showError("Open images or a .npy batch first: the comparison runs on the current input");
    return;
  }
  busy("Comparing layer by layer", () => {
    const c = compareLayers(m, b);
    const out = byId("compare-output");
    if (c.kind === "int") {
      out.replaceChildren(
        h(
          "p",
          {},
          "No float reference: open the float ONNX or a safetensors checkpoint to compare. Integer range and saturation per layer:",
        ),
        h(
          "table",
          { id: "compare-table" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["layer", "dtype", "min", "max", "saturated"].map((t) => h("th", { scope: "col" }, t)),
            ),
          ),
          h(
            "tbody",
            {},
            c.rows.map((r) =>
              h(
                "tr",
                { class: "pick", tabindex: 0, "data-name": r.name },
                h("td", {}, r.name),
                h("td", {}, r.dtype),
                h("td", { class: "num" }, r.min),
                h("td", { class: "num" }, r.max),
                h("td", { class: "num" }, `${(100 * r.saturated).toFixed(2)} %`),
              )
            ),
          ),
        ),
      );
    } else {
      const cols = c.calibrated
        ? ["layer", "cos", "SQNR dB", "cos fq", "max LSB (fq)"]
        : ["layer", "cos", "SQNR dB", "max LSB"];
      out.replaceChildren(
        h(
          "p",
          {},
          `Float reference: ${c.source}. cos and SQNR: the integer output (dequantized) against float${
            c.calibrated ? "; fq: the fake-quantized model" : "; LSB: |float / scale − integer|"
          }.`,
        ),
        h(
          "table",
          { id: "compare-table" },
          h("thead", {}, h("tr", {}, cols.map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            c.rows.map((r) =>
              h(
                "tr",
                { class: "pick", tabindex: 0, "data-name": r.name },
                h("td", {}, r.name),
                h("td", { class: "num" }, r.cosineInt.toFixed(4)),
                h("td", { class: "num" }, fmt(r.sqnrInt, 3)),
                c.calibrated ? h("td", { class: "num" }, r.cosineFakeQuant.toFixed(4)) : null,
                h("td", { class: "num" }, r.maxLsbDiff),
              )
            ),
          ),
        ),
      );
    }
    for (const row of out.querySelectorAll<HTMLElement>("tr.pick")) {
      const go = () => graph?.select(row.dataset.name!, { focus: true });
      row.addEventListener("click", go);
      row.addEventListener("keydown", (e) => (e.key === "Enter" ? go() : undefined));
    }
    status(`Compared ${c.rows.length} layers`);
  });
}

async function openFiles(files: readonly File[]): Promise<void> {
  const items = await Promise.all(files.map(async (f) => {
    const bytes = new Uint8Array(await f.arrayBuffer());
    return { file: f, bytes, kind: fileKind(f.name, f.type, bytes) };
  }));
  const unknown = items.filter((i) => !i.kind);
  if (unknown.length) showError(`Not a file the studio reads: ${unknown.map((i) => i.file.name).join(", ")}`);
  let inputs = false;
  for (const it of items) {
    const { file, bytes } = it;
    if (it.kind === "program") {
      const m = await busy(`Opening ${file.name}`, () => openProgram(bytes, file.name));
      if (m) showModel(m);
    } else if (it.kind === "onnx") {
      const ref = model &&
        await busy(`Reading ${file.name}`, () => floatFromOnnx(bytes, file.name, model!.program));
      if (model && ref) {
        model.float = ref;
        status(`Float reference: ${ref.source}`);
      } else {
        const m = await busy(
          `Calibrating and converting ${file.name}`,
          () => openOnnx(bytes, file.name, batch),
        );
        if (m) showModel(m);
      }
    } else if (it.kind === "safetensors") {
      if (!model) showError(`${file.name}: open the int model first; a checkpoint is its float reference`);
      else {
        const ref = await busy(
          `Reading ${file.name}`,
          () => floatFromSafetensors(bytes, file.name, model!.program),
        );
        if (ref) {
          model.float = ref;
          status(`Float reference: ${ref.source}`);
        }
      }
    } else if (it.kind === "npy") {
      if (!model) showError(`${file.name}: open a model first; the batch must fit its input`);
      else {
        const b = await busy(
          `Reading ${file.name}`,
          () => npyBatch(bytes, file.name, model!.program.inputShape),
        );
        if (b) [batch, inputs] = [b, true];
      }
    }
  }
  const images = items.filter((i) => i.kind === "image").map((i) => i.file);
  if (images.length) {
    if (!model) showError("Open a model first: the images are scaled to its input");
    else {
      const pre = (byId("preprocess") as HTMLSelectElement).value as Preprocess;
      const b = await busy(
        `Reading ${images.length} images`,
        () => imageBatch(images, model!.program.inputShape, pre),
      );
      if (b) [batch, inputs] = [b, true];
    }
  }
  if (inputs) await run();
}

function bindTabs(): void {
  const tabs = [...document.querySelectorAll<HTMLElement>('[role="tab"]')];
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => showTab(tab.id.slice(4)));
    tab.addEventListener("keydown", (e) => {
      const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!d) return;
      const next = tabs[(i + d + tabs.length) % tabs.length];
      showTab(next.id.slice(4));
      next.focus();
    });
  });
}

async function start(): Promise<void> {
  bindTabs();
  const pre = byId("preprocess") as HTMLSelectElement;
  for (const [k, v] of Object.entries(PREPROCESS)) pre.append(h("option", { value: k }, v));
  const input = byId("open-file") as HTMLInputElement;
  input.addEventListener("change", () => {
    openFiles([...input.files ?? []]).then(() => (input.value = ""));
  });
  addEventListener("dragover", (e) => {
    e.preventDefault();
    document.body.classList.add("dragging");
  });
  addEventListener("dragleave", () => document.body.classList.remove("dragging"));
  addEventListener("drop", (e) => {
    e.preventDefault();
    document.body.classList.remove("dragging");
    openFiles([...e.dataTransfer?.files ?? []]);
  });
  byId("run").addEventListener("click", () => run());
  byId("compare").addEventListener("click", compare);
  const search = byId("search") as HTMLInputElement;
  search.addEventListener("input", () => {
    const n = graph?.search(search.value) ?? 0;
    byId("search-count").textContent = search.value ? `${n} found` : "";
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") graph?.nextMatch();
  });
  byId("zoom-in").addEventListener("click", () => graph?.zoom(1.25));
  byId("zoom-out").addEventListener("click", () => graph?.zoom(0.8));
  byId("zoom-fit").addEventListener("click", () => graph?.fit());
  const backends = await availableBackends();
  const sel = byId("backend") as HTMLSelectElement;
  sel.replaceChildren(...backends.map((b) => h("option", { value: b.id }, b.label)));
  document.body.dataset.ready = "true";
  document.body.dataset.backends = backends.map((b) => b.id).join(",");
}

start().catch(showError);

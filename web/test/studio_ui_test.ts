/**
 * The studio page as a user meets it, in headless Chromium at 1280×720: an ONNX network opened from
 * disk is calibrated and converted in the page into the program Deno makes of it, a `.npy` dropped on
 * the page runs on every backend with the same integers, and float and integer are compared layer by
 * layer; the graph pans, zooms, searches and selects with the mouse and with the keyboard alone; every
 * state passes the readability checks; no console error. Screenshots go to `out/studio_test/`.
 * @module
 */
import { assert, assertEquals, assertGreater, assertNotEquals } from "@std/assert";
import { parseNpy } from "@hqat/io";
import { runIntModel } from "../hqat_browser.ts";
import { openOnnx } from "../studio/model.ts";
import type { Browser } from "./cdp.ts";
import { type FocusInfo, focusInfo, readabilityIssues } from "./page_checks.ts";
import {
  buildOnce,
  centerOf,
  CHROMIUM,
  graphView,
  idle,
  openStudio,
  quickStartFiles,
  runEach,
  screenshot,
  withPage,
} from "./studio_fixture.ts";

const ONNX = new URL("../../packages/onnx/testdata/resnet_block.onnx", import.meta.url).pathname;
const ONNX_INPUT = new URL("../../packages/onnx/testdata/resnet_block.input.npy", import.meta.url).pathname;

async function readable(b: Browser, state: string, minGraphPx = 10): Promise<void> {
  const issues = await b.eval<string[]>(`(${readabilityIssues})(${minGraphPx})`);
  assertEquals(issues, [], `readability at 1280×720 (${state})`);
}

const focused = (b: Browser) => b.eval<FocusInfo>(`(${focusInfo})()`);

/** Presses Tab (Shift+Tab with `back`) and returns the new focus, checking the user can see it. */
async function tab(b: Browser, back = false): Promise<string> {
  const from = (await focused(b)).what;
  await b.key("Tab", "Tab", 9, back ? 8 : 0);
  const f = await focused(b);
  assert(f.shown, `a visible focus indicator on ${f.what} (${back ? "Shift+" : ""}Tab from ${from})`);
  assert(f.inWindow, `${f.what} is inside the window`);
  return f.what;
}

const layerShown = (b: Browser) =>
  b.eval<string>(`document.querySelector("#panel-layer h2")?.textContent ?? ""`);

Deno.test({
  name: "hqat studio converts an ONNX file in the page, runs a dropped .npy and compares float with integer",
  ignore: CHROMIUM === undefined,
  async fn() {
    const { dir } = await buildOnce();
    const bytes = await Deno.readFile(ONNX);
    const x = parseNpy(await Deno.readFile(ONNX_INPUT));
    // The page calibrates on the same two random batches as Deno does: the same program, the same integers.
    const program = openOnnx(bytes, "resnet_block.onnx").program;
    const expect = Array.from(runIntModel(program, x.data as Float32Array, x.shape).raw.data as Int32Array);
    await withPage(dir, async (b, url) => {
      const backends = await openStudio(b, url);
      await b.setFiles("#open-file", [ONNX]);
      await b.waitFor(
        `document.getElementById("status").textContent.startsWith("resnet_block.onnx:")`,
        60_000,
      );
      await idle(b);
      assertEquals(
        await b.eval<number>(`document.querySelectorAll("#graph .node").length`),
        program.instructions.length + 1,
      );
      await readable(b, "ONNX graph");
      await screenshot(b, "onnx_graph.png");

      await b.dropFiles(400, 400, [ONNX_INPUT]);
      await b.waitFor(`document.getElementById("raw-table")`, 60_000);
      await idle(b);
      assertEquals(
        await b.eval<number>(`document.querySelectorAll("#scores .score").length`),
        3 * x.shape[0],
      );
      for (const [backend, raw] of await runEach(b, backends)) {
        assertEquals(raw, expect, `resnet_block.onnx converted in the page on ${backend} = in Deno`);
      }
      await readable(b, "run panel");

      await b.eval(
        `document.getElementById("tab-compare").click(); document.getElementById("compare").click()`,
      );
      await b.waitFor(`document.getElementById("compare-table")`, 60_000);
      await idle(b);
      const rows = await b.eval<[string, number, number][]>(
        `[...document.querySelectorAll("#compare-table tbody tr")].map((r) =>
          [r.cells[0].textContent, Number(r.cells[1].textContent), Number(r.cells[4].textContent)])`,
      );
      const layers = program.instructions.filter((i) => i.op !== "dequantize");
      assertEquals(rows.map(([name]) => name), layers.map((i) => program.buffers[i.output].name));
      assert(rows.every(([, cos]) => cos > 0.9), `float against integer: ${rows}`);
      assert(
        rows.every(([, , lsb]) => lsb <= 1),
        "the integers are the fake-quantized network's within one LSB",
      );
      await readable(b, "compare panel");
      await screenshot(b, "compare.png");
      // A compared row shows its layer in the graph and moves the focus there.
      await b.eval(`document.querySelector("#compare-table tbody tr:nth-child(3)").focus()`);
      await b.key("Enter");
      assertEquals(await layerShown(b), rows[2][0]);
      assertEquals((await focused(b)).what, `node:${rows[2][0]}`);
    });
  },
});

Deno.test({
  name: "hqat studio pans, zooms, searches and selects with the mouse and with the keyboard alone",
  ignore: CHROMIUM === undefined,
  async fn() {
    const { dir } = await buildOnce();
    const q = await quickStartFiles();
    await withPage(dir, async (b, url) => {
      await openStudio(b, url);
      await readable(b, "empty page");
      await b.setFiles("#open-file", [q.intModel]);
      await b.waitFor(`document.querySelectorAll("#graph .node").length > 10`);
      await idle(b);
      await readable(b, "int model graph");

      // The mouse: drag the background to pan, turn the wheel to zoom, click a box to show its layer.
      const spot = await b.eval<{ x: number; y: number }>(`(() => {
        const r = document.querySelector("#graph svg").getBoundingClientRect();
        for (let y = r.top + 20; y < r.bottom - 20; y += 10) {
          for (let x = r.left + 10; x < r.right - 10; x += 10) {
            if (document.elementFromPoint(x, y)?.tagName === "svg") return { x, y };
          }
        }
      })()`);
      const before = await graphView(b);
      await b.drag(spot.x, spot.y, spot.x + 100, spot.y - 60);
      const panned = await graphView(b);
      assertEquals([Math.round(panned.x - before.x), Math.round(panned.y - before.y)], [100, -60]);
      await b.wheel(400, 400, -300);
      assertGreater((await graphView(b)).k, panned.k, "the wheel zooms in");
      await b.eval(`document.getElementById("zoom-fit").click()`);
      const box = await centerOf(b, `#graph .node[data-name="features.0.0"]`);
      await b.click(box.x, box.y);
      assertEquals(await layerShown(b), "features.0.0");
      const panel = await b.eval<string>(`document.getElementById("panel-layer").textContent`);
      for (
        const part of [
          "Tensors",
          "shape",
          "dtype",
          "qint8",
          "scale",
          "BAYES limits",
          "within",
          "Cost (performance model",
          "latency",
          "MACs",
        ]
      ) {
        assert(panel.includes(part), `the layer panel shows ${part}: ${panel.slice(0, 400)}`);
      }
      await readable(b, "layer panel");
      await screenshot(b, "layer.png");

      // The keyboard alone: Tab from the top reaches every control in order, each with a visible focus.
      await b.eval(`document.getElementById("open-file").focus()`);
      const stops = ["#open-file"];
      for (let i = 0; i < 10; i++) stops.push(await tab(b));
      assertEquals(stops, [
        "#open-file",
        "#backend",
        "#run",
        "#search",
        "#zoom-in",
        "#zoom-out",
        "#zoom-fit",
        "#graph",
        "node:features.0.0",
        "#tab-layer",
        "#panel-layer",
      ], `the Tab order: ${stops}`);
      // Back to the top with Shift+Tab, then to the graph: + and − zoom, 0 fits, the arrows pan.
      while ((await focused(b)).what !== "#open-file") await tab(b, true);
      while ((await focused(b)).what !== "#graph") await tab(b);
      const k0 = (await graphView(b)).k;
      await b.key("+");
      const k1 = (await graphView(b)).k;
      assertGreater(k1, k0, "+ zooms in");
      await b.key("-");
      assert((await graphView(b)).k < k1, "− zooms out");
      await b.key("0");
      const fit = await graphView(b);
      await b.key("ArrowLeft");
      assertEquals(Math.round((await graphView(b)).x - fit.x), 60, "← pans");
      // Into the graph: ↓ follows the data to the consumer, Enter shows the layer.
      assertEquals(await tab(b), "node:features.0.0");
      await b.key("ArrowDown");
      const next = (await focused(b)).what;
      assertEquals(next, "node:features.1.conv.0.0");
      await b.key("Enter");
      assertEquals(await layerShown(b), "features.1.conv.0.0");
      await b.key("ArrowUp");
      assertEquals((await focused(b)).what, "node:features.0.0");
      // One Tab leaves the graph for the panels; the arrows move between the tabs.
      assertEquals(await tab(b), "#tab-layer");
      await b.key("ArrowRight");
      await b.key("ArrowRight");
      await b.key("ArrowRight");
      assertEquals((await focused(b)).what, "#tab-report");
      assertEquals(await b.eval<string>(`document.getElementById("tab-report").ariaSelected`), "true");
      await readable(b, "report panel");
      await screenshot(b, "report_keyboard.png");
      // Through the report to its slowest step; Enter shows that layer and focuses its box.
      assertEquals(await tab(b), "#panel-report");
      let stop = "";
      for (let i = 0; i < 4 && !stop.startsWith("row:"); i++) stop = await tab(b);
      assert(stop.startsWith("row:"), `a cost row takes the focus, not ${stop}`);
      await b.key("Enter");
      const layer = stop.slice(4);
      assertEquals(await layerShown(b), layer);
      assertEquals((await focused(b)).what, `node:${layer}`);

      // Search from the keyboard: type, count the matches, Enter steps through them.
      await b.eval(`document.getElementById("search").focus()`);
      await b.page("Input.insertText", { text: "features.1" });
      // features.1 and features.10 … features.18: 27 layers.
      assertEquals(await b.eval<string>(`document.getElementById("search-count").textContent`), "27 found");
      assertEquals(await b.eval<number>(`document.querySelectorAll("#graph .node.match").length`), 27);
      await b.key("Enter");
      assertEquals(await layerShown(b), "features.1.conv.0.0");
      await b.key("Enter");
      assertNotEquals(await layerShown(b), "features.1.conv.0.0");
      assertEquals((await focused(b)).what, "#search");
      await readable(b, "search");
    });
    await Deno.remove(q.dir, { recursive: true });
  },
});

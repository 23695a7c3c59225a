/**
 * The browser bundle and the studio page in Debian's headless Chromium, driven over the DevTools
 * protocol: the bundle holds no Deno global and imports in a plain page; the studio opens an int model
 * and its `.hbm`, runs a fixed batch on every backend the browser has (WebGPU through SwiftShader where
 * Chromium offers it, and the WebAssembly CPU kernels always) and shows the integers `hqat predict-int
 * --raw` and `hqat run-hbm --raw` write, bit for bit. Screenshots go to `out/studio_test/`; any console
 * error or uncaught exception in the page fails the test.
 * @module
 */
import { assert, assertEquals, assertGreater } from "@std/assert";
import { encodeNpy, parseNpy } from "@hqat/io";
import { compileModel } from "@hqat/hbdk";
import { saveIntModel } from "@hqat/program";
import { mobileNetV2IntModel } from "../../packages/hbdk/testdata/mobilenet_v2.ts";
import { hqat } from "../../packages/cli/testdata/run_hqat.ts";
import { buildWeb, type BuiltFile } from "../build.ts";
import { serveDir } from "../serve.ts";
import { Browser, findChromium } from "./cdp.ts";

const CHROMIUM = findChromium();
const ARTIFACTS = new URL("../../out/studio_test/", import.meta.url).pathname;
/** WebGPU is behind a flag on Linux; SwiftShader gives a software adapter where the GPU process has none. */
const CHROMIUM_ARGS = ["--enable-unsafe-webgpu", "--window-size=1280,720"];

let built: Promise<{ dir: string; files: BuiltFile[] }> | undefined;
function buildOnce(): Promise<{ dir: string; files: BuiltFile[] }> {
  built ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "hqat-web-" });
    const files = await buildWeb({ outDir: dir, log: () => {} });
    return { dir, files };
  })();
  return built;
}

async function withPage(
  dir: string,
  fn: (b: Browser, url: string) => Promise<void>,
): Promise<void> {
  let url = "";
  const server = serveDir(dir, { port: 0, onListen: (u) => (url = u) });
  const browser = await Browser.launch(CHROMIUM!, CHROMIUM_ARGS);
  try {
    await browser.viewport(1280, 720);
    await fn(browser, url);
    assertEquals(browser.errors, [], `the page logged errors:\n${browser.errors.join("\n")}`);
  } finally {
    await browser.close();
    await server.shutdown();
  }
}

Deno.test({
  name: "buildWeb() writes an hqat.js with no Deno global that imports and runs in a page without Deno",
  ignore: CHROMIUM === undefined,
  async fn() {
    const { dir, files } = await buildOnce();
    const lib = files.find((f) => f.path.endsWith("/hqat.js"))!;
    const text = await Deno.readTextFile(lib.path);
    assertEquals(text.match(/\bDeno\b/g) ?? [], [], "no Deno global in the bundle");
    assertEquals(
      text.match(/from\s*["']node:|import\(["']node:/g) ?? [],
      [],
      "no node: module in the bundle",
    );
    assert(/^import |^export |\bexport\{/m.test(text), "an ES module");
    console.log(`hqat.js: ${lib.bytes} bytes, ${lib.gzipBytes} gzip`);
    await Deno.writeTextFile(
      `${dir}/import.html`,
      `<!doctype html><script type="module">
import * as hqat from "./hqat.js";
const s = (v) => Float32Array.of(v);
const p = { name: "t", march: "bayes", opt: "O0", inputShape: [1, 2], output: 1,
  buffers: [{ name: "q", shape: [1, 2], dtype: "qint8", scale: s(0.5) }, { name: "d", shape: [1, 2], dtype: "float32", scale: s(1) }],
  instructions: [{ op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
    { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] }] };
const back = hqat.decodeProgram(hqat.encodeProgram(p), { fileName: "int_model" });
window.result = { deno: typeof Deno, raw: Array.from(hqat.runIntModel(back, Float32Array.of(0.74, -3), [1, 2]).raw.data),
  exports: Object.keys(hqat).length };
</script>`,
    );
    await withPage(dir, async (b, url) => {
      await b.goto(`${url}import.html`);
      await b.waitFor("window.result", 20_000);
      const r = await b.eval<{ deno: string; raw: number[]; exports: number }>("window.result");
      assertEquals(r.deno, "undefined");
      assertEquals(r.raw, [1, -6]);
      assertGreater(r.exports, 40);
    });
  },
});

/** A fixed batch of 4 frames, the same every run. */
function fixedBatch(): Float32Array {
  const x = new Float32Array(4 * 3 * 32 * 32);
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = ((s >>> 8) / 2 ** 24) * 2 - 1;
  }
  return x;
}

async function cliRaw(args: string[]): Promise<number[]> {
  const r = await hqat(...args);
  assertEquals(r.code, 0, r.stderr);
  const out = args[args.indexOf("--output") + 1];
  return Array.from(parseNpy(await Deno.readFile(out)).data as Int32Array);
}

async function pageRaw(b: Browser): Promise<number[]> {
  const text = await b.eval<string[]>(
    `[...document.querySelectorAll("#raw-table td.raw")].map((td) => td.textContent)`,
  );
  return text.flatMap((t) => t.trim().split(/\s+/).map(Number));
}

async function idle(b: Browser): Promise<void> {
  await b.waitFor(`document.body.dataset.busy === "false"`, 120_000);
  const error = await b.eval<string>(
    `document.getElementById("error").hidden ? "" : document.getElementById("error").textContent`,
  );
  assertEquals(error, "", "the page shows no error");
}

/** Runs the page's batch on each backend and returns the integers shown, by backend. */
async function runEach(b: Browser, backends: string[]): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const backend of backends) {
    await b.eval(`(() => { const s = document.getElementById("backend"); s.value = "${backend}";
      document.getElementById("run-output").replaceChildren(); document.getElementById("run").click(); })()`);
    await b.waitFor(`document.querySelector("#run-summary[data-backend='${backend}']")`, 120_000);
    await idle(b);
    out.set(backend, await pageRaw(b));
  }
  return out;
}

Deno.test({
  name:
    "hqat studio shows the integers of hqat predict-int --raw and run-hbm --raw for an int_model and its .hbm",
  ignore: CHROMIUM === undefined,
  async fn() {
    const { dir } = await buildOnce();
    const work = await Deno.makeTempDir({ prefix: "hqat-studio-" });
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const intModel = `${work}/int_model`, hbm = `${work}/model.hbm`, x = `${work}/x.npy`;
    const model = mobileNetV2IntModel();
    await saveIntModel(intModel, model);
    await compileModel(model, [{ shape: [1, 3, 32, 32] }], { hbm, inputSource: "pyramid", log: () => {} });
    await Deno.writeFile(x, encodeNpy({ dtype: "F32", shape: [4, 3, 32, 32], data: fixedBatch() }));
    const expectInt = await cliRaw([
      "predict-int",
      "--model",
      intModel,
      "--input",
      x,
      "--output",
      `${work}/y.npy`,
      "--raw",
    ]);
    const expectHbm = await cliRaw([
      "run-hbm",
      "--hbm",
      hbm,
      "--input",
      x,
      "--output",
      `${work}/yh.npy`,
      "--raw",
    ]);
    assertEquals(expectInt.length, 40);

    await withPage(dir, async (b, url) => {
      await b.goto(url);
      await b.waitFor(`document.body.dataset.ready === "true"`, 30_000);
      const backends = (await b.eval<string>("document.body.dataset.backends")).split(",");
      console.log(`backends in headless Chromium: ${backends.join(", ")}`);
      assert(backends.includes("wasm"));

      // The int model: graph, a layer chosen with the keyboard, a fixed batch on every backend.
      await b.setFiles("#open-file", [intModel]);
      await b.waitFor(`document.querySelectorAll("#graph .node").length > 10`);
      await idle(b);
      await Deno.writeFile(`${ARTIFACTS}graph.png`, await b.screenshot());
      await b.eval(`document.querySelector('#graph .node[data-name="features.2.conv.1.0"]').focus()`);
      await b.key("Enter", "Enter", 13);
      await b.waitFor(`document.querySelector("#panel-layer h2")?.textContent === "features.2.conv.1.0"`);
      const panel = await b.eval<string>(`document.getElementById("panel-layer").textContent`);
      for (const part of ["Tensors", "BAYES limits", "Cost (performance model", "scale"]) {
        assert(panel.includes(part), `the layer panel shows ${part}: ${panel.slice(0, 400)}`);
      }
      await Deno.writeFile(`${ARTIFACTS}layer.png`, await b.screenshot());
      await b.eval(
        `(() => { const s = document.getElementById("search"); s.value = "features.1"; s.dispatchEvent(new Event("input")); })()`,
      );
      assertGreater(await b.eval<number>(`document.querySelectorAll("#graph .node.match").length`), 0);

      await b.setFiles("#open-file", [x]);
      await b.waitFor(`document.getElementById("raw-table")`, 120_000);
      await idle(b);
      for (const [backend, raw] of await runEach(b, backends)) {
        assertEquals(raw, expectInt, `int_model on ${backend} = hqat predict-int --raw`);
      }
      await Deno.writeFile(`${ARTIFACTS}run.png`, await b.screenshot());
      await b.eval(`document.getElementById("compare").click()`);
      await b.waitFor(`document.getElementById("compare-table")`, 120_000);
      await idle(b);
      await b.eval(`document.getElementById("tab-report").click()`);
      await b.waitFor(`document.getElementById("perf-summary")`);
      assert((await b.eval<string>(`document.getElementById("check-verdict").textContent`)).includes("PASS"));
      await Deno.writeFile(`${ARTIFACTS}report.png`, await b.screenshot());

      // The .hbm: the same batch, the integers run-hbm writes.
      await b.setFiles("#open-file", [hbm]);
      await b.waitFor(`document.getElementById("status").textContent.startsWith("model.hbm:")`);
      await idle(b);
      for (const [backend, raw] of await runEach(b, backends)) {
        assertEquals(raw, expectHbm, `model.hbm on ${backend} = hqat run-hbm --raw`);
      }
    });
    await Deno.remove(work, { recursive: true });
  },
});

/**
 * The browser bundle and the studio page in Debian's headless Chromium, driven over the DevTools
 * protocol: the bundle holds no Deno global and imports in a plain page; the studio opens the quick
 * start's int model and its `.hbm` from disk, runs a fixed batch, and images dropped on the page, on
 * every backend the browser has (WebGPU through SwiftShader where Chromium offers it, and the
 * WebAssembly CPU kernels always) and shows the integers `hqat predict-int --raw` and `hqat run-hbm
 * --raw` write, bit for bit; beside the calibration checkpoint it compares float and integer layer by layer.
 * Screenshots go to `out/studio_test/`; any console error, uncaught exception or failed request in the
 * page fails the test.
 * @module
 */
import { assert, assertEquals, assertGreater } from "@std/assert";
import { encodeNpy } from "@hqat/io";
import { rgb2centeredYuv } from "@hqat/data";
import {
  buildOnce,
  CHROMIUM,
  cliRaw,
  idle,
  openStudio,
  quickStartFiles,
  runEach,
  screenshot,
  withPage,
} from "./studio_fixture.ts";
import { encodePng } from "./png.ts";

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
      `<!doctype html><link rel="icon" href="favicon.svg"><script type="module">
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

/** Three 32×32 RGB pictures (exact at the model's size) and a 28×28 grayscale one (scaled by the page). */
async function writeImages(dir: string): Promise<{ paths: string[]; rgb: Uint8Array[] }> {
  const rgb: Uint8Array[] = [], paths: string[] = [];
  for (let i = 0; i < 3; i++) {
    const px = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const at = 3 * (32 * y + x);
        px[at] = (x * 8 + i * 70) & 255;
        px[at + 1] = (y * 8 + i * 40) & 255;
        px[at + 2] = ((x ^ y) * 8 + i * 90) & 255;
      }
    }
    rgb.push(px);
    paths.push(`${dir}/picture_${i}.png`);
    await Deno.writeFile(paths[i], await encodePng(px, 32, 32, "rgb"));
  }
  const gray = Uint8Array.from(
    { length: 28 * 28 },
    (_, p) => (Math.hypot(p % 28 - 14, p / 28 - 14) < 9 ? 230 : 20),
  );
  paths.push(`${dir}/fashion_28x28.png`);
  await Deno.writeFile(paths[3], await encodePng(gray, 28, 28, "gray"));
  return { paths, rgb };
}

/** The model input the quick start makes of RGB pictures: rgb2centeredYuv (studio swing) ÷ 128, NCHW. */
function yuvBatch(pictures: readonly Uint8Array[]): Float32Array {
  const frame = 3 * 32 * 32;
  const out = new Float32Array(pictures.length * frame);
  pictures.forEach((px, i) => {
    const chw = new Uint8Array(frame);
    for (let p = 0; p < 32 * 32; p++) for (let c = 0; c < 3; c++) chw[c * 32 * 32 + p] = px[3 * p + c];
    const yuv = rgb2centeredYuv(chw, [3, 32, 32]);
    for (let j = 0; j < frame; j++) out[i * frame + j] = yuv[j] / 128;
  });
  return out;
}

Deno.test({
  name:
    "hqat studio shows the integers of hqat predict-int --raw and run-hbm --raw for an int_model, its .hbm and dropped images",
  ignore: CHROMIUM === undefined,
  async fn() {
    const { dir } = await buildOnce();
    const q = await quickStartFiles();
    const { paths: images, rgb } = await writeImages(q.dir);
    const imagesNpy = `${q.dir}/images.npy`;
    await Deno.writeFile(imagesNpy, encodeNpy({ dtype: "F32", shape: [3, 3, 32, 32], data: yuvBatch(rgb) }));
    const predictInt = (input: string, output: string) =>
      cliRaw(["predict-int", "--model", q.intModel, "--input", input, "--output", output, "--raw"]);
    const expectInt = await predictInt(q.batch, `${q.dir}/y.npy`);
    const expectImages = await predictInt(imagesNpy, `${q.dir}/yi.npy`);
    const expectHbm = await cliRaw([
      "run-hbm",
      "--hbm",
      q.hbm,
      "--input",
      q.batch,
      "--output",
      `${q.dir}/yh.npy`,
      "--raw",
    ]);
    assertEquals(expectInt.length, 40);

    await withPage(dir, async (b, url) => {
      const backends = await openStudio(b, url);
      console.log(`backends in headless Chromium: ${backends.join(", ")}`);
      assert(backends.includes("wasm"));

      // The int model opened with the file input, then the fixed batch, on every backend.
      await b.setFiles("#open-file", [q.intModel]);
      await b.waitFor(`document.querySelectorAll("#graph .node").length > 10`);
      await idle(b);
      await screenshot(b, "graph.png");
      await b.setFiles("#open-file", [q.batch]);
      await b.waitFor(`document.getElementById("raw-table")`, 120_000);
      await idle(b);
      for (const [backend, raw] of await runEach(b, backends)) {
        assertEquals(raw, expectInt, `int_model on ${backend} = hqat predict-int --raw`);
      }

      // Pictures dropped on the page: scored, and the exact-size ones give predict-int's integers.
      await b.eval(`document.getElementById("run-output").replaceChildren()`);
      await b.dropFiles(400, 400, images);
      await b.waitFor(`document.querySelectorAll("#scores img").length === 4`, 120_000);
      await idle(b);
      const summary = await b.eval<string>(`document.getElementById("run-summary").textContent`);
      assert(summary.startsWith("4 images: batch 4"), summary);
      const labels = await b.eval<string[]>(
        `[...document.querySelectorAll("#scores .score span:first-child")].map((s) => s.textContent)`,
      );
      assertEquals(labels.length, 12, "the top three classes of each picture");
      assert(
        labels.every((l) =>
          /^(T-shirt\/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot)$/.test(l)
        ),
      );
      await screenshot(b, "run.png");
      for (const [backend, raw] of await runEach(b, backends)) {
        assertEquals(
          raw.slice(0, 30),
          expectImages,
          `dropped pictures on ${backend} = hqat predict-int --raw`,
        );
      }

      // Float against integer, layer by layer, with the calibration checkpoint opened beside the int model.
      await b.setFiles("#open-file", [q.calibCheckpoint]);
      await b.waitFor(`document.getElementById("status").textContent.startsWith("Float reference")`);
      await idle(b);
      await b.setFiles("#open-file", [q.batch]);
      await b.waitFor(`document.getElementById("raw-table")`, 120_000);
      await idle(b);
      await b.eval(
        `document.getElementById("tab-compare").click(); document.getElementById("compare").click()`,
      );
      await b.waitFor(`document.getElementById("compare-table")`, 120_000);
      await idle(b);
      const head = await b.eval<string[]>(
        `[...document.querySelectorAll("#compare-table thead th")].map((th) => th.textContent)`,
      );
      assertEquals(head, ["layer", "cos", "SQNR dB", "cos fq", "max LSB (fq)"]);
      const rows = await b.eval<[string, number, number][]>(
        `[...document.querySelectorAll("#compare-table tbody tr")].map((r) =>
          [r.cells[0].textContent, Number(r.cells[1].textContent), Number(r.cells[4].textContent)])`,
      );
      assertGreater(rows.length, 50, "a row per layer");
      // 8-bit error builds up with depth in a random network; the first layers are nearly exact.
      assert(
        rows.slice(0, 10).every(([, cos]) => cos > 0.99),
        `cos of the first layers: ${rows.slice(0, 10)}`,
      );
      assert(rows.every(([, cos]) => cos > 0.7), `cos of every layer: ${rows}`);
      assert(
        rows.every(([, , lsb]) => lsb <= 1),
        "the integers are the fake-quantized model's within one LSB",
      );
      await screenshot(b, "compare_int_model.png");
      await b.eval(`document.getElementById("tab-report").click()`);
      await b.waitFor(`document.getElementById("perf-summary")`);
      assert((await b.eval<string>(`document.getElementById("check-verdict").textContent`)).includes("PASS"));
      await screenshot(b, "report.png");

      // The .hbm: the same batch, the integers run-hbm writes.
      await b.setFiles("#open-file", [q.hbm]);
      await b.waitFor(`document.getElementById("status").textContent.startsWith("model.hbm:")`);
      await idle(b);
      for (const [backend, raw] of await runEach(b, backends)) {
        assertEquals(raw, expectHbm, `model.hbm on ${backend} = hqat run-hbm --raw`);
      }
    });
    await Deno.remove(q.dir, { recursive: true });
  },
});

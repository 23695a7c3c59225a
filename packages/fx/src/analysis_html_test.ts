import { assert, assertEquals } from "@std/assert";
import { analysisHtml, type AnalysisReport } from "../mod.ts";

/** The first headless browser on PATH (Debian's package is `chromium`). */
function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      const ok = new Deno.Command(name, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync();
      if (ok.success) return name;
    } catch {
      // not installed
    }
  }
  return undefined;
}

const CHROMIUM = findChromium();

const sim = (cosine: number, sqnr: number) => ({ cosine, sqnr, maxAbs: 0.01, count: 40 });
const REPORT: AnalysisReport = {
  format: "hqat-analysis",
  output: sim(0.999, 30),
  layers: [
    {
      name: "quant",
      op: "quantize",
      cosineFakeQuant: 1,
      sqnrFakeQuant: 45,
      cosineInt: 1,
      sqnrInt: 45,
      maxLsbDiff: 0,
    },
    {
      name: "conv<1>",
      op: "conv2d",
      cosineFakeQuant: 0.999,
      sqnrFakeQuant: 31,
      cosineInt: 0.999,
      sqnrInt: 30.5,
      maxLsbDiff: 1,
    },
    {
      name: "fc",
      op: "linear",
      cosineFakeQuant: 1,
      sqnrFakeQuant: Infinity,
      cosineInt: 1,
      sqnrInt: Infinity,
      maxLsbDiff: 0,
    },
  ],
  sensitivity: [
    { node: "conv<1>", only: sim(0.9991, 31), int16: sim(0.99995, 43) },
    { node: "quant", only: sim(0.9999, 40) },
  ],
  worst: [{ index: 3, cosine: 0.98, sqnr: 17, maxAbs: 0.1 }, {
    index: 0,
    cosine: 0.99,
    sqnr: 20,
    maxAbs: 0.05,
  }],
};

Deno.test({
  name: "analysisHtml() renders in headless Chromium with its tables, sensitivity bars and similarity curves",
  ignore: CHROMIUM === undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/analysis.html`, analysisHtml(REPORT));
    const out = await new Deno.Command(CHROMIUM!, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        `--user-data-dir=${dir}/profile`,
        "--dump-dom",
        `file://${dir}/analysis.html`,
      ],
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(90_000),
    }).output();
    assert(out.success, "chromium failed");
    const dom = new TextDecoder().decode(out.stdout);
    const rows = (id: string) => {
      const at = dom.indexOf(`<table id="${id}">`);
      return (dom.slice(at, dom.indexOf("</table>", at)).match(/<tr>/g) ?? []).length;
    };
    assertEquals([rows("summary"), rows("sensitivity"), rows("layers"), rows("worst")], [5, 3, 4, 3]);
    assertEquals((dom.match(/class="bar-only"/g) ?? []).length, 2);
    assertEquals((dom.match(/class="bar-int16"/g) ?? []).length, 2);
    assertEquals((dom.match(/<polyline/g) ?? []).length, 2);
    assert(dom.includes("conv&lt;1&gt;") && dom.includes("<td>inf</td>"));
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("analysisHtml() is deterministic and escapes node names", () => {
  assertEquals(analysisHtml(REPORT), analysisHtml(structuredClone(REPORT)));
  assert(!analysisHtml(REPORT).includes("conv<1>"));
});

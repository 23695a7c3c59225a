import { assert, assertEquals, assertGreater } from "@std/assert";
import { perfModel, visualizeModel } from "@hqat/hbdk";
import { tinyIntModel } from "../testdata/mobilenet_v2.ts";

/** The first headless browser found on PATH (Debian's package is `chromium`). */
function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      if (
        new Deno.Command(name, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success
      ) return name;
    } catch {
      // not installed
    }
  }
  return undefined;
}

const CHROMIUM = findChromium();
const ignore = CHROMIUM === undefined;

async function chromium(args: string[], dir: string): Promise<Uint8Array> {
  const out = await new Deno.Command(CHROMIUM!, {
    args: ["--headless", "--no-sandbox", "--disable-gpu", `--user-data-dir=${dir}/profile`, ...args],
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(90_000),
  }).output();
  assert(out.success, `chromium ${args.join(" ")} failed`);
  return out.stdout;
}

/** The distinct byte values of a PNG's decompressed image data (a blank image has one or two). */
async function pngDistinctBytes(png: Uint8Array): Promise<number> {
  assertEquals([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const idat: Uint8Array<ArrayBuffer>[] = [];
  for (let at = 8; at + 8 <= png.length;) {
    const len = v.getUint32(at), type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    if (type === "IDAT") idat.push(png.slice(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const stream = new Blob(idat).stream().pipeThrough(new DecompressionStream("deflate"));
  const pixels = new Uint8Array(await new Response(stream).arrayBuffer());
  return new Set(pixels).size;
}

Deno.test({
  name: "perfModel()'s HTML renders in headless Chromium with its summary, layer table and chart",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const r = await perfModel(tinyIntModel(1), [{ shape: [1, 3, 8, 8] }], {
      outDir: dir,
      name: "tiny",
      log: () => {},
    });
    const dom = new TextDecoder().decode(await chromium(["--dump-dom", `file://${r.htmlPath}`], dir));
    const table = (id: string) =>
      dom.slice(
        dom.indexOf(`<table id="${id}">`),
        dom.indexOf("</table>", dom.indexOf(`<table id="${id}">`)),
      );
    assertEquals((table("summary").match(/<tr>/g) ?? []).length, Object.keys(r.json.summary).length);
    assertEquals((table("layers").match(/<tr>/g) ?? []).length, r.estimate.layers.length + 1);
    assertEquals((dom.match(/class="bar-compute"/g) ?? []).length, r.estimate.layers.length);
    assert(dom.includes("<th>DDR bytes per frame</th>"));
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "visualizeModel()'s SVG parses and paints in headless Chromium",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/model.svg`;
    const v = await visualizeModel(tinyIntModel(1), [{ shape: [1, 3, 8, 8] }], { savePath: path });
    const dom = new TextDecoder().decode(await chromium(["--dump-dom", `file://${path}`], dir));
    assert(!dom.includes("parsererror") && dom.startsWith("<svg"), "the SVG is well-formed XML");
    assertEquals((dom.match(/<g class="node"/g) ?? []).length, v.layout.boxes.length);
    await chromium([`--screenshot=${dir}/shot.png`, "--window-size=600,900", `file://${path}`], dir);
    assertGreater(
      await pngDistinctBytes(await Deno.readFile(`${dir}/shot.png`)),
      8,
      "the screenshot is not blank",
    );
    await Deno.remove(dir, { recursive: true });
  },
});

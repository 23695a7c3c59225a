import { assert, assertAlmostEquals, assertEquals, assertMatch } from "@std/assert";
import { perfModel } from "@hqat/hbdk";
import { mobileNetV2IntModel } from "../testdata/mobilenet_v2.ts";

/** Relative difference. */
const rel = (a: number, b: number) => Math.abs(a - b) / b;

Deno.test("perfModel() prints HBDK's lines and writes NAME.json and NAME.html; MobileNetV2 is within the published anchors", async () => {
  const outDir = await Deno.makeTempDir();
  const lines: string[] = [];
  const r = await perfModel(mobileNetV2IntModel(), [{ shape: [1, 3, 32, 32] }], {
    outDir,
    opt: "O1",
    inputSource: "pyramid",
    layerDetails: true,
    name: "FxQATReadyMobileNetV2",
    log: (l) => lines.push(l),
  });
  assertEquals(lines.length, 4);
  assertEquals(lines[1], "HBDK model compilation SUCCESS");
  assertMatch(
    lines[2],
    /^FPS=\d+\.\d\d, latency = \d+\.\d us, DDR = \d+ bytes {3}\(see .*\/FxQATReadyMobileNetV2\.html\)$/,
  );
  assertEquals(lines[3], "HBDK performance estimation SUCCESS");
  const s = r.json.summary;
  // Published (SPEC.md): FPS 2655.57, latency 376.6 µs, DDR 2,481,312 bytes per frame. Bars: 25 % and 10 %.
  assert(
    rel(s.FPS, 2655.57) < 0.25 && rel(s["latency (us)"], 376.6) < 0.25 &&
      rel(s["DDR bytes per frame"], 2481312) < 0.1,
  );
  assertEquals(s["DDR bytes per frame"], s["loaded bytes per frame"] + s["stored bytes per frame"]);
  assertAlmostEquals(s.FPS, 1e6 / r.estimate.latencyUs, 0.005);
  assertEquals(s["frame per run"], 1);
  assertEquals(s["input features"][1], ["arg0", "1x32x32x3"]);
  const json = JSON.parse(await Deno.readTextFile(r.jsonPath));
  assertEquals(json, JSON.parse(JSON.stringify(r.json)));
  assertEquals(json["layer details"].length, r.estimate.layers.length);
  assertEquals(json["layer details"][0]["layer name"], "features.0.0");
  assertEquals(json["layer details"][0].ops, 2 * 221184);
  const html = await Deno.readTextFile(r.htmlPath);
  assert(
    html.includes('<table id="summary">') && html.includes('<table id="layers">') &&
      html.includes('<svg id="latency-chart"'),
  );
  assert(!/(src|href)=["']?https?:/.test(html), "the report loads nothing from the network");
  await Deno.remove(outDir, { recursive: true });
});

Deno.test("perfModel() takes the batch from the example input (batch 256 against the published run)", async () => {
  const outDir = await Deno.makeTempDir();
  const r = await perfModel(mobileNetV2IntModel(), [{ shape: [256, 3, 32, 32] }], {
    outDir,
    inputSource: "pyramid",
    log: () => {},
  });
  const s = r.json.summary;
  assertEquals(s["frame per run"], 256);
  assertEquals(r.json["layer details"], undefined);
  // Published: FPS ≈ 5723, 44.73 ms per run, 1,403,592 DDR bytes per frame (707,232 loaded, 696,360 stored).
  assert(rel(s.FPS, 5723) < 0.25 && rel(s["latency (ms)"], 44.73) < 0.25);
  assert(rel(s["DDR bytes per frame"], 1403592) < 0.1 && rel(s["loaded bytes per frame"], 707232) < 0.1);
  assert(rel(s["stored bytes per frame"], 696360) < 0.1);
  assertEquals(s["BPU OPs per run (effective)"], 256 * s["BPU OPs per frame (effective)"]);
  assert(r.htmlPath.endsWith("/model.html"));
  await Deno.remove(outDir, { recursive: true });
});

import { hqat } from "./testdata/run_hqat.ts";
import { assert, assertEquals, assertMatch } from "@std/assert";
import { saveNpy } from "@hqat/nn";
import { randomKey, randomNormal } from "@hqat/tensor";

const ONNX = new URL("../onnx/testdata/", import.meta.url).pathname;

Deno.test("hqat analyze: shards merged equal the single run byte for byte, JSON and HTML", async () => {
  const dir = await Deno.makeTempDir();
  await saveNpy(`${dir}/calib.npy`, randomNormal(randomKey(4), [12, 3, 32, 32]));
  const net = ["--onnx", `${ONNX}resnet_block.onnx`];
  let r = await hqat(
    "ptq",
    ...net,
    "--calib-data",
    `${dir}/calib.npy`,
    "--out",
    `${dir}/ptq`,
    "--batch-size",
    "6",
  );
  assertEquals(r.code, 0, r.stderr);
  const common = [...net, "--ptq-dir", `${dir}/ptq`, "--data", `${dir}/calib.npy`, "--batch-size", "5"];
  r = await hqat("analyze", ...common);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /Integer output vs float: cosine 0\.99\d+/);
  for (const k of [1, 0]) {
    r = await hqat("analyze", ...common, "--shard", `${k}/2`, "--out", `${dir}/shards${k}`);
    assertEquals(r.code, 0, r.stderr);
  }
  r = await hqat(
    "analyze",
    "--merge",
    `${dir}/shards0`,
    "--merge",
    `${dir}/shards1`,
    "--out",
    `${dir}/merged`,
  );
  assertEquals(r.code, 0, r.stderr);
  for (const f of ["analysis.json", "analysis.html"]) {
    assertEquals(
      await Deno.readFile(`${dir}/merged/${f}`),
      await Deno.readFile(`${dir}/ptq/analysis/${f}`),
      f,
    );
  }
  const report = JSON.parse(await Deno.readTextFile(`${dir}/merged/analysis.json`));
  assertEquals(report.worst.length, 12);
  assert(report.sensitivity.length > 0 && report.layers.length > 0);
  r = await hqat("analyze", "--merge", `${dir}/shards0`, "--out", `${dir}/bad`);
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /jobs are missing/);
  r = await hqat("analyze", ...common, "--shard", "2/2");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /--shard must be K\/N with 0 ≤ K < N/);
  await Deno.remove(dir, { recursive: true });
});

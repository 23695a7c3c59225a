import { hqat } from "./testdata/run_hqat.ts";
import { assert, assertEquals, assertLessOrEqual, assertMatch } from "@std/assert";

const TESTDATA = new URL("../nn/testdata/", import.meta.url).pathname;

Deno.test("hqat inspect --json prints torchvision's MobileNetV2 layout", async () => {
  const r = await hqat("inspect", "--arch", "mobilenetv2", "--num-classes", "10", "--json");
  assertEquals(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assertEquals(j.params, 2236682);
  assertEquals(j.state.length, 314);
  assertEquals(j.state[0], ["features.0.0.weight", [32, 3, 3, 3], "float32"]);
  assertEquals(j.state[5], ["features.0.1.num_batches_tracked", [], "int64"]);
});

Deno.test("hqat predict writes PyTorch's logits for PyTorch's weights", async () => {
  const { loadNpy } = await import("@hqat/nn");
  const dir = await Deno.makeTempDir();
  const out = `${dir}/y.npy`;
  const r = await hqat(
    "predict",
    "--arch",
    "mobilenetv2",
    "--weights",
    `${TESTDATA}mobilenet_v2_c10.safetensors`,
    "--input",
    `${TESTDATA}mobilenet_v2_input.npy`,
    "--output",
    out,
  );
  assertEquals(r.code, 0, r.stderr);
  const y = await loadNpy(out), e = await loadNpy(`${TESTDATA}mobilenet_v2_logits.npy`);
  let d = 0;
  for (let i = 0; i < y.size; i++) d = Math.max(d, Math.abs(y.data[i] - e.data[i]));
  assertLessOrEqual(d, 1e-4);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("hqat commands fail with one clear line on bad input", async () => {
  let r = await hqat("inspect", "--arch", "vgg");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /Unknown architecture "vgg"/);
  r = await hqat(
    "predict",
    "--arch",
    "mobilenetv2",
    "--weights",
    "/nonexistent.safetensors",
    "--input",
    "x",
    "--output",
    "y",
  );
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /nonexistent\.safetensors/);
  r = await hqat("frobnicate");
  assertEquals(r.code, 2);
  r = await hqat("inspect", "--arch", "mobilenetv2", "--bogus");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /Unknown option --bogus/);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/w.safetensors`, "not a safetensors file");
  r = await hqat(
    "predict",
    "--arch",
    "mobilenetv2",
    "--weights",
    `${dir}/w.safetensors`,
    "--input",
    "x",
    "--output",
    "y",
  );
  assertEquals(r.code, 1);
  assert(r.stderr.includes("w.safetensors"), r.stderr);
  assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  await Deno.remove(dir, { recursive: true });
});

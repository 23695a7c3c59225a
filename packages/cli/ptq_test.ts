import { hqat } from "./testdata/run_hqat.ts";
import { assert, assertEquals, assertGreater, assertMatch } from "@std/assert";
import { initState, loadNpy, mobilenetV2, saveNpy, saveState } from "@hqat/nn";
import { probeWebGpu, randomKey, randomNormal } from "@hqat/tensor";

const ONNX = new URL("../onnx/testdata/", import.meta.url).pathname;
const GPU = (await probeWebGpu()).available;

/** The import issue's fixture networks, every one (ptq → check → compile → run-hbm, each). */
const FIXTURES: string[] = JSON.parse(
  await Deno.readTextFile(new URL("../onnx/testdata/manifest.json", import.meta.url)),
).map((f: { name: string }) => f.name);

/** Calibration-like inputs: the fixtures' inputs are standard normal, so are these (seeded). */
async function calibData(dir: string, shape: readonly number[], n: number): Promise<string> {
  const path = `${dir}/calib.npy`;
  await saveNpy(path, randomNormal(randomKey(11), [n, ...shape.slice(1)]));
  return path;
}

async function same(a: string, b: string): Promise<void> {
  const [x, y] = [await Deno.readFile(a), await Deno.readFile(b)];
  assertEquals(x, y, `${a} and ${b} differ`);
}

/** ptq → check → compile at O0–O3 → run-hbm --raw equals predict-int --raw (CPU; WebGPU where present). */
async function deploysBitExact(out: string, input: string): Promise<void> {
  let r = await hqat("check", "--model", `${out}/int_model`);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /HBDK model check PASS/);
  const devices = GPU ? ["cpu", "webgpu"] : ["cpu"];
  for (const device of devices) {
    r = await hqat(
      "predict-int",
      "--model",
      `${out}/int_model`,
      "--input",
      input,
      "--output",
      `${out}/int.npy`,
      "--raw",
      "--device",
      device,
    );
    assertEquals(r.code, 0, r.stderr);
    if (device === "cpu") await Deno.copyFile(`${out}/int.npy`, `${out}/int_cpu.npy`);
    else await same(`${out}/int.npy`, `${out}/int_cpu.npy`);
  }
  for (const opt of ["O0", "O1", "O2", "O3"]) {
    r = await hqat("compile", "--model", `${out}/int_model`, "--opt", opt, "--hbm", `${out}/${opt}.hbm`);
    assertEquals(r.code, 0, r.stderr);
    for (const device of devices) {
      r = await hqat(
        "run-hbm",
        "--hbm",
        `${out}/${opt}.hbm`,
        "--input",
        input,
        "--output",
        `${out}/hbm.npy`,
        "--raw",
        "--device",
        device,
      );
      assertEquals(r.code, 0, r.stderr);
      await same(`${out}/hbm.npy`, `${out}/int_cpu.npy`);
    }
  }
}

for (const name of FIXTURES) {
  Deno.test(`hqat ptq --onnx ${name} → check → compile O0–O3 → run-hbm --raw equals predict-int --raw`, async () => {
    const out = await Deno.makeTempDir();
    const input = `${ONNX}${name}.input.npy`;
    const held = await loadNpy(input);
    const calib = await calibData(out, held.shape, 24);
    const summary = `${out}/summary.json`;
    const r = await hqat(
      "ptq",
      "--onnx",
      `${ONNX}${name}.onnx`,
      "--calib-data",
      calib,
      "--out",
      out,
      "--batch-size",
      "8",
      "--eval-data",
      input,
      "--summary",
      summary,
    );
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /Calibrated on 24 inputs \(3 batches of up to 8\)/);
    const s = JSON.parse(await Deno.readTextFile(summary));
    assertEquals(s.inputScaleFixed, false);
    assertGreater(s.similarity.cosine, 0.999);
    await deploysBitExact(out, input);
    await Deno.remove(out, { recursive: true });
  });
}

Deno.test("hqat ptq --arch mobilenetv2 --input-scale 1/128 keeps the pyramid input scale and deploys bit-exact", async () => {
  const out = await Deno.makeTempDir();
  const model = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
  await saveState(`${out}/float.safetensors`, model, initState(model, randomKey(0)));
  const calib = await calibData(out, [1, 3, 32, 32], 8);
  const r = await hqat(
    "ptq",
    "--arch",
    "mobilenetv2",
    "--weights",
    `${out}/float.safetensors`,
    "--calib-data",
    calib,
    "--out",
    out,
    "--input-scale",
    "1/128",
    "--batch-size",
    "4",
    "--summary",
    `${out}/s.json`,
  );
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /input scale 0\.0078125 \(fixed\)/);
  assert((await Deno.stat(`${out}/calib-checkpoint.safetensors`)).size > 0);
  await deploysBitExact(out, calib);
  await Deno.remove(out, { recursive: true });
});

/**
 * `hqat ptq --onnx <net>.onnx` on 16 calibration inputs (batches of 8) with `extra` options and a summary,
 * checked to succeed; gives the output folder, the run and the summary.
 */
async function ptqWith(net: string, extra: string[]) {
  const out = await Deno.makeTempDir();
  const calib = await calibData(out, [1, 3, 32, 32], 16);
  const r = await hqat(
    "ptq",
    "--onnx",
    `${ONNX}${net}.onnx`,
    "--calib-data",
    calib,
    "--out",
    out,
    "--batch-size",
    "8",
    ...extra,
    "--summary",
    `${out}/s.json`,
  );
  assertEquals(r.code, 0, r.stderr);
  return { out, r, s: JSON.parse(await Deno.readTextFile(`${out}/s.json`)) };
}

Deno.test("hqat ptq --calib-method mix keeps a method per activation quantizer and deploys bit-exact", async () => {
  const input = `${ONNX}regnet_block.input.npy`;
  const { out, r, s } = await ptqWith("regnet_block", ["--calib-method", "mix"]);
  assertMatch(
    r.stdout,
    /mix: min_max on \d+, percentile on \d+, mse on \d+, kl on \d+ of 8 activation quantizers/,
  );
  assertEquals(s.calibMethod, "mix");
  assertEquals(Object.keys(s.choice).length, 8);
  await deploysBitExact(out, input);
  await Deno.remove(out, { recursive: true });
});

Deno.test("hqat ptq --equalize --adaround --bias-correct runs the passes and deploys bit-exact", async () => {
  const input = `${ONNX}resnet_block.input.npy`;
  const { out, r, s } = await ptqWith("resnet_block", [
    "--equalize",
    "--adaround",
    "20",
    "--bias-correct",
    "2",
    "--eval-data",
    input,
  ]);
  assertMatch(
    r.stdout,
    /Equalized 1 pairs of layers\nLearned the rounding of 5 layers \(AdaRound\)\nCorrected the biases of 5 layers/,
  );
  assertEquals([s.equalized, s.adarounded, s.biasCorrected], [1, 5, 5]);
  assertGreater(s.similarity.cosine, 0.999);
  await deploysBitExact(out, input);
  await Deno.remove(out, { recursive: true });
});

Deno.test("hqat ptq --int16-auto promotes layers within the latency budget and deploys bit-exact", async () => {
  const input = `${ONNX}resnet_block.input.npy`;
  const { out, r, s } = await ptqWith("resnet_block", [
    "--eval-data",
    input,
    "--int16-auto",
    "--min-cosine",
    "0.9999999",
    "--max-latency-us",
    "1000",
  ]);
  assertMatch(r.stdout, /int8 everywhere +0\.99\d+ +[\d.]+ +[\d.]+ +\d+ +yes/);
  assertGreater(s.int16.length, 0);
  const kept = s.int16Steps.filter((t: { accepted: boolean }) => t.accepted);
  for (const t of kept) assert(t.latencyUs <= 1000);
  assertGreater(kept.at(-1).cosine, kept[0].cosine);
  await deploysBitExact(out, input);
  await Deno.remove(out, { recursive: true });
});

Deno.test("hqat ptq fails with one clear line on bad options and data", async () => {
  const out = await Deno.makeTempDir();
  await saveNpy(`${out}/flat.npy`, randomNormal(randomKey(1), [4, 3]));
  let r = await hqat(
    "ptq",
    "--onnx",
    `${ONNX}resnet_block.onnx`,
    "--calib-data",
    `${out}/flat.npy`,
    "--out",
    out,
  );
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /calibration data must be a non-empty \[N,C,H,W\] batch, got \[4,3\]/);
  r = await hqat(
    "ptq",
    "--onnx",
    `${ONNX}resnet_block.onnx`,
    "--calib-data",
    `${out}/flat.npy`,
    "--out",
    out,
    "--input-scale",
    "-1",
  );
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /--input-scale must be a positive number/);
  r = await hqat("ptq", "--arch", "mobilenetv2", "--calib-data", `${out}/flat.npy`, "--out", out);
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /--arch needs --weights/);
  r = await hqat(
    "ptq",
    "--onnx",
    `${ONNX}resnet_block.onnx`,
    "--calib-data",
    `${out}/flat.npy`,
    "--out",
    out,
    "--qconfig",
    "nope",
  );
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /--qconfig must be one of default_calib_8bit_fake_quant_qconfig/);
  r = await hqat(
    "ptq",
    "--onnx",
    `${ONNX}resnet_block.onnx`,
    "--calib-data",
    `${out}/flat.npy`,
    "--out",
    out,
    "--calib-method",
    "entropy",
  );
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /--calib-method must be one of min_max, percentile, mse, kl, mix/);
  await Deno.remove(out, { recursive: true });
});

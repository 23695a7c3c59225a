import { hqat } from "./testdata/run_hqat.ts";
import { assert, assertEquals, assertMatch } from "@std/assert";
import { existsSync } from "node:fs";
import { probeWebGpu } from "@hqat/tensor";

const HAVE_FMNIST = existsSync("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");

Deno.test({
  name: "hqat train → calibrate → qat → convert → predict-int → debug run on a Fashion-MNIST subset",
  ignore: !HAVE_FMNIST,
  async fn() {
    const out = await Deno.makeTempDir();
    const common = [
      "--limit",
      "4096",
      "--eval-limit",
      "500",
      "--batch-size",
      "64",
      "--out",
      out,
      "--no-progress",
    ];
    let r = await hqat("train", "--epochs", "2", ...common);
    assertEquals(r.code, 0, r.stderr);
    const acc = [...r.stdout.matchAll(/Float Epoch (\d): evaluation Acc@1 ([\d.]+) Acc@5 ([\d.]+)/g)];
    assertEquals(acc.length, 2, r.stdout);
    // Ten classes: chance is 10 %.
    assert(Number(acc[1][2]) > 40, `float top-1 ${acc[1][2]} is not clearly above chance`);
    r = await hqat("calibrate", "--calib-batches", "4", ...common);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /Calibration: evaluation Acc@1 [\d.]+ Acc@5 [\d.]+/);
    r = await hqat(
      "qat",
      "--epochs",
      "1",
      "--bn-reestimate-batches",
      "4",
      "--limit",
      "1024",
      "--eval-limit",
      "500",
      "--batch-size",
      "64",
      "--out",
      out,
      "--no-progress",
    );
    assertEquals(r.code, 0, r.stderr);
    assertMatch(
      r.stdout,
      /QAT Epoch 0: batch-norm statistics re-estimated on 256 training images \(with the statistics of training: Acc@1 [\d.]+ Acc@5 [\d.]+\)/,
    );
    assertMatch(r.stdout, /QAT Epoch 0: evaluation Acc@1 [\d.]+ Acc@5 [\d.]+/);
    r = await hqat("convert", ...common);
    assertEquals(r.code, 0, r.stderr);
    const q = r.stdout.match(/Quantized model: evaluation Acc@1 ([\d.]+)/);
    const agree = r.stdout.match(/agree on top-1 for ([\d.]+) %/);
    assert(q && Number(q[1]) > 30, r.stdout);
    assert(agree && Number(agree[1]) >= 90, r.stdout);
    const { saveNpy } = await import("@hqat/nn");
    const { randomKey, randomUniform } = await import("@hqat/tensor");
    await saveNpy(`${out}/x.npy`, randomUniform(randomKey(0), [2, 3, 32, 32], { min: -1, max: 1 }));
    r = await hqat(
      "predict-int",
      "--model",
      `${out}/int_model`,
      "--input",
      `${out}/x.npy`,
      "--output",
      `${out}/y.npy`,
      "--raw",
    );
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stderr, /qint32 output \[2,10\]/);
    if ((await probeWebGpu()).available) {
      // The fixed-point model on WebGPU writes the same integers.
      r = await hqat(
        "predict-int",
        "--model",
        `${out}/int_model`,
        "--input",
        `${out}/x.npy`,
        "--output",
        `${out}/y_gpu.npy`,
        "--raw",
        "--device",
        "webgpu",
      );
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stderr, /device: webgpu/);
      assertEquals(await Deno.readFile(`${out}/y_gpu.npy`), await Deno.readFile(`${out}/y.npy`));
    }
    r = await hqat("debug", "--out", out, "--batch-size", "4");
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /features\.0\.0\s+conv2d/);
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test("pipeline commands fail with one clear line on bad input", async () => {
  let r = await hqat("train", "--dataset", "imagenet", "--epochs", "1");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /Unknown data set "imagenet"/);
  r = await hqat("calibrate", "--float-checkpoint", "/nonexistent/f.safetensors", "--limit", "8");
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /nonexistent\/f\.safetensors/);
  r = await hqat("predict-int", "--model", "/nonexistent/int_model", "--input", "x.npy", "--output", "y.npy");
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /nonexistent\/int_model/);
  r = await hqat("train", "--epochs", "zero");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /--epochs must be a positive integer/);
  r = await hqat("qat", "--bn-reestimate-batches", "-1");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /--bn-reestimate-batches must be a non-negative integer, got "-1"/);
  for (const cmd of ["train", "eval", "calibrate", "qat", "convert", "predict-int", "debug"]) {
    r = await hqat(cmd, "--help");
    assertEquals(r.code, 0, cmd);
    assertMatch(r.stdout, /^Usage: hqat /, cmd);
  }
});

Deno.test({
  name: "hqat quickstart writes every artifact and the summary on a small budget",
  ignore: !HAVE_FMNIST,
  async fn() {
    const out = await Deno.makeTempDir();
    const r = await hqat(
      "quickstart",
      ...[
        "--limit",
        "1024",
        "--eval-limit",
        "256",
        "--float-epochs",
        "1",
        "--calib-batches",
        "2",
        "--batch-size",
        "64",
      ],
      ...["--out", out, "--summary", `${out}/summary.json`, "--no-progress"],
    );
    assertEquals(r.code, 0, r.stderr);
    for (
      const line of [
        /Float Epoch 0: evaluation Acc@1/,
        /Calibration: evaluation Acc@1/,
        /QAT Epoch 0: evaluation Acc@1/,
        /Quantized model: evaluation Acc@1/,
        /HBDK model check PASS/,
        /HBDK model compilation SUCCESS/,
        /FPS=[\d.]+, latency = [\d.]+ us, DDR = \d+ bytes/,
      ]
    ) assertMatch(r.stdout, line);
    const summary = JSON.parse(await Deno.readTextFile(`${out}/summary.json`));
    for (const stage of ["float", "calibration", "qat", "qatTrainingStatistics", "quantized"]) {
      assert(summary[stage].top1 >= 0, stage);
    }
    assertEquals(summary.quantized.agreementWithQat, 100);
    for (const [name, path] of Object.entries(summary.artifacts)) {
      assert(existsSync(path as string), `${name}: ${path}`);
    }
    assertEquals(Object.keys(summary.artifacts).sort(), [
      "calibCheckpoint",
      "floatCheckpoint",
      "hbm",
      "intModel",
      "perfHtml",
      "perfJson",
      "qatCheckpoint",
      "svg",
    ]);
    const bad = await hqat("quickstart", "--device", "tpu");
    assertEquals(bad.code, 2);
    assertMatch(bad.stderr, /Unknown device "tpu": expected one of auto, cpu, webgpu/);
    await Deno.remove(out, { recursive: true });
  },
});

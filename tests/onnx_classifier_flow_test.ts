/**
 * The classifier of `examples/onnx_classifier/` (imported from ONNX: hard-swish, squeeze-excitation with
 * hard-sigmoid and sigmoid gates, SiLU, residual adds, batch norm, global average pooling, Linear) through
 * the whole quantization flow of the command line on a small subset of Fashion-MNIST: `hqat train`,
 * `calibrate`, `qat` (one epoch) and `convert` each write their artifact; the fixed-point model agrees
 * with the QAT model in VALIDATION on every test image (and its output is VALIDATION's, bit for bit); it
 * passes `check`, and the `.hbm` compiled at O0–O3 gives `predict-int`'s integers through `run-hbm`.
 * Accuracy bars need the full data set: docs/onnx.md has the measured run.
 * @module
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { existsSync } from "node:fs";
import { chooseModel, loadDataset, qatQConfig, seedLoader, tensorBatches } from "@hqat/cli";
import { main } from "@hqat/cli/main";
import { prepareQatFx, setFakeQuantize } from "@hqat/fx";
import { March, setMarch } from "@hqat/march-bayes";
import { forward, loadState, readNpy, writeNpy } from "@hqat/nn";
import { FakeQuantState } from "@hqat/qtensor";
import { probeWebGpu } from "@hqat/tensor";

const ONNX = new URL("../examples/onnx_classifier/classifier.onnx", import.meta.url).pathname;
const DATA = "/usr/share/datasets/fashion-mnist";
const GPU = (await probeWebGpu()).available;

/** Runs `hqat <args>` in-process; returns what it printed and fails on a non-zero exit. */
async function hqat(...args: string[]): Promise<string> {
  const lines: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = console.error = (...a: unknown[]) => lines.push(a.join(" "));
  let code;
  try {
    code = await main(args);
  } finally {
    [console.log, console.error] = [log, error];
  }
  assertEquals(code, 0, `hqat ${args.join(" ")}:\n${lines.join("\n")}`);
  return lines.join("\n");
}

/** The first `n` test images as the commands feed them ([n, 3, 32, 32], centered YUV / 128). */
async function testImages(n: number) {
  const loader = seedLoader(await loadDataset("fashion-mnist", "test", { dataDir: DATA }), {
    batchSize: n,
    train: false,
    limit: n,
    workers: 0,
  });
  for await (const b of tensorBatches(loader, 0, 1)) return b.x;
  throw new Error("no test images");
}

Deno.test({
  name: "hqat train / calibrate / qat / convert take an imported classifier to a deployable int model",
  ignore: !existsSync(`${DATA}/train-images-idx3-ubyte.gz`),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      const common = [
        ["--onnx", ONNX, "--out", out, "--data-dir", DATA, "--no-progress"],
        ["--limit", "256", "--eval-limit", "128", "--batch-size", "64"],
      ].flat();
      assertMatch(await hqat("train", ...common, "--epochs", "1"), /Float Epoch 0: evaluation Acc@1/);
      assertMatch(
        await hqat("calibrate", ...common, "--calib-batches", "2"),
        /Calibration: evaluation Acc@1/,
      );
      assertMatch(
        await hqat("qat", ...common, "--epochs", "1", "--bn-reestimate-batches", "2"),
        /QAT Epoch 0: evaluation Acc@1/,
      );
      const converted = await hqat("convert", ...common);
      assertMatch(converted, /Quantized model: evaluation Acc@1/);
      assertMatch(converted, /models agree on top-1 for 100\.00 % of 128 images/);
      for (const f of ["float", "calib", "qat"]) assert(existsSync(`${out}/${f}-checkpoint.safetensors`), f);
      const intModel = `${out}/int_model`;
      assert(existsSync(intModel), "int_model");

      // The fixed-point model's output is the VALIDATION model's, bit for bit.
      const x = await testImages(16);
      await writeNpy(`${out}/x.npy`, { dtype: "F32", shape: [...x.shape], data: x.data as Float32Array });
      await hqat("predict-int", "--model", intModel, "--input", `${out}/x.npy`, "--output", `${out}/y.npy`);
      setMarch(March.BAYES);
      const model = await chooseModel({ onnx: ONNX, quantStubScale: 1 / 128, inputShape: [1, 3, 32, 32] });
      const prepared = prepareQatFx(model, qatQConfig(model));
      const state = await loadState(`${out}/qat-checkpoint.safetensors`, prepared);
      const validation = forward(setFakeQuantize(prepared, FakeQuantState.VALIDATION), state, x).y;
      assertEquals((await readNpy(`${out}/y.npy`)).data, validation.data, "VALIDATION vs fixed-point model");

      // check, then the compiled .hbm at every optimization level computes predict-int's integers.
      assertMatch(await hqat("check", "--model", intModel, "--input-source", "pyramid"), /check PASS/);
      await hqat(
        "predict-int",
        "--model",
        intModel,
        "--input",
        `${out}/x.npy`,
        "--output",
        `${out}/raw.npy`,
        "--raw",
      );
      const raw = (await readNpy(`${out}/raw.npy`)).data;
      for (const opt of ["O0", "O1", "O2", "O3"]) {
        const hbm = `${out}/${opt}.hbm`;
        await hqat("compile", "--model", intModel, "--hbm", hbm, "--opt", opt);
        const devices = opt === "O3" && GPU ? ["cpu", "webgpu"] : ["cpu"];
        for (const device of devices) {
          const y = `${out}/${opt}-${device}.npy`;
          await hqat(
            "run-hbm",
            "--hbm",
            hbm,
            "--input",
            `${out}/x.npy`,
            "--output",
            y,
            "--raw",
            "--device",
            device,
          );
          assertEquals((await readNpy(y)).data, raw, `${opt} on ${device}`);
        }
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("hqat quickstart --onnx takes --limit 0 and --eval-limit 0 (the whole splits)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/afile`, new Uint8Array(1));
    // The summary's folder is a file, so the command stops once its options are read, before training.
    const lines: string[] = [];
    const [log, error] = [console.log, console.error];
    console.log = console.error = (...a: unknown[]) => lines.push(a.join(" "));
    let code;
    try {
      code = await main([
        ...["quickstart", "--onnx", ONNX, "--limit", "0", "--eval-limit", "0"],
        ...["--out", `${dir}/q`, "--summary", `${dir}/afile/s.json`, "--device", "cpu"],
      ]);
    } finally {
      [console.log, console.error] = [log, error];
    }
    assert(code !== 0, lines.join("\n"));
    assert(!lines.join("\n").includes("--limit"), lines.join("\n"));
    assertMatch(lines.join("\n"), /afile/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import { hqat } from "./testdata/run_hqat.ts";
import { assert, assertEquals, assertLessOrEqual, assertMatch } from "@std/assert";
import { existsSync } from "node:fs";
import { loadNpy } from "@hqat/nn";
import { modelBytes } from "../onnx/src/encode_util.ts";
import { probeWebGpu } from "@hqat/tensor";

const ONNX = new URL("../onnx/testdata/", import.meta.url).pathname;
const HAVE_FMNIST = existsSync("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
const GPU = (await probeWebGpu()).available;

async function relDiff(a: string, b: string): Promise<number> {
  const y = await loadNpy(a), e = await loadNpy(b);
  assertEquals(y.shape, e.shape);
  let d = 0, m = 0;
  for (let i = 0; i < y.size; i++) {
    d = Math.max(d, Math.abs(y.data[i] - e.data[i]));
    m = Math.max(m, Math.abs(e.data[i]));
  }
  return d / m;
}

Deno.test("hqat inspect --onnx --json prints the imported network's state under its ONNX names", async () => {
  const r = await hqat("inspect", "--onnx", `${ONNX}resnet_block.onnx`, "--json");
  assertEquals(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assertEquals(j.state[0], ["conv1.weight", [8, 3, 3, 3], "float32"]);
  assert(j.state.some((s: unknown[]) => s[0] === "layer1.0.downsample.1.running_var"));
  assertEquals(j.onnx.input, ["N", 3, 32, 32]);
  assertEquals(j.onnx.output, ["N", 10]);
  assertEquals(j.onnx.opset, 13);
});

for (const device of ["cpu", "webgpu"]) {
  Deno.test({
    name: `hqat predict --onnx --device ${device} writes PyTorch's output for the imported network`,
    ignore: device === "webgpu" && !GPU,
    async fn() {
      const dir = await Deno.makeTempDir();
      for (const name of ["seg_head", "unet"]) {
        const out = `${dir}/${name}.npy`;
        const r = await hqat(
          "predict",
          "--onnx",
          `${ONNX}${name}.onnx`,
          "--input",
          `${ONNX}${name}.input.npy`,
          "--output",
          out,
          "--device",
          device,
        );
        assertEquals(r.code, 0, r.stderr);
        assertLessOrEqual(await relDiff(out, `${ONNX}${name}.output.npy`), 1e-4);
      }
      await Deno.remove(dir, { recursive: true });
    },
  });
}

Deno.test({
  name:
    "hqat train, calibrate, qat (and qat --lsq, convert) --onnx run an imported classifier on a Fashion-MNIST subset",
  ignore: !HAVE_FMNIST,
  async fn() {
    const out = await Deno.makeTempDir();
    const common = ["--onnx", `${ONNX}resnet_block.onnx`, "--limit", "512", "--eval-limit", "256"];
    const rest = ["--batch-size", "64", "--out", out, "--no-progress"];
    let r = await hqat("train", "--epochs", "1", ...common, ...rest);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /Float Epoch 0: evaluation Acc@1 [\d.]+ Acc@5 [\d.]+/);
    r = await hqat("eval", "--weights", `${out}/float-checkpoint.safetensors`, ...common, ...rest);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /Evaluation Acc@1 [\d.]+ Acc@5 [\d.]+ \(256 images\)/);
    r = await hqat("calibrate", "--calib-batches", "2", ...common, ...rest);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /Calibration: evaluation Acc@1 [\d.]+ Acc@5 [\d.]+/);
    r = await hqat("qat", "--epochs", "1", "--bn-reestimate-batches", "2", ...common, ...rest);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /QAT Epoch 0: evaluation Acc@1 [\d.]+ Acc@5 [\d.]+/);
    // LSQ: the activation scales train; convert reads them from the checkpoint.
    r = await hqat("qat", "--lsq", "--epochs", "1", "--bn-reestimate-batches", "0", ...common, ...rest);
    assertEquals(r.code, 0, r.stderr);
    r = await hqat("convert", ...common, ...rest);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /agree on top-1 for 100\.00 % of 256 images/);
    if (GPU) {
      // QAT on WebGPU (the software adapter in CI): observers, fake quantization and the BN fold on it.
      r = await hqat(
        "qat",
        "--device",
        "webgpu",
        "--epochs",
        "1",
        "--bn-reestimate-batches",
        "0",
        ...common,
        ...rest,
      );
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /QAT Epoch 0: evaluation Acc@1 [\d.]+ Acc@5 [\d.]+/);
      r = await hqat("convert", ...common, ...rest);
      assertEquals(r.code, 0, r.stderr);
      assertMatch(r.stdout, /agree on top-1 for 100\.00 % of 256 images/);
    }
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test("hqat --onnx commands fail with one clear line for networks they cannot take", async () => {
  let r = await hqat("train", "--onnx", `${ONNX}seg_head.onnx`, "--epochs", "1", "--no-progress");
  assertEquals(r.code, 1);
  assertMatch(
    r.stderr,
    /seg_head\.onnx: input shape \[1,3,32,32\] does not fit the model's \[batch,3,16,16\]/,
  );
  r = await hqat("train", "--onnx", `${ONNX}mobilenetv3_block.onnx`, "--num-classes", "5", "--no-progress");
  assertEquals(r.code, 1);
  assertMatch(
    r.stderr,
    /maps \[N,3,32,32\] to \[N,10\]; fashion-mnist needs a classifier of \[N,3,32,32\] images into \[N,5\]/,
  );
  // A weight matrix multiplied outside a layer (not nn.Linear's export) cannot be traced for quantization.
  const dir = await Deno.makeTempDir(), file = `${dir}/matmul.onnx`;
  await Deno.writeFile(
    file,
    modelBytes({
      input: { name: "x", shape: ["N", 3, 32, 32] },
      output: "y",
      nodes: [
        { op: "Flatten", inputs: ["x"], outputs: ["f"], name: "flat" },
        { op: "MatMul", inputs: ["f", "w"], outputs: ["y"], name: "mm" },
      ],
      initializers: { w: { dims: [3072, 10], data: new Array(30720).fill(0.01) } },
    }),
  );
  r = await hqat("calibrate", "--onnx", file, "--no-progress", "--out", dir);
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /node "mm" \(MatMul\) computes with initializers outside/);
  await Deno.remove(dir, { recursive: true });
  r = await hqat("inspect", "--onnx", `${ONNX}resnet_block.onnx`, "--arch", "resnet18");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /Give --arch or --onnx, not both/);
  r = await hqat("predict", "--onnx", "/nonexistent.onnx", "--input", "x.npy", "--output", "y.npy");
  assertEquals(r.code, 1);
  assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
});

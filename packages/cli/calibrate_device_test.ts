/**
 * Calibration with `--device webgpu` (the software adapter in CI) writes the CPU's calibration
 * checkpoint: the same entries, the float state bit for bit, the input QuantStub's observer (which sees
 * the same batches on both) bit for bit, and every other observer to within the float kernels' last
 * bits (a convolution's sum or a batch-norm fold may round differently on the two backends, so what the
 * observer sees may differ by an ulp; `packages/fx/src/device_calibration_test.ts` shows the observers
 * themselves bit for bit).
 * @module
 */
import { hqat } from "./testdata/run_hqat.ts";
import { assert, assertEquals } from "@std/assert";
import { readSafetensors } from "@hqat/io";
import { saveNpy } from "@hqat/nn";
import { probeWebGpu, randomKey, randomNormal } from "@hqat/tensor";
import { tinyFashionMnist } from "./testdata/tiny_data.ts";

const ONNX = new URL("../onnx/testdata/", import.meta.url).pathname;
const GPU = (await probeWebGpu()).available;
const OBSERVER = /\.(activation_post_process|weight_fake_quant)\.(min|max)_val$/;

/** Asserts that two calibration checkpoints agree as the module doc says. */
async function assertSameCalibration(cpuPath: string, gpuPath: string): Promise<void> {
  const cpu = (await readSafetensors(cpuPath)).tensors, gpu = (await readSafetensors(gpuPath)).tensors;
  assertEquals([...gpu.keys()], [...cpu.keys()]);
  let near = 0;
  for (const [k, a] of cpu) {
    const b = gpu.get(k)!;
    if (!OBSERVER.test(k) || k.startsWith("quant.")) {
      assertEquals(new Uint8Array(b.data.buffer), new Uint8Array(a.data.buffer), k);
      continue;
    }
    const prefix = k.replace(/(min|max)_val$/, "");
    const [lo, hi] = ["min_val", "max_val"].map((m) => cpu.get(prefix + m)!.data);
    for (let c = 0; c < a.data.length; c++) {
      const p = Number(b.data[c]), q = Number(a.data[c]);
      const range = Math.max(Math.abs(Number(lo[c])), Math.abs(Number(hi[c])));
      assert(Math.abs(p - q) <= 1e-5 * range, `${k}[${c}]: ${p} on WebGPU, ${q} on the CPU`);
    }
    near++;
  }
  assert(near > 0);
}

Deno.test({
  name: "hqat calibrate --device webgpu writes the CPU's calibration checkpoint",
  ignore: !GPU,
  async fn() {
    const dir = await Deno.makeTempDir();
    await tinyFashionMnist(`${dir}/data`, 96);
    const common = ["--onnx", `${ONNX}resnet_block.onnx`, "--data-dir", `${dir}/data`, "--batch-size", "32"];
    const rest = ["--limit", "64", "--eval-limit", "32", "--no-progress", "--calib-batches", "2"];
    let r = await hqat(
      "train",
      "--epochs",
      "1",
      ...common,
      "--limit",
      "64",
      "--eval-limit",
      "32",
      "--out",
      dir,
    );
    assertEquals(r.code, 0, r.stderr);
    const float = ["--float-checkpoint", `${dir}/float-checkpoint.safetensors`];
    r = await hqat("calibrate", "--device", "cpu", ...common, ...rest, ...float, "--out", `${dir}/cpu`);
    assertEquals(r.code, 0, r.stderr);
    r = await hqat("calibrate", "--device", "webgpu", ...common, ...rest, ...float, "--out", `${dir}/gpu`);
    assertEquals(r.code, 0, r.stderr);
    await assertSameCalibration(
      `${dir}/cpu/calib-checkpoint.safetensors`,
      `${dir}/gpu/calib-checkpoint.safetensors`,
    );
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "hqat ptq --device webgpu calibrates as on the CPU with percentile, mse and kl observers",
  ignore: !GPU,
  async fn() {
    const dir = await Deno.makeTempDir();
    await saveNpy(`${dir}/calib.npy`, randomNormal(randomKey(11), [16, 3, 32, 32]));
    for (const method of ["percentile", "mse", "kl"]) {
      for (const device of ["cpu", "webgpu"]) {
        const r = await hqat(
          "ptq",
          "--onnx",
          `${ONNX}regnet_block.onnx`,
          "--calib-data",
          `${dir}/calib.npy`,
          "--out",
          `${dir}/${method}-${device}`,
          "--batch-size",
          "8",
          "--calib-method",
          method,
          "--device",
          device,
        );
        assertEquals(r.code, 0, r.stderr);
      }
      await assertSameCalibration(
        `${dir}/${method}-cpu/calib-checkpoint.safetensors`,
        `${dir}/${method}-webgpu/calib-checkpoint.safetensors`,
      );
    }
    await Deno.remove(dir, { recursive: true });
  },
});

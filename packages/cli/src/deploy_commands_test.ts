import { assert, assertEquals, assertRejects } from "@std/assert";
import { runIntModel, saveIntModel } from "@hqat/fx";
import { loadHbm } from "@hqat/hbdk";
import { readNpy, writeNpy } from "@hqat/nn";
import { probeWebGpu } from "@hqat/tensor";
import { prng, ProgramBuilder } from "../../program/testdata/build.ts";
import { tinyIntModel } from "../../program/testdata/programs.ts";
import { deployCommands } from "./deploy_commands.ts";
import { CliError } from "./models.ts";

const GPU = (await probeWebGpu()).available;

/** Runs a command in-process, capturing what it prints. */
async function run(name: string, ...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { code: await deployCommands[name].run(args), out, err };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

async function fails(code: number, text: string, name: string, ...args: string[]): Promise<void> {
  const e = await assertRejects(() => run(name, ...args), CliError) as CliError;
  assertEquals(e.exitCode, code, e.message);
  assert(e.message.includes(text), `"${e.message}" should mention "${text}"`);
}

async function setup() {
  const dir = await Deno.makeTempDir();
  const model = tinyIntModel(3);
  await saveIntModel(`${dir}/int_model`, model);
  const x = new Float32Array(2 * 3 * 8 * 8).map((_, i) => Math.sin(i) * 0.9);
  await writeNpy(`${dir}/x.npy`, { dtype: "F32", shape: [2, 3, 8, 8], data: x });
  return { dir, model, x, file: `${dir}/int_model` };
}

Deno.test("hqat check passes a supported model and exits 1 with the violation for an unsupported one", async () => {
  const { dir, model, file } = await setup();
  const ok = await run("check", "--model", file, "--input-source", "pyramid");
  assertEquals([ok.code, ok.out], [0, ["This model is supported!", "HBDK model check PASS"]]);
  // An average pooling with a 300×300 stride: a valid program that BAYES cannot run.
  const b = new ProgramBuilder(prng(1), model.inputShape);
  const pooled = b.avgPool("ap", b.quantize("quant", 1 / 128), {
    kernel: [3, 3],
    stride: [300, 300],
    padding: [1, 1],
  }, {
    dtype: "qint8",
    scale: 0.01,
  });
  b.dequantize("dq", pooled);
  await saveIntModel(`${dir}/bad`, b.build());
  const bad = await run("check", "--model", `${dir}/bad`);
  assertEquals(bad.code, 1);
  assertEquals(bad.out, [
    "ap: avg_pool2d stride 300×300 exceeds the BAYES limit (stride ≤ 256)",
    "HBDK model check FAIL",
  ]);
  await fails(2, "Missing --model", "check");
  await fails(2, "Unknown option --modle", "check", "--modle", file);
  await fails(
    2,
    "--input-source must be one of ddr, pyramid, resizer",
    "check",
    "--model",
    file,
    "--input-source",
    "camera",
  );
  await fails(2, "--march must be bayes", "check", "--model", file, "--march", "nash");
  await fails(1, `Cannot read "${dir}/none"`, "check", "--model", `${dir}/none`);
  assertEquals((await run("check", "--help")).code, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("hqat compile writes a .hbm for the batch asked and refuses bad options", async () => {
  const { dir, file } = await setup();
  const r = await run("compile", "--model", file, "--input-source", "pyramid", "--opt", "O3", "--batch", "4");
  assertEquals(r.code, 0);
  assertEquals(r.out, [
    "WARNING: arg0 can not be assigned to NCHW_NATIVE layout because it's input source is pyramid.",
    "HBDK model compilation SUCCESS",
  ]);
  const p = loadHbm(await Deno.readFile(`${dir}/model.hbm`));
  assertEquals([p.opt, p.inputShape[0], p.name], ["O3", 4, "int_model"]);
  const named = await run(
    "compile",
    "--model",
    file,
    "--hbm",
    `${dir}/other.hbm`,
    "--input",
    `${dir}/x.npy`,
    "--name",
    "tiny",
  );
  assertEquals(named.code, 0);
  assertEquals(loadHbm(await Deno.readFile(`${dir}/other.hbm`)).inputShape[0], 2);
  await fails(2, "--opt must be one of O0, O1, O2, O3", "compile", "--model", file, "--opt", "O5");
  await fails(2, "--hbm must name a .hbm file", "compile", "--model", file, "--hbm", `${dir}/m.bin`);
  await fails(2, "--batch must be a positive integer", "compile", "--model", file, "--batch", "0");
  await fails(
    2,
    "differs from the batch 2 of --input",
    "compile",
    "--model",
    file,
    "--input",
    `${dir}/x.npy`,
    "--batch",
    "3",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("hqat perf and visualize write their reports", async () => {
  const { dir, file } = await setup();
  const perf = await run(
    "perf",
    "--model",
    file,
    "--out-dir",
    `${dir}/perf`,
    "--layer-details",
    "--name",
    "tiny",
  );
  assertEquals(perf.code, 0);
  assert(perf.out.some((l) => l.startsWith("FPS=") && l.endsWith(`(see ${dir}/perf/tiny.html)`)));
  const json = JSON.parse(await Deno.readTextFile(`${dir}/perf/tiny.json`));
  assert(json["layer details"].length > 0 && json.summary["model name"] === "tiny");
  const vis = await run("visualize", "--model", file, "--save-path", `${dir}/m.svg`);
  assertEquals(vis.code, 0);
  assert((await Deno.readTextFile(`${dir}/m.svg`)).includes('<g class="node" data-name="c1">'));
  await fails(2, "Unknown option --save", "visualize", "--model", file, "--save", "x.svg");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("hqat run-hbm gives runIntModel's output (float and raw) and names what is wrong", async () => {
  const { dir, model, x, file } = await setup();
  await run("compile", "--model", file, "--hbm", `${dir}/m.hbm`, "--opt", "O2");
  const ref = runIntModel(model, x, [2, 3, 8, 8]);
  assertEquals(
    (await run("run-hbm", "--hbm", `${dir}/m.hbm`, "--input", `${dir}/x.npy`, "--output", `${dir}/y.npy`))
      .code,
    0,
  );
  const y = await readNpy(`${dir}/y.npy`);
  assertEquals([y.dtype, y.shape, [...y.data]], ["F32", [2, 5], [...ref.output]]);
  await run(
    "run-hbm",
    "--hbm",
    `${dir}/m.hbm`,
    "--input",
    `${dir}/x.npy`,
    "--output",
    `${dir}/raw.npy`,
    "--raw",
    "--device",
    "cpu",
  );
  const raw = await readNpy(`${dir}/raw.npy`);
  assertEquals([raw.dtype, [...raw.data]], ["I32", [...ref.raw.data]]);
  if (GPU) {
    // The same integers from the WebGPU runtime.
    const gpu = await run(
      "run-hbm",
      "--hbm",
      `${dir}/m.hbm`,
      "--input",
      `${dir}/x.npy`,
      "--output",
      `${dir}/raw_gpu.npy`,
      "--raw",
      "--device",
      "webgpu",
    );
    assertEquals(gpu.code, 0);
    assert(gpu.err.join("\n").includes("device: webgpu"), gpu.err.join("\n"));
    assertEquals([...(await readNpy(`${dir}/raw_gpu.npy`)).data], [...ref.raw.data]);
  }
  await fails(2, 'Unknown device "tpu": expected one of auto, cpu, webgpu', "run-hbm", "--device", "tpu");
  await fails(2, "Missing --input", "run-hbm", "--hbm", `${dir}/m.hbm`, "--output", `${dir}/z.npy`);
  const bytes = await Deno.readFile(`${dir}/m.hbm`);
  await Deno.writeFile(`${dir}/cut.hbm`, bytes.subarray(0, 100));
  await fails(
    1,
    `Cannot load "${dir}/cut.hbm"`,
    "run-hbm",
    "--hbm",
    `${dir}/cut.hbm`,
    "--input",
    `${dir}/x.npy`,
    "--output",
    `${dir}/z.npy`,
  );
  await writeNpy(`${dir}/x2.npy`, { dtype: "F32", shape: [1, 3, 4, 4], data: new Float32Array(48) });
  await fails(
    1,
    "does not match the compiled input [N,3,8,8]",
    "run-hbm",
    "--hbm",
    `${dir}/m.hbm`,
    "--input",
    `${dir}/x2.npy`,
    "--output",
    `${dir}/z.npy`,
  );
  await Deno.remove(dir, { recursive: true });
});

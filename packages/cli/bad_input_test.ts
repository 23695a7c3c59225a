/**
 * The command line given hostile input: one test per defect of the hardening issue, each a run that
 * used to succeed with a wrong result, destroy a file, hang, trap or fail only after the work. Every
 * run here ends quickly with exit 1 or 2 and one line naming the file and the problem.
 * @module
 */
import { hqat } from "./testdata/run_hqat.ts";
import { tinyFashionMnist } from "./testdata/tiny_data.ts";
import { assert, assertEquals, assertMatch } from "@std/assert";
import { initState, mobilenetV2, saveState } from "@hqat/nn";
import { encodeProgram, type Program, saveIntModel } from "@hqat/program";
import { fromArray, randomKey } from "@hqat/tensor";
import { prng, ProgramBuilder } from "../program/testdata/build.ts";
import { tinyIntModel } from "../program/testdata/programs.ts";

function assertStringIncludes(text: string, part: string, context = ""): void {
  assert(text.includes(part), `${context ? `${context}: ` : ""}expected "${part}" in:\n${text}`);
}

async function inTemp(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** An `.npy` file of float32 `shape` with values in [-1, 1). */
async function writeNpy(path: string, shape: number[]): Promise<void> {
  const n = shape.reduce((a, b) => a * b, 1), r = prng(5);
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")},), }`;
  const padded = header.padEnd(Math.ceil((header.length + 11) / 64) * 64 - 11) + "\n";
  const head = new Uint8Array([
    0x93,
    ...new TextEncoder().encode("NUMPY"),
    1,
    0,
    padded.length & 255,
    padded.length >> 8,
  ]);
  const body = new Uint8Array(Float32Array.from({ length: n }, () => r() * 2 - 1).buffer);
  await Deno.writeFile(path, new Uint8Array([...head, ...new TextEncoder().encode(padded), ...body]));
}

/** The tiny int model with its first convolution padding by `p`, shapes made consistent (452 bytes). */
function paddedConv(p: number): Program {
  const b = new ProgramBuilder(prng(1), [1, 1, 8, 8]);
  const c = b.conv("c", b.quantize("quant", 1 / 128), { cout: 1, k: 1 }, { dtype: "qint8", scale: 0.05 });
  b.dequantize("dq", c);
  const small = b.build(), side = 8 + 2 * p;
  return {
    ...small,
    buffers: small.buffers.map((buf, i) => (i === 0 ? buf : { ...buf, shape: [1, 1, side, side] })),
    instructions: small.instructions.map((
      i,
    ) => (i.op === "conv2d" ? { ...i, padding: [p, p], tileRows: side } : i)),
  };
}

Deno.test("hqat check, perf, compile and predict-int refuse an int model whose buffers exceed the frame bound (it trapped in WebAssembly)", () =>
  inTemp(async (dir) => {
    await Deno.writeFile(`${dir}/int_model`, encodeProgram(paddedConv(16000)));
    await writeNpy(`${dir}/x.npy`, [1, 1, 8, 8]);
    for (
      const args of [["check"], ["perf"], ["compile", "--hbm", `${dir}/m.hbm`], [
        "predict-int",
        "--input",
        `${dir}/x.npy`,
        "--output",
        `${dir}/y.npy`,
      ]]
    ) {
      const r = await hqat(args[0], "--model", `${dir}/int_model`, ...args.slice(1));
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(
        r.stderr,
        `Cannot load "${dir}/int_model": buffer 1 ("c") [1,1,32008,32008] has more than`,
      );
    }
  }));

Deno.test("hqat commands refuse an output that is one of their inputs and leave the input intact", () =>
  inTemp(async (dir) => {
    const model = `${dir}/m.hbm`; // an int model whose name ends in .hbm, so compile --hbm may name it
    await saveIntModel(model, tinyIntModel(3));
    await writeNpy(`${dir}/x.npy`, [2, 3, 8, 8]);
    let r = await hqat("compile", "--model", model, "--hbm", `${dir}/c.hbm`);
    assertEquals(r.code, 0, r.stderr);
    const before = await Deno.readFile(model), x = await Deno.readFile(`${dir}/x.npy`);
    const cases = [
      ["compile", "--model", model, "--hbm", `${dir}/./m.hbm`],
      ["run-hbm", "--hbm", `${dir}/c.hbm`, "--input", `${dir}/x.npy`, "--output", `${dir}/c.hbm`],
      ["run-hbm", "--hbm", `${dir}/c.hbm`, "--input", `${dir}/x.npy`, "--output", `${dir}/x.npy`],
      ["visualize", "--model", model, "--save-path", model],
      ["predict-int", "--model", model, "--input", `${dir}/x.npy`, "--output", `${dir}/x.npy`],
      ["predict-int", "--model", model, "--input", `${dir}/x.npy`, "--output", model],
      ["predict", "--arch", "mobilenetv2", "--weights", model, "--input", `${dir}/x.npy`, "--output", model],
      [
        "ptq",
        "--arch",
        "mobilenetv2",
        "--weights",
        model,
        "--calib-data",
        `${dir}/x.npy`,
        "--out",
        `${dir}/p`,
        "--summary",
        `${dir}/x.npy`,
      ],
      ["export-onnx", "--model", model, "--output", `${dir}/q.onnx`, "--report", model],
    ];
    for (const c of cases) {
      r = await hqat(...c);
      assertEquals(r.code, 1, `${c.join(" ")}: ${r.stderr}`);
      assertStringIncludes(r.stderr, "it is also an input of this run", c.join(" "));
    }
    assertEquals(await Deno.readFile(model), before);
    assertEquals(await Deno.readFile(`${dir}/x.npy`), x);
  }));

Deno.test("hqat run-hbm and predict-int refuse /dev/zero and a FIFO instead of growing or hanging", () =>
  inTemp(async (dir) => {
    await saveIntModel(`${dir}/int_model`, tinyIntModel(3));
    const made = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert(made.success);
    let r = await hqat("run-hbm", "--hbm", "/dev/zero", "--input", `${dir}/fifo`, "--output", `${dir}/y.npy`);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, 'Cannot read "/dev/zero": a device, not a regular file');
    r = await hqat(
      "predict-int",
      "--model",
      `${dir}/int_model`,
      "--input",
      `${dir}/fifo`,
      "--output",
      `${dir}/y.npy`,
    );
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, `Cannot read "${dir}/fifo": a FIFO (named pipe), not a regular file`);
  }));

Deno.test("hqat perf takes a model whose file name has a space (the report is named with _)", () =>
  inTemp(async (dir) => {
    await saveIntModel(`${dir}/my model`, tinyIntModel(3));
    const r = await hqat("perf", "--model", `${dir}/my model`);
    assertEquals(r.code, 0, r.stderr);
    assert((await Deno.stat(`${dir}/perf_out/my_model.html`)).isFile);
  }));

Deno.test("hqat train refuses --num-classes below the data set's classes, and a huge one, before loading anything", async () => {
  let r = await hqat("train", "--num-classes", "2", "--out", "/nonexistent/never");
  assertEquals(r.code, 2, r.stderr);
  assertStringIncludes(r.stderr, "--num-classes 2 is fewer than the 10 classes of fashion-mnist");
  r = await hqat("train", "--num-classes", "100000000", "--out", "/nonexistent/never");
  assertEquals(r.code, 2, r.stderr);
  assertStringIncludes(r.stderr, "--num-classes 100000000 is more than 100000");
});

Deno.test("hqat train refuses an empty data set instead of writing checkpoints", () =>
  inTemp(async (dir) => {
    await tinyFashionMnist(`${dir}/data`, 0);
    const r = await hqat(
      "train",
      "--epochs",
      "1",
      "--data-dir",
      `${dir}/data`,
      "--out",
      `${dir}/out`,
      "--no-progress",
      "--device",
      "cpu",
    );
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "The train split of fashion-mnist is empty");
    assertEquals((await Array.fromAsync(Deno.readDir(`${dir}/out`))).map((e) => e.name), [".hqat.lock"]);
  }));

Deno.test("hqat eval with weights that give NaN logits is an error, not Acc@1 100", () =>
  inTemp(async (dir) => {
    await tinyFashionMnist(`${dir}/data`, 16);
    const model = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
    const state = initState(model, randomKey(0));
    const name = Object.keys(state).find((k) => k.endsWith("weight"))!;
    state[name] = fromArray(new Float32Array(state[name].size).fill(NaN), state[name].shape);
    await saveState(`${dir}/nan.safetensors`, model, state);
    const r = await hqat(
      "eval",
      "--weights",
      `${dir}/nan.safetensors`,
      "--data-dir",
      `${dir}/data`,
      "--no-progress",
      "--device",
      "cpu",
    );
    assertEquals(r.code, 1, r.stdout + r.stderr);
    assertMatch(r.stderr, /Cannot evaluate: the model's output is NaN for image 0 \(batch 0\)/);
    assert(!r.stdout.includes("Acc@1"), r.stdout);
  }));

Deno.test("hqat quickstart and qat check their outputs before training: a --summary or --out under a file fails at once", () =>
  inTemp(async (dir) => {
    await Deno.writeFile(`${dir}/afile`, new Uint8Array(1));
    const t0 = performance.now();
    let r = await hqat(
      "quickstart",
      "--out",
      `${dir}/q`,
      "--summary",
      `${dir}/afile/s.json`,
      "--device",
      "cpu",
    );
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(
      r.stderr,
      `Cannot write "${dir}/afile/s.json": its folder "${dir}/afile": it is a file`,
    );
    r = await hqat("qat", "--out", `${dir}/afile/sub`);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, `Cannot write "${dir}/afile/sub": cannot create the folder`);
    assert(performance.now() - t0 < 60_000);
  }));

Deno.test("hqat convert creates --out, refuses a folder another run holds naming its PID, and removes a killed run's temporary files", () =>
  inTemp(async (dir) => {
    const out = `${dir}/new/out`;
    await Deno.mkdir(out, { recursive: true });
    await Deno.writeTextFile(`${out}/.hqat.lock`, JSON.stringify({ pid: 4242, command: "hqat qat" }));
    const holder = new Deno.Command("flock", { args: ["-o", `${out}/.hqat.lock`, "sleep", "5"] }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const r = await hqat("convert", "--out", out);
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(r.stderr, `another run uses this folder (PID 4242, "hqat qat"`);
    } finally {
      holder.kill("SIGKILL");
      await holder.status;
    }
    // The run holding the folder was killed while writing its int model.
    await Deno.writeFile(`${out}/.int_model.4242-0a1b2c3d.tmp`, new Uint8Array(100));
    let r = await hqat("convert", "--out", out);
    assertEquals(r.code, 1, r.stderr); // no checkpoint to convert
    assertStringIncludes(r.stderr, "qat-checkpoint.safetensors");
    assertEquals((await Array.fromAsync(Deno.readDir(out))).map((e) => e.name), [".hqat.lock"]);
    r = await hqat("convert", "--out", `${dir}/created/here`);
    assert((await Deno.stat(`${dir}/created/here`)).isDirectory);
  }));

Deno.test("hqat qat refuses a calibration checkpoint whose quantizers have seen no data or hold NaN, before training", () =>
  inTemp(async (dir) => {
    const { prepareQatFx } = await import("@hqat/fx");
    const { March } = await import("@hqat/march-bayes");
    const { qatQConfig } = await import("./src/quant_stage.ts");
    const { qatStateFromFloat } = await import("@hqat/fx");
    const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
    const calib = prepareQatFx(float, qatQConfig(float), { march: March.BAYES });
    const state = qatStateFromFloat(calib, initState(float, randomKey(0)));
    await Deno.mkdir(`${dir}/out`);
    await saveState(`${dir}/out/calib-checkpoint.safetensors`, calib, state);
    const r = await hqat("qat", "--out", `${dir}/out`, "--no-progress");
    assertEquals(r.code, 1, r.stderr);
    assertMatch(
      r.stderr,
      /quantizer ".*activation_post_process" has seen no data .*run hqat calibrate first/,
    );
  }));

Deno.test("hqat predict reads --batch-size: a non-positive one is refused, and batches of 2 give the whole batch's logits", () =>
  inTemp(async (dir) => {
    await writeNpy(`${dir}/x.npy`, [5, 3, 32, 32]);
    const onnx = new URL("../onnx/testdata/resnet_block.onnx", import.meta.url).pathname;
    const run = (out: string, size: string) =>
      hqat("predict", "--onnx", onnx, "--input", `${dir}/x.npy`, "--output", out, "--batch-size", size);
    let r = await run(`${dir}/y0.npy`, "0");
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(r.stderr, "--batch-size must be a positive integer");
    r = await run(`${dir}/y2.npy`, "2");
    assertEquals(r.code, 0, r.stderr);
    r = await run(`${dir}/y5.npy`, "5");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(await Deno.readFile(`${dir}/y2.npy`), await Deno.readFile(`${dir}/y5.npy`));
  }));

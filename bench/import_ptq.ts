/**
 * Post-training quantization of every ONNX fixture network: calibration on 64 calibration-like inputs
 * (standard normal, the distribution the fixtures' own inputs come from), then on 64 held-back inputs
 * of the same kind the fixed-point output's cosine similarity and SQNR against the float output, and
 * the BAYES performance estimate of the program compiled at O1 for one frame (what `hqat perf`
 * reports). Prints a Markdown table and writes `out/import_ptq.json`.
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-env bench/import_ptq.ts
 * ```
 * @module
 */
import { ptq } from "@hqat/fx";
import { compileProgram, estimatePerformance } from "@hqat/hbdk";
import { atomicWriteFile, parseNpy } from "@hqat/io";
import { March } from "@hqat/march-bayes";
import { forward } from "@hqat/nn";
import { loadOnnx } from "@hqat/onnx";
import { runIntModel } from "@hqat/program";
import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
import { randomKey, randomNormal } from "@hqat/tensor";

const DIR = new URL("../packages/onnx/testdata/", import.meta.url);
const manifest: { name: string }[] = JSON.parse(await Deno.readTextFile(new URL("manifest.json", DIR)));
const rows: Record<string, unknown>[] = [];
console.log("| network | cosine | SQNR (dB) | instructions | FPS | latency (µs) | DDR (bytes/frame) |");
console.log("|---|---|---|---|---|---|---|");
for (const { name } of manifest) {
  const model = loadOnnx(await Deno.readFile(new URL(`${name}.onnx`, DIR)), {
    source: `${name}.onnx`,
    quantStubScale: null,
  });
  const frame = parseNpy(await Deno.readFile(new URL(`${name}.input.npy`, DIR))).shape.slice(1);
  const float = model.initialState();
  let r;
  try {
    r = ptq(model, float, randomNormal(randomKey(3), [64, ...frame]), {
      qconfig: { "": q8 },
      march: March.BAYES,
      batchSize: 16,
      warn: () => {},
    });
  } catch (e) {
    console.log(`| ${name} | not quantized: ${(e as Error).message.replaceAll("|", "/")} | | | | | |`);
    rows.push({ name, error: (e as Error).message });
    continue;
  }
  const test = randomNormal(randomKey(9), [64, ...frame]);
  const want = forward(model, float, test).y.data;
  const got = runIntModel(r.intModel, test.data as Float32Array, test.shape).output;
  let dot = 0, na = 0, nb = 0, err = 0;
  for (let i = 0; i < want.length; i++) {
    dot += want[i] * got[i];
    na += want[i] ** 2;
    nb += got[i] ** 2;
    err += (want[i] - got[i]) ** 2;
  }
  const cosine = dot / Math.sqrt(na * nb), sqnr = 10 * Math.log10(na / err);
  const { program } = compileProgram(r.intModel, [{ shape: [1, ...frame] }], { opt: "O1", log: () => {} });
  const perf = estimatePerformance(program);
  rows.push({
    name,
    cosine,
    sqnrDb: sqnr,
    instructions: r.intModel.instructions.length,
    kinds: [...new Set(r.intModel.instructions.map((i) => i.op))],
    fps: perf.fps,
    latencyUs: perf.latencyUs,
    ddrBytesPerFrame: perf.ddrBytesPerFrame,
  });
  console.log(
    `| ${name} | ${cosine.toFixed(5)} | ${sqnr.toFixed(1)} | ${r.intModel.instructions.length} | ` +
      `${perf.fps.toFixed(1)} | ${perf.latencyUs.toFixed(1)} | ${Math.round(perf.ddrBytesPerFrame)} |`,
  );
}
await Deno.mkdir(new URL("../out/", import.meta.url), { recursive: true });
await atomicWriteFile(
  new URL("../out/import_ptq.json", import.meta.url),
  new TextEncoder().encode(JSON.stringify(rows, null, 1)),
);

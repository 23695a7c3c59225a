import { assert, assertEquals, assertGreaterOrEqual, assertThrows } from "@std/assert";
import { March } from "@hqat/march-bayes";
import { loadNpy } from "@hqat/nn";
import { readOnnx } from "@hqat/onnx";
import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
import { randomKey, randomNormal } from "@hqat/tensor";
import {
  analysisFromJson,
  analysisHtml,
  type AnalysisInputs,
  analysisJobs,
  analysisShard,
  analysisToJson,
  analyzeQuantization,
  mergeAnalysisShards,
  ptq,
  splitBatches,
} from "../mod.ts";

const ONNX = new URL("../../onnx/testdata/", import.meta.url).pathname;

async function inputs(): Promise<AnalysisInputs> {
  const held = await loadNpy(`${ONNX}regnet_block.input.npy`, { dtype: "float32" });
  const model = await readOnnx(`${ONNX}regnet_block.onnx`, { inputShape: held.shape, quantStubScale: null });
  const data = randomNormal(randomKey(9), [12, ...held.shape.slice(1)]);
  const r = ptq(model, model.initialState(), data, {
    qconfig: { "": q8 },
    march: March.BAYES,
    warn: () => {},
  });
  return { ...r, batches: [...splitBatches(data, 5)] };
}

const INPUTS = await inputs();

Deno.test("analysisShard() shards merged in any order give the single run's report byte for byte", () => {
  const single = analyzeQuantization(INPUTS);
  const shards = [2, 0, 1].map((k) =>
    analysisFromJson<ReturnType<typeof analysisShard>>(
      analysisToJson(analysisShard(INPUTS, k, 3)),
    )
  );
  const merged = mergeAnalysisShards(shards);
  assertEquals(analysisToJson(merged), analysisToJson(single));
  assertEquals(analysisHtml(merged), analysisHtml(single));
});

Deno.test("analyzeQuantization() covers every quantized node, ranks sensitivity and lists the worst inputs", () => {
  const r = analyzeQuantization(INPUTS);
  const quantized = INPUTS.prepared.graph.nodes.filter((n) => INPUTS.prepared.specs.has(n.name)).map((n) =>
    n.name
  );
  assertEquals(r.sensitivity.map((s) => s.node).sort(), [...quantized].sort());
  for (let i = 1; i < r.sensitivity.length; i++) {
    assertGreaterOrEqual(r.sensitivity[i].only.cosine, r.sensitivity[i - 1].only.cosine);
  }
  // With one layer quantized the output is at least as close to float as with all of them, within noise.
  for (const s of r.sensitivity) assertGreaterOrEqual(s.only.cosine, r.output.cosine - 1e-4, s.node);
  assert(r.sensitivity.some((s) => s.int16 && s.int16.cosine > r.output.cosine - 1e-6));
  assertEquals(r.worst.length, 12);
  assertEquals(new Set(r.worst.map((w) => w.index)).size, 12);
  for (let i = 1; i < r.worst.length; i++) assertGreaterOrEqual(r.worst[i].cosine, r.worst[i - 1].cosine);
  assert(r.layers.length > 0 && r.layers.every((l) => l.cosineInt > 0.99 && l.maxLsbDiff <= 1));
});

Deno.test("mergeAnalysisShards() refuses missing, repeated and foreign shards", () => {
  const jobs = analysisJobs(INPUTS.prepared);
  const a = analysisShard(INPUTS, 0, 2), b = analysisShard(INPUTS, 1, 2);
  assertThrows(
    () => mergeAnalysisShards([a]),
    RangeError,
    `${Math.floor(jobs.length / 2)} of ${jobs.length} jobs are missing`,
  );
  assertThrows(() => mergeAnalysisShards([a, b, a]), RangeError, "more than one shard");
  assertThrows(
    () => mergeAnalysisShards([a, { ...b, jobs: b.jobs.slice(1) }]),
    RangeError,
    "another analysis",
  );
  assertThrows(() => analysisShard(INPUTS, 2, 2), RangeError, "0 ≤ K < N");
});

import { assert, assertEquals, assertLessOrEqual } from "@std/assert";
import { March } from "@hqat/march-bayes";
import { loadNpy } from "@hqat/nn";
import { readOnnx } from "@hqat/onnx";
import { calibQConfigFor } from "@hqat/qtensor";
import { randomKey, randomNormal } from "@hqat/tensor";
import { ptq, ptqMix } from "../mod.ts";

const ONNX = new URL("../../onnx/testdata/", import.meta.url).pathname;

Deno.test("ptqMix() keeps per quantizer the range that lowers the output error, never above the best single method", async () => {
  const held = await loadNpy(`${ONNX}regnet_block.input.npy`, { dtype: "float32" });
  const model = await readOnnx(`${ONNX}regnet_block.onnx`, { inputShape: held.shape, quantStubScale: null });
  // Heavy-tailed calibration inputs, so that the methods disagree.
  const calib = randomNormal(randomKey(5), [16, ...held.shape.slice(1)]);
  const d = calib.data as Float32Array;
  for (let i = 0; i < d.length; i += 97) d[i] *= 8;
  const opts = {
    qconfig: (m: "min_max" | "percentile" | "mse" | "kl") => ({ "": calibQConfigFor(m) }),
    march: March.BAYES,
    batchSize: 8,
    warn: () => {},
  };
  const r = ptqMix(model, model.initialState(), calib, opts);
  const errors = Object.values(r.methodError);
  assertEquals(errors.length, 4);
  assertLessOrEqual(r.error, Math.min(...errors));
  const acts = r.prepared.quantizers().filter((p) => p.endsWith(".activation_post_process"));
  assertEquals(Object.keys(r.choice).sort(), acts.sort());
  assertEquals([r.batches, r.images], [2, 16]);
  assert(r.intModel.instructions.length > 0);
  // One method alone is that method's PTQ.
  const one = ptqMix(model, model.initialState(), calib, { ...opts, methods: ["kl"] });
  const kl = ptq(model, model.initialState(), calib, { ...opts, qconfig: { "": calibQConfigFor("kl") } });
  for (const k of Object.keys(kl.state)) assertEquals(one.state[k].data, kl.state[k].data, k);
});

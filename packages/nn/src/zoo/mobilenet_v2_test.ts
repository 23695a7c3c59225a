import { assert, assertEquals, assertLessOrEqual } from "@std/assert";
import { forward, initState, loadNpy, loadState, mobilenetV2, stateSpecs } from "@hqat/nn";
import { randomKey, std } from "../../testdata/_stats.ts";

const TESTDATA = new URL("../../testdata/", import.meta.url).pathname;

Deno.test("mobilenetV2() has torchvision's 314 state entries and 2,236,682 parameters", () => {
  const specs = stateSpecs(mobilenetV2({ numClasses: 10 }));
  assertEquals(specs.length, 314);
  const params = specs.filter((s) => s.kind === "param").reduce(
    (a, s) => a + s.shape.reduce((p, d) => p * d, 1),
    0,
  );
  assertEquals(params, 2236682);
  assertEquals(specs[0].name, "features.0.0.weight");
  assertEquals(specs[5].name, "features.0.1.num_batches_tracked");
  assertEquals(specs[313].name, "classifier.1.bias");
});

Deno.test("mobilenetV2() loads PyTorch's state dict with the same keys, order and shapes", async () => {
  const { readSafetensors } = await import("@hqat/nn");
  const { tensors } = await readSafetensors(`${TESTDATA}mobilenet_v2_c10.safetensors`);
  const specs = stateSpecs(mobilenetV2({ numClasses: 10 }));
  assertEquals([...tensors.keys()], specs.map((s) => s.name));
  for (const s of specs) assertEquals(tensors.get(s.name)!.shape, [...s.shape], s.name);
});

Deno.test("mobilenetV2() eval logits equal PyTorch's within 1e-4", async () => {
  const model = mobilenetV2({ numClasses: 10 });
  const state = await loadState(`${TESTDATA}mobilenet_v2_c10.safetensors`, model);
  const x = await loadNpy(`${TESTDATA}mobilenet_v2_input.npy`);
  const expected = await loadNpy(`${TESTDATA}mobilenet_v2_logits.npy`);
  const { y } = forward(model, state, x);
  assertEquals(y.shape, expected.shape);
  let maxDiff = 0;
  for (let i = 0; i < y.size; i++) maxDiff = Math.max(maxDiff, Math.abs(y.data[i] - expected.data[i]));
  assertLessOrEqual(maxDiff, 1e-4, `max abs difference ${maxDiff}`);
});

Deno.test("mobilenetV2() initializes like torchvision (kaiming fan-out convs, N(0, 0.01) classifier)", () => {
  const model = mobilenetV2({ numClasses: 10 });
  const s = initState(model, randomKey(0));
  // features.18.0: 1x1 conv 320 -> 1280, fan_out = 1280: std sqrt(2/1280).
  const w = s["features.18.0.weight"];
  assert(Math.abs(std(w.data) / Math.sqrt(2 / 1280) - 1) < 0.02);
  assert(Math.abs(std(s["classifier.1.weight"].data) / 0.01 - 1) < 0.05);
  assertEquals(s["classifier.1.bias"].toArray().every((v) => v === 0), true);
  assertEquals(s["features.0.1.running_var"].toArray().every((v) => v === 1), true);
});

/**
 * PyTorch's export keeps one copy of initializers with equal values (a fresh batch norm's weight and
 * running variance are all ones) and names the others through Identity nodes; the import gives each
 * name its own state entry, so two batch norms never share statistics.
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { forward } from "@hqat/nn";
import { randomKey, randomNormal } from "@hqat/tensor";
import { modelBytes } from "./encode_util.ts";
import { loadOnnx } from "./load.ts";

Deno.test("Identity-named copies of an initializer become separate parameters and buffers", () => {
  const ones = { dims: [2], data: [1, 1] }, zeros = { dims: [2], data: [0, 0] };
  const bn = (name: string, x: string, y: string) => ({
    op: "BatchNormalization",
    name,
    inputs: [x, `${name}.weight`, `${name}.bias`, `${name}.running_mean`, `${name}.running_var`],
    outputs: [y],
  });
  const id = (from: string, to: string) => ({
    op: "Identity",
    inputs: [from],
    outputs: [to],
    name: `id_${to}`,
  });
  const bytes = modelBytes({
    input: { name: "x", shape: ["N", 2, 3, 3] },
    output: "y",
    initializers: { "bn1.weight": ones, "bn1.bias": zeros },
    nodes: [
      id("bn1.weight", "bn1.running_var"),
      id("bn1.bias", "bn1.running_mean"),
      id("bn1.weight", "bn2.weight"),
      id("bn1.bias", "bn2.bias"),
      id("bn1.bias", "bn2.running_mean"),
      id("bn1.weight", "bn2.running_var"),
      bn("bn1", "x", "h"),
      bn("bn2", "h", "y"),
    ],
  });
  const model = loadOnnx(bytes, { source: "dedup.onnx" });
  const names = [...model.stateNames.values()].sort();
  assertEquals(names, [
    "bn1.bias",
    "bn1.running_mean",
    "bn1.running_var",
    "bn1.weight",
    "bn2.bias",
    "bn2.running_mean",
    "bn2.running_var",
    "bn2.weight",
  ]);
  // A training step updates each batch norm's statistics on its own input.
  const state = model.initialState();
  const { updates } = forward(model, state, randomNormal(randomKey(1), [4, 2, 3, 3]), {
    training: true,
    key: randomKey(2),
  });
  const [m1, m2] = ["bn1", "bn2"].map((b) => {
    const key = [...model.stateNames].find(([, v]) => v === `${b}.running_mean`)![0];
    return updates.get(key)!.toArray();
  });
  assert(m1.some((v, i) => v !== m2[i]), `${m1} vs ${m2}`);
});

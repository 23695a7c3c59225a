import { assertEquals, assertThrows } from "@std/assert";
import { type LayerDesc, mobileNetV2Layers } from "@hqat/march-bayes";
import { buildLayerGraph } from "./layer_graph.ts";

const t = { shape: [1, 8, 4, 4], dtype: "qint8" } as const;
const layer = (name: string, op: string, inputs: LayerDesc["inputs"], attrs = {}): LayerDesc => ({
  name,
  op,
  inputs,
  output: t,
  attrs,
});

Deno.test("buildLayerGraph() takes input 0 from the previous layer and names from `from`", () => {
  const g = buildLayerGraph([
    layer("a", "relu", [t]),
    layer("b", "relu", [t]),
    layer("c", "add", [t, { ...t, from: "a" }]),
    layer("d", "add", [{ ...t, from: "b" }, t]),
  ]);
  assertEquals(g.sources, [
    [{ kind: "model-input", index: 0 }],
    [{ kind: "layer", index: 0 }],
    [{ kind: "layer", index: 1 }, { kind: "layer", index: 0 }],
    [{ kind: "layer", index: 1 }, { kind: "unknown" }],
  ]);
  assertEquals(g.consumers, [[1, 2], [2, 3], [], []]);
  assertEquals(g.modelOutput, [false, false, true, true]);
});

Deno.test("buildLayerGraph() reads the model input through quant and marks what feeds dequant", () => {
  const g = buildLayerGraph(mobileNetV2Layers());
  assertEquals(g.sources[0], [{ kind: "model-input", index: 0 }]);
  assertEquals(g.sources[1], [{ kind: "model-input", index: 0 }]);
  const outputs = g.layers.filter((_, i) => g.modelOutput[i]).map((l) => l.name);
  assertEquals(outputs, ["classifier.1"]);
  const residual = g.layers.findIndex((l) => l.name === "features.3.conv.2");
  assertEquals(g.sources[residual][1], {
    kind: "layer",
    index: g.layers.findIndex((l) => l.name === "features.2.conv.2"),
  });
});

Deno.test("buildLayerGraph() rejects duplicate names and a `from` that names no earlier layer", () => {
  assertThrows(
    () => buildLayerGraph([layer("a", "relu", [t]), layer("a", "relu", [t])]),
    TypeError,
    'layer name "a" appears more than once',
  );
  assertThrows(
    () => buildLayerGraph([layer("a", "relu", [{ ...t, from: "b" }]), layer("b", "relu", [t])]),
    TypeError,
    'a.inputs[0].from names "b", which is not an earlier layer',
  );
  assertThrows(
    () => buildLayerGraph([layer("a", "relu", [{ shape: [1, 0], dtype: "qint8" }])]),
    TypeError,
    "a.inputs[0]",
  );
});

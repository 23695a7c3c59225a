import { assertEquals } from "@std/assert";
import { type LayerAttrs, type LayerDesc, mobileNetV2Layers } from "@hqat/march-bayes";
import { buildLayerGraph } from "./layer_graph.ts";
import { planSteps } from "./schedule.ts";

const t = { shape: [1, 8, 4, 4], dtype: "qint8" } as const;
const conv = (name: string, attrs: LayerAttrs = {}, from?: string): LayerDesc => ({
  name,
  op: "conv2d",
  inputs: [from ? { ...t, from } : t],
  output: t,
  attrs: { kernel: [1, 1], ...attrs },
});
const op = (name: string, kind: string, inputs: LayerDesc["inputs"] = [t]): LayerDesc => ({
  name,
  op: kind,
  inputs,
  output: t,
  attrs: {},
});
const plan = (layers: LayerDesc[], opt: "O0" | "O1" = "O1") => planSteps(buildLayerGraph(layers), opt);
const names = (layers: LayerDesc[], opt: "O0" | "O1" = "O1") => plan(layers, opt).steps.map((s) => s.name);

Deno.test("planSteps() runs every layer but quant and dequant at O0", () => {
  assertEquals(plan(mobileNetV2Layers()).steps.length, 53);
  assertEquals(plan(mobileNetV2Layers(), "O0").steps.length, 56);
  assertEquals(plan(mobileNetV2Layers({ fused: false }), "O0").steps.length, 101);
  const removed = plan(mobileNetV2Layers(), "O0").removed;
  assertEquals(removed, [{ name: "quant", reason: "boundary" }, { name: "dequant", reason: "boundary" }]);
});

Deno.test("planSteps() at O1 folds ReLU6, residual adds and the 1×1 pool, and drops identities", () => {
  const fused = plan(mobileNetV2Layers());
  const unfused = plan(mobileNetV2Layers({ fused: false }));
  assertEquals(unfused.steps.map((s) => s.name), fused.steps.map((s) => s.name));
  assertEquals(unfused.steps.map((s) => s.inputs.length), fused.steps.map((s) => s.inputs.length));
  const step = (p: typeof fused, name: string) => p.steps.find((s) => s.name === name)!;
  assertEquals(step(unfused, "features.0.0").merged, ["features.0.2"]);
  assertEquals(step(unfused, "features.3.conv.2").merged, ["features.3.add"]);
  assertEquals(
    step(unfused, "features.3.conv.2").inputs[1].ref,
    step(fused, "features.3.conv.2").inputs[1].ref,
  );
  assertEquals(step(fused, "features.18.0").merged, ["adaptive_avg_pool2d"]);
  assertEquals(step(unfused, "features.18.0").merged, ["features.18.2", "adaptive_avg_pool2d"]);
  assertEquals(step(fused, "features.18.0").output.shape, [1, 1280, 1, 1]);
  const removed = fused.removed.filter((r) => r.reason === "identity").map((r) => r.name);
  assertEquals(removed, ["flatten", "classifier.0"]);
  const linear = step(fused, "classifier.1");
  assertEquals(linear.inputs[0].ref, {
    kind: "step",
    index: fused.steps.indexOf(step(fused, "features.18.0")),
  });
  assertEquals(linear.modelOutput, true);
  assertEquals(fused.steps[0].inputs[0].ref, { kind: "model-input", layer: 0 });
});

Deno.test("planSteps() folds an add only into a sole-reader conv with stride 1 or 2 and no activation", () => {
  const add = (from0: string, from1: string) =>
    op("add", "add", [{ ...t, from: from0 }, { ...t, from: from1 }]);
  assertEquals(names([conv("a"), conv("b"), add("b", "a")]), ["a", "b"]);
  assertEquals(names([conv("a"), conv("b"), add("a", "b")]), ["a", "b"]);
  assertEquals(names([conv("a"), conv("b", { fusedRelu: "relu" }), add("b", "a")]), ["a", "b", "add"]);
  assertEquals(names([conv("a"), conv("b", { stride: [3, 3] }), add("b", "a")]), ["a", "b", "add"]);
  assertEquals(names([conv("a"), conv("b"), add("b", "a"), op("r", "relu", [{ ...t, from: "b" }])]), [
    "a",
    "b",
    "add",
    "r",
  ]);
  assertEquals(names([conv("a"), conv("b"), add("b", "a")], "O0"), ["a", "b", "add"]);
});

Deno.test("planSteps() folds a ReLU only into a requantizing producer without one", () => {
  assertEquals(names([conv("a"), op("r", "relu")]), ["a"]);
  assertEquals(names([conv("a", { fusedRelu: "relu6" }), op("r", "relu")]), ["a", "r"]);
  assertEquals(names([op("m", "max_pool2d"), op("r", "relu")]), ["m", "r"]);
  assertEquals(names([conv("a"), op("r", "relu"), op("s", "relu6")]), ["a", "s"]);
});

Deno.test("planSteps() keeps a reshape that moves data, and drops one over channels only", () => {
  const spatial: LayerDesc = {
    name: "v",
    op: "reshape",
    inputs: [t],
    output: { shape: [1, 128], dtype: "qint8" },
    attrs: {},
  };
  assertEquals(names([conv("a"), spatial]), ["a", "v"]);
  const flat = { shape: [1, 8, 1, 1], dtype: "qint8" } as const;
  const view: LayerDesc = {
    name: "v",
    op: "flatten",
    inputs: [flat],
    output: { shape: [1, 8], dtype: "qint8" },
    attrs: {},
  };
  assertEquals(names([{ ...conv("a"), output: flat }, view]), ["a"]);
});

import { assert, assertEquals } from "@std/assert";
import { visualizeModel } from "@hqat/hbdk";
import { mobileNetV2IntModel, tinyIntModel } from "./models_test_util.ts";

Deno.test("visualizeModel() draws one box per node with op, shape, dtype and scale, without overlaps", async () => {
  const model = mobileNetV2IntModel();
  const path = await Deno.makeTempFile({ suffix: ".svg" });
  const v = await visualizeModel(model, [{ shape: [2, 3, 32, 32] }], { savePath: path });
  assertEquals(await Deno.readTextFile(path), v.svg);
  assertEquals(v.layout.boxes.length, model.nodes.length);
  assertEquals((v.svg.match(/<g class="node"/g) ?? []).length, model.nodes.length);
  assertEquals(
    (v.svg.match(/<polyline class="edge"/g) ?? []).length,
    model.nodes.reduce((s, n) => s + n.inputs.length, 0),
  );
  assertEquals(v.labels.get("features.0.0"), [
    "features.0.0",
    "conv2d 3×3 s2 +relu6",
    "[2, 32, 16, 16] qint8",
    `scale ${Number(model.nodes[2].scale[0].toPrecision(5))}`,
  ]);
  assertEquals(v.labels.get("classifier.1")![3], "scale ×10 (per channel)");
  assertEquals(v.layout.crossings, 0);
  const boxes = v.layout.boxes;
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      assert(
        a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y,
        `${a.id} overlaps ${b.id}`,
      );
    }
  }
  // The residual branches sit beside the main chain: the add has two incoming edges from different layers.
  const add = boxes.find((b) => b.id === "add")!;
  const ins = v.layout.edges.filter((e) => e.to === "add").map((e) =>
    boxes.find((b) => b.id === e.from)!.layer
  );
  assertEquals(ins.length, 2);
  assertEquals(add.layer, Math.max(...ins) + 1);
  await Deno.remove(path);
});

Deno.test("visualizeModel() escapes names and draws every op of the small model", async () => {
  const t = tinyIntModel(1);
  const model = {
    ...t,
    nodes: t.nodes.map((n) =>
      n.name === "c1"
        ? { ...n, name: "c<1>&" }
        : { ...n, inputs: n.inputs.map((i) => i === "c1" ? "c<1>&" : i) }
    ),
  };
  const v = await visualizeModel(model, [{ shape: [1, 3, 8, 8] }]);
  assert(v.svg.includes("c&lt;1&gt;&amp;") && !v.svg.includes("c<1>"));
  for (const op of ["avg_pool2d 3×3 s2", "max_pool2d 2×2 s2", "cat", "linear +relu", "conv2d 3×3 s1 g8"]) {
    assert(v.svg.includes(`>${op}<`), op);
  }
});

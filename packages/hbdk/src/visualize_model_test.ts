import { assert, assertEquals } from "@std/assert";
import { compileProgram, visualizeModel } from "@hqat/hbdk";
import { instrReads, type Program } from "@hqat/program";
import { mobileNetV2IntModel, tinyIntModel } from "../testdata/mobilenet_v2.ts";

Deno.test("visualizeModel() draws the input and one box per instruction with op, shape, dtype and scale, without overlaps", async () => {
  const model = mobileNetV2IntModel();
  const path = await Deno.makeTempFile({ suffix: ".svg" });
  const v = await visualizeModel(model, [{ shape: [2, 3, 32, 32] }], { savePath: path });
  assertEquals(await Deno.readTextFile(path), v.svg);
  const boxes = model.instructions.length + 1;
  assertEquals(v.layout.boxes.length, boxes);
  assertEquals((v.svg.match(/<g class="node"/g) ?? []).length, boxes);
  assertEquals(
    (v.svg.match(/<polyline class="edge"/g) ?? []).length,
    model.instructions.reduce((s, i) => s + Math.max(1, instrReads(i).length), 0),
  );
  const conv = model.instructions.find((i) => i.name === "features.0.0")!;
  assertEquals(v.labels.get("features.0.0"), [
    "features.0.0",
    "conv2d 3×3 s2 +relu6",
    "[2, 32, 16, 16] qint8",
    `scale ${Number(model.buffers[conv.output].scale[0].toPrecision(5))}`,
  ]);
  assertEquals(v.labels.get("classifier.1")![3], "scale ×10 (per channel)");
  assertEquals(v.layout.crossings, 0);
  const placed = v.layout.boxes;
  for (let i = 0; i < placed.length; i++) {
    for (let j = i + 1; j < placed.length; j++) {
      const [a, b] = [placed[i], placed[j]];
      assert(
        a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y,
        `${a.id} overlaps ${b.id}`,
      );
    }
  }
  // The residual branches sit beside the main chain: the add has two incoming edges from different layers.
  const add = placed.find((b) => b.id === "add")!;
  const ins = v.layout.edges.filter((e) => e.to === "add").map((e) =>
    placed.find((b) => b.id === e.from)!.layer
  );
  assertEquals(ins.length, 2);
  assertEquals(add.layer, Math.max(...ins) + 1);
  await Deno.remove(path);
});

Deno.test("visualizeModel() escapes names and draws every op of the small model, and a compiled program's fusions", async () => {
  const t = tinyIntModel(1);
  const model: Program = {
    ...t,
    instructions: t.instructions.map((i) => (i.name === "c1" ? { ...i, name: "c<1>&" } : i)),
  };
  const v = await visualizeModel(model, [{ shape: [1, 3, 8, 8] }]);
  assert(v.svg.includes("c&lt;1&gt;&amp;") && !v.svg.includes("c<1>"));
  for (
    const op of [
      "avg_pool2d 3×3 s2",
      "max_pool2d 2×2 s2",
      "cat axis 1",
      "linear +relu",
      "conv2d 3×3 s1 g8",
      "relu6",
    ]
  ) {
    assert(v.svg.includes(`>${op}<`), op);
  }
  const o1 = await visualizeModel(compileProgram(t, [{ shape: [1, 3, 8, 8] }], { log: () => {} }).program, [{
    shape: [1, 3, 8, 8],
  }]);
  assertEquals(o1.labels.get("c3")![1], "conv2d 1×1 s1 +add +relu6");
  assertEquals(o1.layout.boxes.length, 13);
});

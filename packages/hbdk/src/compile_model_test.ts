import {
  assert,
  assertEquals,
  assertGreater,
  assertLess,
  assertLessOrEqual,
  assertRejects,
  assertThrows,
} from "@std/assert";
import {
  CompileError,
  compileModel,
  compileProgram,
  estimatePerformance,
  intModelLayers,
  loadHbm,
  OPT_LEVELS,
} from "@hqat/hbdk";
import { March, mobileNetV2Layers } from "@hqat/march-bayes";
import { mobileNetV2IntModel, tinyIntModel } from "./models_test_util.ts";

const quiet = { log: () => {} };
const mnv2 = [{ shape: [1, 3, 32, 32] }];

Deno.test("compileModel() writes a loadable .hbm atomically and prints HBDK's lines for a pyramid input", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const r = await compileModel(mobileNetV2IntModel(), mnv2, {
    hbm: `${dir}/model.hbm`,
    inputSource: "pyramid",
    opt: "O1",
    log: (l) => lines.push(l),
  });
  assertEquals(lines, [
    "WARNING: arg0 can not be assigned to NCHW_NATIVE layout because it's input source is pyramid.",
    "HBDK model compilation SUCCESS",
  ]);
  const bytes = await Deno.readFile(`${dir}/model.hbm`);
  assertEquals(bytes, r.bytes);
  const p = loadHbm(bytes, { fileName: "model.hbm" });
  assertEquals([p.opt, p.inputSource, p.march, p.name], ["O1", "pyramid", "bayes", "model"]);
  assertEquals(p.buffers[p.instructions[0].output].layout, "nhwc");
  assertEquals([...(await Array.fromAsync(Deno.readDir(dir)))].map((e) => e.name), ["model.hbm"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("compileModel() rejects a path without .hbm, a pyramid input without scale 1/128, and unsupported models", async () => {
  await assertRejects(
    () => compileModel(tinyIntModel(1), [{ shape: [1, 3, 8, 8] }], { hbm: "x.bin", ...quiet }),
    RangeError,
    ".hbm",
  );
  const e = assertThrows(
    () =>
      compileProgram(tinyIntModel(1, { scale: 1 / 64 }), [{ shape: [1, 3, 8, 8] }], {
        inputSource: "resizer",
        ...quiet,
      }),
    CompileError,
  );
  assert(e.message.includes("1/128") && e.message.includes("0.015625"));
  compileProgram(tinyIntModel(1), [{ shape: [1, 3, 8, 8] }], { inputSource: "resizer", ...quiet });
  const big = tinyIntModel(1);
  const x = {
    ...big,
    nodes: big.nodes.map((n) => ({
      ...n,
      shape: n.name === "x" || n.name === "quant" ? [1, 3, 8, 8] : n.shape,
    })),
  };
  assertThrows(() => compileProgram(x, [{ shape: [5000, 3, 8, 8] }], quiet), CompileError, "N ≤ 4096");
  assertThrows(
    () => compileProgram(x, [{ shape: [1, 3, 9, 8] }], quiet),
    RangeError,
    "does not match the model input",
  );
  assertThrows(
    () => compileProgram(x, [{ shape: [1, 3, 8, 8] }], { opt: "O4" as "O1", ...quiet }),
    RangeError,
    "unknown opt",
  );
});

Deno.test("compileModel() opt levels: fewer instructions from O1, a smaller arena from O2, tiles at O3", () => {
  const model = mobileNetV2IntModel();
  const r = Object.fromEntries(
    OPT_LEVELS.map((opt) => [opt, compileProgram(model, [{ shape: [32, 3, 32, 32] }], { opt, ...quiet })]),
  );
  assertEquals(r.O0.program.instructions.length, 130);
  assertEquals(r.O1.program.instructions.length, 55);
  assertLess(r.O2.program.arenaBytes, r.O1.program.arenaBytes / 4);
  assertLess(r.O1.program.arenaBytes, r.O0.program.arenaBytes);
  assertEquals(r.O2.tiles.length, 0);
  assertGreater(r.O3.tiles.filter((t) => t.tiles > 1).length, 0);
  for (const t of r.O3.tiles) if (t.tiles > 1) assertLessOrEqual(t.workingSetBytes, 1 << 20);
  // O2 chooses the output layout by its DDR bytes: [N, 10] int32 is 64 bytes NHWC against 2560 NCHW.
  const raw = (p: typeof r.O2.program) => p.buffers[p.instructions.at(-1)!.inputs[0]];
  assertEquals([raw(r.O1.program).layout, raw(r.O2.program).layout], ["nchw", "nhwc"]);
});

Deno.test("compileModel() estimates never get worse with the opt level, and O3 beats O0 for MobileNetV2", () => {
  const model = mobileNetV2IntModel();
  for (const batch of [1, 256]) {
    const est = OPT_LEVELS.map((opt) =>
      compileProgram(model, [{ shape: [batch, 3, 32, 32] }], { opt, inputSource: "pyramid", ...quiet })
        .estimate
    );
    for (let i = 1; i < est.length; i++) {
      assertLessOrEqual(est[i].latencyUs, est[i - 1].latencyUs);
      assertLessOrEqual(est[i].ddrBytesPerFrame, est[i - 1].ddrBytesPerFrame);
    }
    assertLess(est[3].latencyUs, est[0].latencyUs);
    assertLess(est[3].ddrBytesPerFrame, est[0].ddrBytesPerFrame);
  }
});

Deno.test("intModelLayers() of the converted MobileNetV2 costs exactly as the reference layer list", () => {
  const layers = intModelLayers(mobileNetV2IntModel(), { batch: 1 });
  assertEquals(layers.filter((l) => l.op === "conv2d").length, 52);
  assertEquals(layers.find((l) => l.name === "features.0.0")!.attrs, {
    kernel: [3, 3],
    stride: [2, 2],
    padding: [1, 1],
    dilation: [1, 1],
    groups: 1,
    paddingMode: "zeros",
    fusedRelu: "relu6",
  });
  assertEquals(layers.at(-2)!.attrs, {
    inFeatures: 1280,
    outFeatures: 10,
    output32: true,
    isModelOutput: true,
  });
  for (const batch of [1, 256]) {
    for (const opt of ["O1", "O2", "O3"] as const) {
      const o = { march: March.BAYES, batch, opt, inputSource: "pyramid" } as const;
      const a = estimatePerformance(layers, o), b = estimatePerformance(mobileNetV2Layers({ batch }), o);
      assertEquals([a.latencyUs, a.ddrBytesPerFrame, a.opsPerFrame], [
        b.latencyUs,
        b.ddrBytesPerFrame,
        b.opsPerFrame,
      ]);
    }
  }
});

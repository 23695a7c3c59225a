import {
  assert,
  assertEquals,
  assertGreater,
  assertLess,
  assertLessOrEqual,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { CompileError, compileModel, compileProgram, loadHbm, programLayers } from "@hqat/hbdk";
import { atBatch, OPT_LEVELS, type Program } from "@hqat/program";
import { mobileNetV2IntModel, tinyIntModel } from "../testdata/mobilenet_v2.ts";

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
  assertEquals([p.opt, p.placement?.inputSource, p.march, p.name], ["O1", "pyramid", "bayes", "model"]);
  assertEquals(p.placement!.buffers[p.instructions[0].output].layout, "nhwc");
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
  const x = tinyIntModel(1);
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
  const arena = (p: Program) => p.placement!.arenaBytes;
  assertEquals(r.O0.program.instructions.length, 67);
  assertEquals(r.O1.program.instructions.length, 55);
  assertLess(arena(r.O2.program), arena(r.O1.program) / 4);
  assertLess(arena(r.O1.program), arena(r.O0.program));
  assertEquals(r.O2.tiles.length, 0);
  assertGreater(r.O3.tiles.filter((t) => t.tiles > 1).length, 0);
  for (const t of r.O3.tiles) if (t.tiles > 1) assertLessOrEqual(t.workingSetBytes, 1 << 20);
  // O2 chooses the output layout by its DDR bytes: [N, 10] int32 is 64 bytes NHWC against 2560 NCHW.
  const raw = (p: Program) => p.placement!.buffers[p.instructions.at(-1)!.inputs[0]];
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

Deno.test("compileProgram() estimates the converted MobileNetV2 as before the integer program: the quick start's figures", () => {
  // FPS, latency and DDR bytes of the quick start's model (batch 1 and 256, pyramid input), now costed
  // from the compiled program; measured with the previous layer-list model at every level.
  const expected: Record<string, [number, number, number]> = {
    "O0/1": [1706.0188344479327, 586.1599999999999, 4009280],
    "O1/1": [2681.1376603320327, 372.97599999999994, 2398528],
    "O2/1": [2681.1376603320327, 372.97599999999994, 2398528],
    "O3/1": [2681.1376603320327, 372.97599999999994, 2398528],
    "O0/256": [4924.982512464439, 51979.87999999999, 1621715],
    "O1/256": [5711.16802845304, 44824.45599999999, 1398483],
    "O2/256": [5874.35237559728, 43579.272, 1359571],
    "O3/256": [6853.467929732249, 37353.352000000006, 1165011],
  };
  for (const [key, [fps, latency, ddr]] of Object.entries(expected)) {
    const [opt, batch] = key.split("/") as [(typeof OPT_LEVELS)[number], string];
    const e = compileProgram(mobileNetV2IntModel(), [{ shape: [Number(batch), 3, 32, 32] }], {
      opt,
      inputSource: "pyramid",
      ...quiet,
    }).estimate;
    assertLess(Math.abs(e.fps / fps - 1), 1e-4, `${key} FPS ${e.fps}`);
    assertLess(Math.abs(e.latencyUs / latency - 1), 1e-4, `${key} latency ${e.latencyUs}`);
    assertEquals(Math.round(e.ddrBytesPerFrame), ddr, `${key} DDR`);
  }
});

Deno.test("programLayers() describes the converted MobileNetV2 for the operator table", () => {
  const layers = programLayers(atBatch(mobileNetV2IntModel(), 1));
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
});

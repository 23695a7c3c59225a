import { assert, assertEquals, assertGreater, assertThrows } from "@std/assert";
import fc from "fast-check";
import { type IntModel, runIntModel } from "@hqat/fx";
import { compileProgram, HbmRuntimeError, loadHbm, OPT_LEVELS, runHbm } from "@hqat/hbdk";
import { mobileNetV2IntModel, randomInput, tinyIntModel, wideConvIntModel } from "./models_test_util.ts";

const quiet = { log: () => {} };

/** Compiles, encodes and loads `model` at `opt`, runs it on `n` frames, compares with runIntModel. */
function assertSameIntegers(
  model: IntModel,
  opt: (typeof OPT_LEVELS)[number],
  batch: number,
  n: number,
  seed: number,
) {
  const shape = [n, ...model.nodes[0].shape.slice(1)];
  const x = randomInput(shape, seed);
  const ref = runIntModel(model, x, shape);
  const { bytes } = compileProgram(model, [{ shape: [batch, ...shape.slice(1)] }], { opt, ...quiet });
  const program = loadHbm(bytes, { fileName: `${opt}.hbm` });
  const raw = runHbm(program, x, shape, { raw: true });
  assertEquals(raw.dtype, ref.raw.dtype);
  assertEquals(raw.shape, [...ref.raw.shape]);
  assertEquals([...raw.data], [...ref.raw.data], `${opt}: raw integers differ`);
  assertEquals([...raw.scale], [...ref.raw.scale]);
  const out = runHbm(program, x, shape);
  assertEquals(out.shape, ref.shape);
  assert(out.data.every((v, i) => Object.is(v, ref.output[i])), `${opt}: dequantized output differs`);
}

Deno.test("runHbm() equals runIntModel bit for bit on MobileNetV2 at every opt level, batch 1 and a larger batch", () => {
  const model = mobileNetV2IntModel();
  for (const opt of OPT_LEVELS) {
    assertSameIntegers(model, opt, 1, 1, 1);
    // Compiled for 2 frames, run on 3: two runs of the arena, the second one short.
    assertSameIntegers(model, opt, 2, 3, 2);
  }
});

Deno.test("runHbm() equals runIntModel on models using every integer op, at every opt level", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1 << 20 }),
      fc.constantFrom(...OPT_LEVELS),
      fc.integer({ min: 1, max: 3 }),
      (seed, opt, n) => {
        assertSameIntegers(tinyIntModel(seed), opt, 2, n, seed + 1);
      },
    ),
    { seed: 42, numRuns: 40 },
  );
});

Deno.test("runHbm() executes O3's row tiles with the same integers as one whole convolution", () => {
  const model = wideConvIntModel(128);
  const r = compileProgram(model, [{ shape: [1, 4, 128, 128] }], { opt: "O3", ...quiet });
  const conv = r.program.instructions.find((i) => i.op === "conv2d")!;
  assert(conv.op === "conv2d" && conv.tileRows < 128, "the 128×128 convolution is tiled");
  assertGreater(r.tiles[0].tiles, 1);
  assertSameIntegers(model, "O3", 1, 1, 5);
  assertSameIntegers(model, "O1", 1, 1, 5);
});

Deno.test("runHbm() rejects an input whose shape or length does not match the compiled input", () => {
  const program = loadHbm(compileProgram(tinyIntModel(1), [{ shape: [1, 3, 8, 8] }], quiet).bytes);
  const e = assertThrows(() => runHbm(program, new Float32Array(3 * 8 * 9), [1, 3, 8, 9]), HbmRuntimeError);
  assert(e.message.includes("[N,3,8,8]"));
  assertThrows(() => runHbm(program, new Float32Array(5), [1, 3, 8, 8]), HbmRuntimeError, "needs 192");
  assertThrows(() => runHbm(program, new Float32Array(0), [0, 3, 8, 8]), HbmRuntimeError);
});

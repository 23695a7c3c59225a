import { assert, assertEquals, assertGreater, assertThrows } from "@std/assert";
import fc from "fast-check";
import { compileProgram, loadHbm } from "@hqat/hbdk";
import { type IntModel, OPT_LEVELS, ProgramRunError, runIntModel } from "@hqat/program";
import {
  mobileNetV2IntModel,
  randomInput,
  tinyIntModel,
  wideConvIntModel,
} from "../testdata/mobilenet_v2.ts";

const quiet = { log: () => {} };

/**
 * Compiles, encodes and loads `model` at `opt`, runs the `.hbm` on `n` frames and compares it with the
 * int model run directly.
 */
function assertSameIntegers(
  model: IntModel,
  opt: (typeof OPT_LEVELS)[number],
  batch: number,
  n: number,
  seed: number,
) {
  const shape = [n, ...model.inputShape.slice(1)];
  const x = randomInput(shape, seed);
  const ref = runIntModel(model, x, shape);
  const { bytes } = compileProgram(model, [{ shape: [batch, ...shape.slice(1)] }], { opt, ...quiet });
  const program = loadHbm(bytes, { fileName: `${opt}.hbm` });
  const r = runIntModel(program, x, shape);
  assertEquals(r.raw.dtype, ref.raw.dtype);
  assertEquals(r.raw.shape, ref.raw.shape);
  assertEquals([...r.raw.data], [...ref.raw.data], `${opt}: raw integers differ`);
  assertEquals([...r.raw.scale], [...ref.raw.scale]);
  assertEquals(r.shape, ref.shape);
  assert(r.output.every((v, i) => Object.is(v, ref.output[i])), `${opt}: dequantized output differs`);
}

Deno.test("runIntModel() of a compiled .hbm equals the int model bit for bit on MobileNetV2 at every opt level, batch 1 and a larger batch", () => {
  const model = mobileNetV2IntModel();
  for (const opt of OPT_LEVELS) {
    assertSameIntegers(model, opt, 1, 1, 1);
    // Compiled for 2 frames, run on 3: two runs of the arena, the second one short.
    assertSameIntegers(model, opt, 2, 3, 2);
  }
});

Deno.test("runIntModel() of a compiled .hbm equals the int model on models using every instruction kind, at every opt level", () => {
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

Deno.test("runIntModel() executes O3's row tiles with the same integers as one whole convolution", () => {
  const model = wideConvIntModel(128);
  const r = compileProgram(model, [{ shape: [1, 4, 128, 128] }], { opt: "O3", ...quiet });
  const conv = r.program.instructions.find((i) => i.op === "conv2d")!;
  assert(conv.op === "conv2d" && conv.tileRows < 128, "the 128×128 convolution is tiled");
  assertGreater(r.tiles[0].tiles, 1);
  assertSameIntegers(model, "O3", 1, 1, 5);
  assertSameIntegers(model, "O1", 1, 1, 5);
});

Deno.test("runIntModel() rejects an input whose shape or length does not match the compiled input", () => {
  const program = loadHbm(compileProgram(tinyIntModel(1), [{ shape: [1, 3, 8, 8] }], quiet).bytes);
  const e = assertThrows(
    () => runIntModel(program, new Float32Array(3 * 8 * 9), [1, 3, 8, 9]),
    ProgramRunError,
  );
  assert(e.message.includes("[N,3,8,8]"));
  assertThrows(() => runIntModel(program, new Float32Array(5), [1, 3, 8, 8]), ProgramRunError, "needs 192");
  assertThrows(() => runIntModel(program, new Float32Array(0), [0, 3, 8, 8]), ProgramRunError);
});

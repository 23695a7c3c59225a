import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { lowerProgram, OPT_LEVELS, ProgramRunError, runIntModel } from "@hqat/program";
import { everyOpModel, randomInput, tinyIntModel } from "../testdata/programs.ts";
import { runnable } from "./cpu_executor.ts";

Deno.test("runIntModel() gives the reference kernels' integers at every buffer, lowered at any level", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1 << 20 }),
      fc.constantFrom(...OPT_LEVELS),
      fc.integer({ min: 1, max: 3 }),
      (seed, opt, n) => {
        const model = lowerProgram(seed % 2 ? tinyIntModel(seed) : everyOpModel(seed), { opt });
        const x = randomInput([n, 3, 8, 8], seed + 1);
        const fast = runIntModel(model, x, [n, 3, 8, 8], { keepAll: true });
        const ref = runIntModel(model, x, [n, 3, 8, 8], { keepAll: true, reference: true });
        assertEquals(
          [...fast.all!.keys()],
          model.buffers.filter((b) => b.dtype !== "float32").map((b) => b.name),
        );
        for (const [name, q] of ref.all!) assertEquals(fast.all!.get(name), q, `buffer ${name}`);
        assertEquals(fast.output, ref.output);
      },
    ),
    { seed: 7, numRuns: 24 },
  );
});

Deno.test("runIntModel() runs an int model as its O1 lowering fuses it, with the reference's integers", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 1, max: 3 }), (seed, n) => {
      const model = seed % 2 ? tinyIntModel(seed) : everyOpModel(seed);
      const x = randomInput([n, 3, 8, 8], seed + 1);
      const fast = runIntModel(model, x, [n, 3, 8, 8]);
      const ref = runIntModel(model, x, [n, 3, 8, 8], { reference: true });
      assertEquals(fast.raw, ref.raw);
      assert(fast.output.every((v, i) => Object.is(v, ref.output[i])));
      // What ran: the O1 lowering, kept per model; the model as given where every step must be seen.
      const run = runnable(model, {});
      assertEquals(run, lowerProgram(model, { opt: "O1" }));
      assert(run === runnable(model, {}) && run.instructions.length < model.instructions.length);
      for (const o of [{ keepAll: true }, { reference: true }, { onInstruction: () => {} }]) {
        assert(runnable(model, o) === model);
      }
    }),
    { seed: 11, numRuns: 24 },
  );
});

Deno.test("runIntModel() gives the same integers at every opt level and any batch", () => {
  for (const seed of [1, 2, 3]) {
    const model = everyOpModel(seed);
    const x = randomInput([4, 3, 8, 8], seed);
    const ref = runIntModel(model, x, [4, 3, 8, 8]);
    assertEquals(ref.shape, [4, 5]);
    assertEquals(ref.raw.dtype, "qint32");
    for (const opt of ["O1", "O2", "O3"] as const) {
      const y = runIntModel(lowerProgram(model, { opt }), x, [4, 3, 8, 8]);
      assertEquals(y.raw, ref.raw);
      assert(y.output.every((v, i) => Object.is(v, ref.output[i])));
    }
    // Frames are independent: frame 2 alone gives the same integers.
    const one = runIntModel(model, x.subarray(2 * 192, 3 * 192), [1, 3, 8, 8]);
    assertEquals([...one.raw.data], [...ref.raw.data.subarray(10, 15)]);
  }
});

Deno.test("runIntModel() rejects an input that does not fit, and NaN with the quantizer's error", () => {
  const model = tinyIntModel(1);
  assertThrows(
    () => runIntModel(model, new Float32Array(3 * 8 * 9), [1, 3, 8, 9]),
    ProgramRunError,
    "[N,3,8,8]",
  );
  assertThrows(() => runIntModel(model, new Float32Array(5), [1, 3, 8, 8]), ProgramRunError, "needs 192");
  assertThrows(() => runIntModel(model, new Float32Array(0), [0, 3, 8, 8]), ProgramRunError);
  const nan = randomInput([1, 3, 8, 8], 1);
  nan[5] = NaN;
  assertThrows(() => runIntModel(model, nan, [1, 3, 8, 8]), RangeError, "NaN");
});

Deno.test("runIntModel() reports every instruction it runs to onInstruction, unplaced and compiled", () => {
  for (const opt of ["O0", "O1"] as const) {
    const model = lowerProgram(tinyIntModel(5), { opt });
    const seen: string[] = [];
    runIntModel(model, randomInput([2, 3, 8, 8], 6), [2, 3, 8, 8], {
      onInstruction: (i, ms) => {
        assert(ms >= 0);
        seen.push(i.name);
      },
    });
    assertEquals(seen, model.instructions.map((i) => i.name));
  }
});

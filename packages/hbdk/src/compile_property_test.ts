import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { compileProgram, loadHbm } from "@hqat/hbdk";
import { OPT_LEVELS, runIntModel } from "@hqat/program";
import { randomInput } from "../testdata/mobilenet_v2.ts";
import { randomIntModel } from "../testdata/random_programs.ts";

const RUNS = 100;

Deno.test(`compileProgram() at every opt level writes a .hbm that loads and runs equal to the model (${RUNS} random models)`, () => {
  const kinds = new Set<string>();
  let compiled = 0;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 3 }), (seed, batch) => {
      const model = randomIntModel(seed);
      for (const i of model.instructions) kinds.add(i.op);
      const shape = [batch, ...model.inputShape.slice(1)];
      const x = randomInput(shape, seed);
      const want = runIntModel(model, x, shape);
      for (const opt of OPT_LEVELS) {
        const r = compileProgram(model, [{ shape }], { opt, log: () => {} });
        const hbm = loadHbm(r.bytes, { fileName: `${model.name}.hbm` });
        assertEquals(hbm.opt, opt);
        const got = runIntModel(hbm, x, shape);
        assertEquals(got.shape, want.shape);
        assertEquals(got.raw.data, want.raw.data, `${model.name} at ${opt}`);
        assertEquals(got.output, want.output, `${model.name} at ${opt}`);
        compiled++;
      }
    }),
    { seed: 17, numRuns: RUNS },
  );
  assertEquals(compiled, RUNS * OPT_LEVELS.length);
  for (const k of ["conv2d", "move", "max_pool2d", "avg_pool2d", "add", "linear"]) assert(kinds.has(k), k);
});

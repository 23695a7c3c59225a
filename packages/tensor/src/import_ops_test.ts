import { assertLess } from "@std/assert";
import fc from "fast-check";
import { checkGradients } from "./grad_check.ts";
import { IMPORT_OP_CASES } from "./import_op_cases.ts";

const FC = { seed: 42, numRuns: 6 };

for (const c of IMPORT_OP_CASES) {
  Deno.test(`${c.via} computes ONNX ${c.onnx} with gradients that match finite differences`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 20 }), (seed) => {
        const xs = c.inputs(seed);
        const r = checkGradients((ps) => c.f(ps), xs, { seed });
        assertLess(r.error, 1e-2, `analytic ${r.analytic} vs numeric ${r.numeric}`);
      }),
      FC,
    );
  });
}

import { assertEquals, assertLess, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  arange,
  checkGradients,
  padMode,
  randomKey,
  randomNormal,
  reshape,
  type Tensor,
  tensor,
} from "../mod.ts";

/** NumPy's np.pad index rule for one axis: the input cell that output cell `o` copies. */
function source(o: number, before: number, d: number, mode: "edge" | "reflect"): number {
  const i = o - before;
  if (mode === "edge") return Math.min(Math.max(i, 0), d - 1);
  return i < 0 ? -i : i >= d ? 2 * (d - 1) - i : i;
}

Deno.test("padMode() edge and reflect copy the cells NumPy's np.pad copies", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.tuple(fc.nat(5), fc.nat(5)), { minLength: 3, maxLength: 3 }),
      fc.constantFrom("edge" as const, "reflect" as const),
      (shape, raw, mode) => {
        const pads = shape.map((d, i) =>
          (mode === "reflect" ? [raw[i][0] % d, raw[i][1] % d] : raw[i]) as [number, number]
        );
        const n = shape.reduce((a, b) => a * b, 1);
        const x = reshape(arange(0, n), shape);
        const y = padMode(x, pads, { mode });
        const outShape = shape.map((d, i) => d + pads[i][0] + pads[i][1]);
        assertEquals([...y.shape], outShape);
        y.data.forEach((v, flat) => {
          let rest = flat, src = 0, mul = 1;
          for (let i = shape.length - 1; i >= 0; i--) {
            const o = rest % outShape[i];
            rest = Math.floor(rest / outShape[i]);
            src += source(o, pads[i][0], shape[i], mode) * mul;
            mul *= shape[i];
          }
          assertEquals(v, src, `output ${flat}`);
        });
      },
    ),
    { seed: 42, numRuns: 200 },
  );
});

Deno.test("padMode() crops on negative pads and fills constants like pad()", () => {
  const x = reshape(arange(1, 7), [2, 3]);
  assertEquals(Array.from(padMode(x, [[0, -1], [-1, 1]], { mode: "edge" }).data), [2, 3, 3]);
  assertEquals(Array.from(padMode(x, [[0, 0], [1, -2]], { mode: "constant", value: -1 }).data), [
    -1,
    1,
    -1,
    4,
  ]);
  assertEquals(Array.from(padMode(tensor([1, 2]), [[1, 1]]).data), [0, 1, 2, 0]);
});

Deno.test("padMode() gradients in edge, reflect and constant modes match finite differences", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 2, max: 4 }), { minLength: 2, maxLength: 3 }),
      fc.array(fc.tuple(fc.integer({ min: -1, max: 3 }), fc.integer({ min: -1, max: 3 })), {
        minLength: 3,
        maxLength: 3,
      }),
      fc.constantFrom("edge" as const, "reflect" as const, "constant" as const),
      fc.integer({ min: 0, max: 1 << 20 }),
      (shape, raw, mode, seed) => {
        const pads = shape.map((d, i) => raw[i].map((p) => Math.min(p, d - 2)) as [number, number]);
        const x = randomNormal(randomKey(seed), shape);
        const r = checkGradients(([t]: Tensor[]) => padMode(t, pads, { mode, value: 2 }), [x], { seed });
        assertLess(r.error, 1e-2, `analytic ${r.analytic} vs numeric ${r.numeric}`);
      },
    ),
    { seed: 42, numRuns: 60 },
  );
});

Deno.test("padMode() rejects pads it cannot honour with errors that name it and the problem", () => {
  const x = tensor([1, 2, 3]);
  assertThrows(() => padMode(x, [[3, 0]], { mode: "reflect" }), RangeError, "must be below its length 3");
  assertThrows(() => padMode(x, [[-2, -2]]), RangeError, "crop more than the input [3]");
  assertThrows(() => padMode(x, [[1, 1], [1, 1]]), RangeError, "one [before, after] integer pair per axis");
  assertThrows(() => padMode(x, [[1, 1]], { mode: "wrap" as "edge" }), RangeError, 'unknown mode "wrap"');
  assertThrows(() => padMode(tensor([]), [[1, 0]], { mode: "edge" }), RangeError, "non-empty axis 0");
});

import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { qtensor } from "./dtypes.ts";
import { div, exact, int, mul, roundHalfEvenR } from "./exact_test_util.ts";
import { intCat } from "./int_cat.ts";
import { computeMultiplier, requantize } from "./requantize.ts";

const f32 = Math.fround;
const scale = fc.float({ min: f32(1e-3), max: 2, noNaN: true });

const catCase = fc.record({
  rows: fc.integer({ min: 1, max: 3 }),
  widths: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
  scales: fc.array(scale, { minLength: 4, maxLength: 4 }),
  so: scale,
  seed: fc.integer(),
});

Deno.test("intCat() requantizes each input to the output scale, then concatenates along the axis", () => {
  fc.assert(
    fc.property(catCase, ({ rows, widths, scales, so, seed }) => {
      let s = seed >>> 0 || 9;
      const inputs = widths.map((w, i) =>
        qtensor(
          Int8Array.from({ length: rows * w }, () => {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            return (s >>> 24) - 128;
          }),
          { shape: [rows, w], scale: scales[i] },
        )
      );
      const y = intCat(inputs, { axis: 1, output: { dtype: "qint8", scale: so } });
      const total = widths.reduce((p, w) => p + w, 0);
      assertEquals(y.shape, [rows, total]);
      let col = 0;
      for (const [i, x] of inputs.entries()) {
        const part = requantize(x.data, computeMultiplier(x.scale[0] / f32(so)), { dtype: "qint8" });
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < widths[i]; j++) {
            const got = y.data[r * total + col + j];
            assertEquals(got, part[r * widths[i] + j]);
            // Within one LSB of the exactly rounded q · s_i / so.
            let ref = roundHalfEvenR(
              div(mul(int(x.data[r * widths[i] + j]), exact(x.scale[0])), exact(f32(so))),
            );
            ref = ref < -128n ? -128n : ref > 127n ? 127n : ref;
            assert(BigInt(got) - ref >= -1n && BigInt(got) - ref <= 1n);
          }
        }
        col += widths[i];
      }
    }),
    { seed: 42, numRuns: 200 },
  );
});

Deno.test("intCat() leaves inputs already on the output grid unchanged", () => {
  const a = qtensor(Int8Array.of(-128, 5, 127), { shape: [3, 1], scale: 0.1 });
  const b = qtensor(Int8Array.of(1, 2, 3), { shape: [3, 1], scale: 0.1 });
  const y = intCat([a, b], { axis: -1, output: { dtype: "qint8", scale: 0.1 } });
  assertEquals(Array.from(y.data), [-128, 1, 5, 2, 127, 3]);
  const y0 = intCat([a, b], { axis: 0, output: { dtype: "qint16", scale: 0.1 } });
  assertEquals(Array.from(y0.data), [-128, 5, 127, 1, 2, 3]);
  assertThrows(() => intCat([], { axis: 0, output: { dtype: "qint8", scale: 1 } }), RangeError);
  const c = qtensor(Int8Array.of(1, 2), { shape: [2, 1], scale: 1 });
  assertThrows(
    () => intCat([a, c], { axis: 1, output: { dtype: "qint8", scale: 1 } }),
    RangeError,
    "does not match",
  );
});

import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { blockedSum, candidateErrors, mseFactors, SQUARED_ERROR_BLOCK } from "./observer_sq_error.ts";
import { fakeQuantize } from "./quantize.ts";
import { determineScale } from "./scale.ts";

const f32 = Math.fround;

Deno.test("blockedSum() sums blocks of 256 left to right, then the block sums the same way", () => {
  const B = SQUARED_ERROR_BLOCK;
  const parts = Float64Array.from({ length: B * B + 3 }, (_, i) => 1 / (i + 1));
  const seq = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
  const level1 = Array.from({ length: B + 1 }, (_, b) => seq(parts.subarray(b * B, (b + 1) * B)));
  const level2 = [seq(level1.slice(0, B)), level1[B]];
  assertEquals(blockedSum(parts), level2[0] + level2[1]);
  assertEquals(blockedSum(parts.subarray(0, B)), seq(parts.subarray(0, B)));
});

Deno.test("candidateErrors() is each candidate's squared fake-quantization error", () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: -20, max: 20, noNaN: true }), { minLength: 1, maxLength: 60 }),
      fc.constantFrom("qint8" as const, "qint16" as const),
      (x, dtype) => {
        const range = dtype === "qint8" ? { qmin: -128, qmax: 127 } : { qmin: -32768, qmax: 32767 };
        const min = Math.min(...x.map(f32)), max = Math.max(...x.map(f32)), factors = mseFactors(7);
        const got = candidateErrors(x, { min, max, factors, ...range });
        factors.forEach((f, k) => {
          const s = determineScale(f32(min * f), f32(max * f), range);
          const fq = fakeQuantize(x, s, { dtype });
          assertEquals(got[k], x.reduce((e, v, j) => e + (fq[j] - f32(v)) ** 2, 0));
        });
      },
    ),
    { seed: 42, numRuns: 100 },
  );
});

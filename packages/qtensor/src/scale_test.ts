import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { quantize } from "./quantize.ts";
import { determineScale, determineScalePerChannel, SCALE_EPSILON } from "./scale.ts";

const RUNS = { seed: 42, numRuns: 500 };
const f32 = Math.fround;
const bound = fc.oneof(
  fc.float({ noNaN: true, noDefaultInfinity: true }),
  fc.float({ min: -10, max: 10, noNaN: true }),
);

/** The float32 neighbours of a positive float32. */
function neighbours(v: number): number[] {
  const a = new Float32Array([v, v]);
  const u = new Uint32Array(a.buffer);
  u[0] -= 1;
  u[1] += 1;
  return [a[0], a[1]];
}

Deno.test("determineScale() is the float32 nearest to max(-min, max, 0) / ((qmax - qmin) / 2), at least 2^-23", () => {
  fc.assert(
    fc.property(bound, bound, fc.constantFrom("qint8" as const, "qint16" as const), (a, b, dtype) => {
      const [min, max] = a <= b ? [a, b] : [b, a];
      const half = dtype === "qint8" ? 127.5 : 32767.5;
      const s = determineScale(min, max, { dtype });
      assertEquals(f32(s), s);
      assert(s >= SCALE_EPSILON);
      const absmax = Math.max(-min, max, 0);
      if (absmax / half > 2 * SCALE_EPSILON) {
        // s · half and each neighbour · half are exact in float64, so these distances are exact.
        for (const n of neighbours(s)) assert(Math.abs(s * half - absmax) <= Math.abs(n * half - absmax));
      } else if (absmax / half < SCALE_EPSILON / 2) {
        assertEquals(s, SCALE_EPSILON);
      }
    }),
    RUNS,
  );
});

Deno.test("determineScale() puts the observed extreme at the end of the integer range", () => {
  fc.assert(
    fc.property(fc.float({ min: f32(1e-3), max: 1e6, noNaN: true }), fc.boolean(), (absmax, negative) => {
      const s = determineScale(negative ? -absmax : 0, negative ? 0 : absmax, { dtype: "qint8" });
      const q = quantize([negative ? -absmax : absmax], s, { qmin: -1000, qmax: 1000 })[0];
      // absmax / s is 127.5 up to float32 rounding, which rounds to 127 or 128.
      assert(negative ? q === -128 || q === -127 : q === 128 || q === 127, `q = ${q}`);
    }),
    RUNS,
  );
  assertEquals(determineScale(-2.55, 1), f32(f32(2.55) / 127.5));
  assertEquals(determineScale(1, 2, { qmin: -8, qmax: 7 }), f32(2 / 7.5));
  assertEquals(determineScale(0.5, 3), f32(3 / 127.5)); // min > 0 still uses max(-min, max, 0)
  assertEquals(determineScale(0, 0), 2 ** -23);
});

Deno.test("determineScalePerChannel() applies the rule per channel and rejects bad input", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(bound, bound), { minLength: 1, maxLength: 8 }), (pairs) => {
      const min = pairs.map(([a, b]) => Math.min(a, b)), max = pairs.map(([a, b]) => Math.max(a, b));
      const s = determineScalePerChannel(min, max, { dtype: "qint16" });
      for (let c = 0; c < pairs.length; c++) {
        assertEquals(s[c], determineScale(min[c], max[c], { dtype: "qint16" }));
      }
    }),
    RUNS,
  );
  assertThrows(() => determineScalePerChannel([0], [1, 2]), RangeError);
  assertThrows(() => determineScale(NaN, 1), RangeError, "finite");
  assertThrows(() => determineScale(-Infinity, 1), RangeError, "finite");
});

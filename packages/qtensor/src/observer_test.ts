import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  checkAveragingConstant,
  EMPTY_OBSERVER_STATE,
  movingAverageState,
  observedMinMax,
  scaleOfState,
} from "./observer.ts";
import { determineScale } from "./scale.ts";

const RUNS = { seed: 42, numRuns: 300 };
const f32 = Math.fround;
const v = fc.float({ min: -1e4, max: 1e4, noNaN: true });

Deno.test("movingAverageState() lets the first batch set the state and moves later ones by c · (cur - prev)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(v, v), { minLength: 1, maxLength: 6 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (batches, c) => {
        let st = EMPTY_OBSERVER_STATE;
        let refMin = NaN, refMax = NaN, realMin = NaN, realMax = NaN;
        for (const [i, [a, b]] of batches.entries()) {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          st = movingAverageState(st, Float32Array.of(lo), Float32Array.of(hi), c);
          if (i === 0) {
            assertEquals([st.min[0], st.max[0]], [lo, hi]);
            [refMin, refMax, realMin, realMax] = [lo, hi, lo, hi];
          } else {
            // Exact float32 rule, and close to the real-number rule.
            refMin = f32(refMin + f32(f32(c) * f32(lo - refMin)));
            refMax = f32(refMax + f32(f32(c) * f32(hi - refMax)));
            assertEquals([st.min[0], st.max[0]], [refMin, refMax]);
            realMin += c * (lo - realMin);
            realMax += c * (hi - realMax);
            // Each float32 step errs by a few ulps of the largest magnitude involved.
            const scale = Math.max(...batches.slice(0, i + 1).flat().map(Math.abs));
            assertAlmostEquals(st.min[0], realMin, 3e-7 * scale * (i + 1) + 1e-30);
            assertAlmostEquals(st.max[0], realMax, 3e-7 * scale * (i + 1) + 1e-30);
          }
        }
      },
    ),
    RUNS,
  );
  const s1 = movingAverageState(EMPTY_OBSERVER_STATE, Float32Array.of(-1), Float32Array.of(1), 0.01);
  const s2 = movingAverageState(s1, Float32Array.of(-3), Float32Array.of(5), 0.01);
  assertAlmostEquals(s2.min[0], -1.02, 1e-6);
  assertAlmostEquals(s2.max[0], 1.04, 1e-6);
  assertThrows(
    () => movingAverageState(s1, new Float32Array(2), new Float32Array(2), 0.1),
    RangeError,
    "channels",
  );
});

Deno.test("observedMinMax() finds per-channel extremes and names the module on non-finite data", () => {
  fc.assert(
    fc.property(
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }))
        .chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.array(v, {
              minLength: shape[0] * shape[1] * shape[2],
              maxLength: shape[0] * shape[1] * shape[2],
            }),
          )
        ),
      ([shape, x]) => {
        const { min, max } = observedMinMax(x, { name: "m", axis: 1, shape });
        for (let c = 0; c < shape[1]; c++) {
          const vals = x.filter((_, i) => Math.floor(i / shape[2]) % shape[1] === c);
          assertEquals([min[c], max[c]], [Math.min(...vals), Math.max(...vals)]);
        }
        const all = observedMinMax(x, { name: "m" });
        assertEquals([all.min[0], all.max[0]], [Math.min(...x), Math.max(...x)]);
      },
    ),
    RUNS,
  );
  for (const bad of [NaN, Infinity, -Infinity]) {
    assertThrows(() => observedMinMax([1, bad], { name: "backbone.conv1" }), RangeError, '"backbone.conv1"');
  }
  assertThrows(() => observedMinMax([1, 2], { name: "w", axis: 0 }), TypeError, "needs the shape");
});

Deno.test("scaleOfState() is 1 before data and the SPEC.md rule after", () => {
  const r = { qmin: -128, qmax: 127 };
  assertEquals(Array.from(scaleOfState(EMPTY_OBSERVER_STATE, r)), [1]);
  const st = { min: Float32Array.of(-2, 0), max: Float32Array.of(1, 3) };
  assertEquals(Array.from(scaleOfState(st, r)), [determineScale(-2, 1), determineScale(0, 3)]);
  assert(checkAveragingConstant(1, "x") === 1);
  assertThrows(() => checkAveragingConstant(1.5, "obs"), RangeError, '"obs"');
});

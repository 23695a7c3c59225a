import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { EMPTY_OBSERVER_STATE, movingAverageState } from "./observer.ts";
import { minMaxObserver } from "./observer_minmax.ts";
import { percentileClip, percentileObserver } from "./observer_percentile.ts";

const RUNS = { seed: 42, numRuns: 200 };
const f32 = Math.fround;
const batch = fc.array(fc.float({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 200 });

/** Reference by sorting: the bin of the element of rank ceil(p · n) - 1 among all bins. */
function referenceClip(x: readonly number[], percentile: number, bins: number): number {
  const absmax = Math.max(...x.map(Math.abs));
  if (absmax === 0) return 0;
  const binOf = x.map((v) => Math.min(bins - 1, Math.floor((Math.abs(f32(v)) * bins) / absmax))).sort((
    a,
    b,
  ) => a - b);
  const target = (percentile / 100) * x.length;
  const i = target <= 0 ? 0 : binOf[Math.min(x.length, Math.ceil(target)) - 1];
  return f32((i + 0.5) * (absmax / bins));
}

Deno.test("percentileClip() picks the first bin whose cumulative count reaches the percentile", () => {
  fc.assert(
    fc.property(
      batch,
      fc.double({ min: 0, max: 100, noNaN: true }),
      fc.integer({ min: 1, max: 4096 }),
      (x, p, bins) => {
        const absmax = Math.max(...x.map(Math.abs));
        assertEquals(percentileClip(x, { percentile: p, bins, absmax }), referenceClip(x, p, bins));
      },
    ),
    RUNS,
  );
});

Deno.test("percentileObserver() clips each batch then averages like MinMax", () => {
  fc.assert(
    fc.property(fc.array(batch, { minLength: 1, maxLength: 4 }), (batches) => {
      const obs = percentileObserver({ name: "act" });
      const mm = minMaxObserver({ name: "ref" });
      let st = obs.initialState, ref = EMPTY_OBSERVER_STATE;
      for (const x of batches) {
        st = obs.update(st, x);
        const clip = referenceClip(x, 99.99, 2048);
        const lo = Math.max(Math.min(...x), -clip), hi = Math.min(Math.max(...x), clip);
        // The clipped extremes follow the MinMax running-average rule (clipping may leave max < min
        // when every value is near absmax; the scale rule only uses max(-min, max, 0)).
        ref = movingAverageState(ref, Float32Array.of(lo), Float32Array.of(hi), 0.01);
        assertEquals([st.min[0], st.max[0]], [ref.min[0], ref.max[0]]);
      }
      assertEquals(obs.scale(st)[0], mm.scale(ref)[0]);
    }),
    RUNS,
  );
});

Deno.test("percentileObserver() ignores a rare outlier but keeps a common extreme", () => {
  const body = Array.from({ length: 100000 }, (_, i) => Math.sin(i));
  const obs = percentileObserver();
  const st = obs.update(obs.initialState, [...body, 1000]);
  assert(st.max[0] < 2 && st.max[0] > 0.9, `max ${st.max[0]}`);
  const st2 = obs.update(obs.initialState, body);
  assert(Math.abs(st2.max[0] - 1) < 1e-3);
});

Deno.test("percentileObserver() validates its options and its data", () => {
  assertThrows(() => percentileObserver({ percentile: 101 }), RangeError);
  assertThrows(() => percentileObserver({ bins: 0 }), RangeError);
  const obs = percentileObserver({ name: "head.out" });
  assertThrows(() => obs.update(obs.initialState, [1, NaN]), RangeError, '"head.out"');
  assertEquals(obs.update(obs.initialState, [0, 0]).max[0], 0);
});

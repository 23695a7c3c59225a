import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { minMaxObserver } from "./observer_minmax.ts";
import { mseObserver } from "./observer_mse.ts";
import { MSE_CANDIDATES } from "./observer_sq_error.ts";
import { fakeQuantize } from "./quantize.ts";
import { determineScale } from "./scale.ts";

const RUNS = { seed: 42, numRuns: 100 };
const f32 = Math.fround;
const batch = fc.array(fc.float({ min: -20, max: 20, noNaN: true }), { minLength: 1, maxLength: 60 });

/** Brute force over the candidates with the public fakeQuantize(): least error, ties to the larger i. */
function referenceRange(x: readonly number[], dtype: "qint8" | "qint16"): [number, number] {
  const lo = Math.min(...x), hi = Math.max(...x);
  let best: [number, number] = [lo, hi], bestErr = Infinity;
  for (let i = 0; i < MSE_CANDIDATES; i++) {
    const f = 1 - 0.01 * i;
    const a = f32(lo * f), b = f32(hi * f);
    const fq = fakeQuantize(x, determineScale(a, b, { dtype }), { dtype });
    let err = 0;
    for (let j = 0; j < x.length; j++) err += (fq[j] - f32(x[j])) ** 2;
    if (err <= bestErr) [bestErr, best] = [err, [a, b]];
  }
  return best;
}

Deno.test("mseObserver() picks the candidate range with the least squared fake-quant error", () => {
  fc.assert(
    fc.property(batch, fc.constantFrom("qint8" as const, "qint16" as const), (x, dtype) => {
      const obs = mseObserver({ dtype });
      const st = obs.update(obs.initialState, x);
      assertEquals([st.min[0], st.max[0]], referenceRange(x, dtype));
    }),
    RUNS,
  );
});

Deno.test("mseObserver() never does worse than the full range and averages like MinMax", () => {
  fc.assert(
    fc.property(fc.array(batch, { minLength: 1, maxLength: 3 }), (batches) => {
      const obs = mseObserver({ name: "act" });
      const mm = minMaxObserver();
      let st = obs.initialState, ref = mm.initialState;
      for (const x of batches) {
        const one = obs.update(obs.initialState, x);
        const err = (s: number) => fakeQuantize(x, s).reduce((p, v, j) => p + (v - f32(x[j])) ** 2, 0);
        assert(err(obs.scale(one)[0]) <= err(determineScale(Math.min(...x), Math.max(...x))));
        st = obs.update(st, x);
        ref = mm.update(ref, [one.min[0], one.max[0]]);
        assertEquals([st.min[0], st.max[0]], [ref.min[0], ref.max[0]]);
      }
    }),
    RUNS,
  );
});

Deno.test("mseObserver() per channel searches each channel on its own", () => {
  const x = Float32Array.from({ length: 2 * 50 }, (_, i) => (i < 50 ? Math.sin(i) : 10 * Math.cos(i)));
  x[3] = 4; // an outlier in channel 0 only
  const obs = mseObserver({ axis: 0, name: "w" });
  const st = obs.update(obs.initialState, x, { shape: [2, 50] });
  const r0 = referenceRange(Array.from(x.subarray(0, 50)), "qint8");
  const r1 = referenceRange(Array.from(x.subarray(50)), "qint8");
  assertEquals(Array.from(st.min), [r0[0], r1[0]]);
  assertEquals(Array.from(st.max), [r0[1], r1[1]]);
  assertThrows(() => obs.update(obs.initialState, [NaN, 1], { shape: [2, 1] }), RangeError, '"w"');
  assertThrows(() => mseObserver({ stride: 0 }), RangeError);
});

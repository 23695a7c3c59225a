import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { absHistogram, klDivergenceOfClip, klObserver, klThreshold } from "./observer_kl.ts";
import { createObserver } from "./observer_config.ts";
import { minMaxObserver } from "./observer_minmax.ts";

const ln = Math.log;

Deno.test("klDivergenceOfClip() equals the hand-worked divergences of a four-bin histogram", () => {
  // |x| histogram [6, 2, 1, 1] (bin width 1), two quantized levels.
  const hist = Float64Array.of(6, 2, 1, 1);
  // i = 2: P = [6, 2+1+1] / 10; Q = [6], [2] (the outliers stay out of Q) / 8.
  assertAlmostEquals(klDivergenceOfClip(hist, 2, 2), 0.6 * ln(0.6 / 0.75) + 0.4 * ln(0.4 / 0.25), 1e-15);
  // i = 3: P = [6, 2, 1+1] / 10; groups of one bin, the last taking the remainder: [6], [2, 1] → Q = [6, 1.5, 1.5] / 9.
  assertAlmostEquals(
    klDivergenceOfClip(hist, 3, 2),
    0.6 * ln(0.6 / (6 / 9)) + 0.2 * ln(0.2 / (1.5 / 9)) + 0.2 * ln(0.2 / (1.5 / 9)),
    1e-15,
  );
  // i = 4: nothing clipped; groups [6, 2] → [4, 4] and [1, 1] → [1, 1].
  assertAlmostEquals(klDivergenceOfClip(hist, 4, 2), 0.6 * ln(1.5) + 0.2 * ln(0.5), 1e-15);
  // 0.0541, 0.0097, 0.1046: the clip keeps three bins, threshold 3 · (4 / 4).
  assertEquals(klThreshold(hist, { absmax: 4, levels: 2 }), 3);
  assertEquals(klThreshold(hist, { absmax: 8, levels: 2 }), 6);
});

Deno.test("klDivergenceOfClip() smooths empty bins with 1e-4 taken from the others", () => {
  const hist = Float64Array.of(4, 0, 0, 2);
  // i = 2: P = [4, 2]; Q = [4], [0] → smoothed [4 - 1e-4, 1e-4].
  const q = [4 - 1e-4, 1e-4];
  assertAlmostEquals(
    klDivergenceOfClip(hist, 2, 2),
    (4 / 6) * ln((4 / 6) / (q[0] / 4)) + (2 / 6) * ln((2 / 6) / (q[1] / 4)),
    1e-12,
  );
  // i = 3: P = [4, 0, 2] → [4 - 5e-5, 1e-4, 2 - 5e-5]; Q = [4, 0, 0] → [4 - 2e-4, 1e-4, 1e-4].
  const p3 = [4 - 5e-5, 1e-4, 2 - 5e-5], q3 = [4 - 2e-4, 1e-4, 1e-4];
  const ps = p3.reduce((a, b) => a + b), qs = q3.reduce((a, b) => a + b);
  const want = p3.reduce((k, pj, j) => k + (pj / ps) * ln((pj / ps) / (q3[j] / qs)), 0);
  assertAlmostEquals(klDivergenceOfClip(hist, 3, 2), want, 1e-12);
  // i = 4: Q = P, nothing to lose.
  assertEquals(klDivergenceOfClip(hist, 4, 2), 0);
  assertEquals(klThreshold(hist, { absmax: 4, levels: 2 }), 4);
  assertEquals(klDivergenceOfClip(Float64Array.of(0, 0), 2, 1), Infinity);
});

Deno.test("klThreshold() keeps the whole range when there are at least as many levels as bins", () => {
  assertEquals(klThreshold(Float64Array.of(1, 0, 3), { absmax: 1.5, levels: 3 }), 1.5);
  assertEquals(klThreshold(new Float64Array(4), { absmax: 0, levels: 2 }), 0);
});

Deno.test("absHistogram() bins |x| like the percentile observer, per channel through a slice", () => {
  assertEquals([...absHistogram(Float32Array.of(-1, 0.1, 0.6, 0.49), { bins: 2, absmax: 1 })], [2, 2]);
  // [2 rows, 2 channels, 1]: channel 1 is x[1], x[3].
  const h = absHistogram(Float32Array.of(9, 0.2, 9, -0.9), {
    bins: 2,
    absmax: 1,
    slice: { outer: 2, inner: 1, stride: 2, offset: 1 },
  });
  assertEquals([...h], [1, 1]);
});

Deno.test("klObserver() clips a far outlier, and per channel equals per tensor on each channel", () => {
  const obs = klObserver({ name: "act", averagingConstant: 1 });
  const x = Float32Array.from({ length: 5000 }, (_, i) => (i === 7 ? 40 : Math.sin(i * 0.37)));
  const st = obs.update(obs.initialState, x);
  assert(st.max[0] < 40 && st.max[0] > 0.9, `max ${st.max[0]}`);
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: -20, max: 20, noNaN: true }), { minLength: 6, maxLength: 60 }),
      (vals) => {
        const n = vals.length - (vals.length % 3), data = Float32Array.from(vals.slice(0, n));
        const pc = klObserver({ name: "w", axis: 0, bins: 64, averagingConstant: 1 });
        const s = pc.update(pc.initialState, data, { shape: [3, n / 3] });
        for (let c = 0; c < 3; c++) {
          const pt = klObserver({ name: "w", bins: 64, averagingConstant: 1 });
          const one = pt.update(pt.initialState, data.subarray((c * n) / 3, ((c + 1) * n) / 3));
          assertEquals([s.min[c], s.max[c]], [one.min[0], one.max[0]]);
        }
      },
    ),
    { seed: 16, numRuns: 100 },
  );
});

Deno.test("klObserver() at qint16 clips nothing with 2048 bins: the MinMax state", () => {
  const x = Float32Array.from({ length: 300 }, (_, i) => Math.cos(i) * (i === 5 ? 30 : 1));
  const kl = createObserver({ kind: "kl" }, { name: "a", dtype: "qint16" });
  const mm = minMaxObserver({ name: "a", dtype: "qint16" });
  assertEquals(kl.update(kl.initialState, x), mm.update(mm.initialState, x));
  assertEquals(kl.kind, "kl");
});

Deno.test("klObserver() names the module on a non-finite value and a bad bin count", () => {
  const obs = klObserver({ name: "layer3.act" });
  assertThrows(() => obs.update(obs.initialState, Float32Array.of(1, NaN)), RangeError, "layer3.act");
  assertThrows(() => klObserver({ name: "b", bins: 0 }), RangeError, "bins 0");
});

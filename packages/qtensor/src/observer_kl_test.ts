import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { absHistogram } from "./observer_histogram.ts";
import { klDivergenceOfClip, klObserver, klThreshold } from "./observer_kl.ts";
import { createObserver } from "./observer_config.ts";
import { minMaxObserver } from "./observer_minmax.ts";

const ln = Math.log;

Deno.test("klDivergenceOfClip() equals the hand-worked divergences of a four-bin histogram", () => {
  // |x| histogram [6, 2, 1, 1] (bin width 1), two quantized levels.
  const hist = Float64Array.of(6, 2, 1, 1);
  // i = 2: P = [6, 2+1+1] / 10; Q = [6], [2] (the outliers stay out of Q) / 8.
  assertAlmostEquals(klDivergenceOfClip(hist, 2, 2), 0.6 * ln(0.6 / 0.75) + 0.4 * ln(0.4 / 0.25), 1e-15);
  // i = 3: P = [6, 2, 1+1] / 10; bins 0, 1 form group 0 (floor(2j/3)), bin 2 group 1: Q = [4, 4, 1] / 9.
  assertAlmostEquals(
    klDivergenceOfClip(hist, 3, 2),
    0.6 * ln(0.6 / (4 / 9)) + 0.2 * ln(0.2 / (4 / 9)) + 0.2 * ln(0.2 / (1 / 9)),
    1e-15,
  );
  // i = 4: nothing clipped; groups [6, 2] → [4, 4] and [1, 1] → [1, 1].
  assertAlmostEquals(klDivergenceOfClip(hist, 4, 2), 0.6 * ln(1.5) + 0.2 * ln(0.5), 1e-15);
});

Deno.test("klThreshold() replaces the first bin by the second and keeps the hand-worked best clip", () => {
  // [30, 6, 3, 2, 1, 1] → [6, 6, 3, 2, 1, 1]. Keeping 4 bins: P = [6, 6, 3, 2+1+1] / 19,
  // Q = [6, 6] and [2.5, 2.5] / 17.
  const h = Float64Array.of(6, 6, 3, 2, 1, 1);
  const k4 = 2 * (6 / 19) * ln((6 / 19) / (6 / 17)) + (3 / 19) * ln((3 / 19) / (2.5 / 17)) +
    (4 / 19) * ln((4 / 19) / (2.5 / 17));
  assertAlmostEquals(klDivergenceOfClip(h, 4, 2), k4, 1e-15);
  for (const i of [2, 3, 5, 6]) assert(klDivergenceOfClip(h, i, 2) > k4, `candidate ${i}`);
  assertEquals(klThreshold(Float64Array.of(30, 6, 3, 2, 1, 1), { absmax: 6, levels: 2 }), 4);
  assertEquals(klThreshold(Float64Array.of(30, 6, 3, 2, 1, 1), { absmax: 3, levels: 2 }), 2);
});

Deno.test("klDivergenceOfClip() is infinite when the kept range ends in a bin only clipped values fill", () => {
  const h = Float64Array.of(4, 4, 2, 1, 0, 1);
  assertEquals(klDivergenceOfClip(h, 5, 2), Infinity);
  assert(Number.isFinite(klDivergenceOfClip(h, 6, 2)));
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

Deno.test("klObserver() clips a long tail, and per channel equals per tensor on each channel", () => {
  const obs = klObserver({ name: "act", averagingConstant: 1 });
  // Laplace-distributed, both signs: the long tail is cut; a ReLU's zeros do not pull the clip down.
  const x = Float32Array.from(
    { length: 20000 },
    (_, i) => (i % 2 ? 1 : -1) * -Math.log(((i * 0.6180339887) % 1) + 1e-9),
  );
  const absmax = Math.max(...x.map(Math.abs));
  const st = obs.update(obs.initialState, x);
  assert(-st.min[0] < absmax / 2 && -st.min[0] > 2 && st.max[0] <= -st.min[0], `min ${st.min[0]}`);
  const relu = x.map((v) => Math.max(v, 0));
  const sr = obs.update(obs.initialState, relu);
  assert(sr.max[0] > 2 && sr.min[0] === 0, `relu max ${sr.max[0]}`);
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

Deno.test("klObserver() does not clip a batch with fewer than 16 values per level (logits)", () => {
  const obs = klObserver({ name: "fc", averagingConstant: 1 });
  // 160 logits: 10 values per bin at 16 bins, fewer bins than 128 levels.
  const x = Float32Array.from({ length: 160 }, (_, i) => (i === 3 ? 9 : Math.sin(i)));
  assertEquals(obs.update(obs.initialState, x).max[0], 9);
  // 40,000 values: 2048 bins, and the long tail is cut.
  const y = Float32Array.from({ length: 40000 }, (_, i) => -Math.log(((i * 0.6180339887) % 1) + 1e-9));
  assert(obs.update(obs.initialState, y).max[0] < Math.max(...y) / 2);
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

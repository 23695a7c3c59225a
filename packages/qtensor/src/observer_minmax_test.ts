import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { fixedScaleObserver, minMaxObserver, perChannelMinMaxObserver } from "./observer_minmax.ts";
import { determineScale } from "./scale.ts";

const RUNS = { seed: 42, numRuns: 200 };
const f32 = Math.fround;
const batch = fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 1, maxLength: 20 });

Deno.test("minMaxObserver() follows the running min/max rule over batches", () => {
  fc.assert(
    fc.property(fc.array(batch, { minLength: 1, maxLength: 5 }), (batches) => {
      const obs = minMaxObserver({ name: "act" });
      let st = obs.initialState;
      let lo = 0, hi = 0;
      for (const [i, x] of batches.entries()) {
        st = obs.update(st, x);
        const bl = Math.min(...x), bh = Math.max(...x);
        if (i === 0) [lo, hi] = [bl, bh];
        else [lo, hi] = [f32(lo + f32(f32(0.01) * f32(bl - lo))), f32(hi + f32(f32(0.01) * f32(bh - hi)))];
        assertEquals([st.min[0], st.max[0]], [lo, hi]);
      }
      assertEquals(obs.scale(st)[0], determineScale(lo, hi));
    }),
    RUNS,
  );
});

Deno.test("minMaxObserver() is pure: updating returns a new state and leaves the old one", () => {
  const obs = minMaxObserver({ averagingConstant: 0.5 });
  const s1 = obs.update(obs.initialState, [1, 2]);
  const s2 = obs.update(s1, [-4, 4]);
  assertEquals([s1.min[0], s1.max[0]], [1, 2]);
  assertEquals([s2.min[0], s2.max[0]], [-1.5, 3]);
  assertEquals(obs.initialState.min.length, 0);
  assert(obs.update(s2, []) === s2); // empty batches change nothing
  assertEquals(Array.from(obs.scale(obs.initialState)), [1]);
});

Deno.test("perChannelMinMaxObserver() observes each output channel (axis 0) like a per-tensor observer", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer(),
      (O, K, seed) => {
        let st = seed >>> 0;
        const w = Float32Array.from({ length: O * K }, () => {
          st = (Math.imul(st, 1103515245) + 12345) >>> 0;
          return f32(st / 2 ** 32 - 0.5);
        });
        const obs = perChannelMinMaxObserver({ name: "conv.weight", dtype: "qint8" });
        const state = obs.update(obs.initialState, w, { shape: [O, K] });
        const scales = obs.scale(state);
        for (let o = 0; o < O; o++) {
          const one = minMaxObserver();
          const s1 = one.update(one.initialState, w.subarray(o * K, (o + 1) * K));
          assertEquals(scales[o], one.scale(s1)[0]);
        }
      },
    ),
    RUNS,
  );
  const obs = perChannelMinMaxObserver({ name: "fc.weight" });
  assertThrows(() => obs.update(obs.initialState, [1, 2]), TypeError, '"fc.weight"');
});

Deno.test("minMaxObserver() rejects non-finite values naming the module", () => {
  const obs = minMaxObserver({ name: "layer3.relu", dtype: "qint16" });
  assertThrows(() => obs.update(obs.initialState, [0, NaN]), RangeError, '"layer3.relu"');
  assertThrows(() => obs.update(obs.initialState, [Infinity]), RangeError, "non-finite");
  assertEquals(obs.qmax, 32767);
});

Deno.test("fixedScaleObserver() never moves and still rejects non-finite data", () => {
  const obs = fixedScaleObserver(1 / 128, { name: "quant" });
  let st = obs.initialState;
  for (const x of [[1000, -1000], [0.001], [5]]) st = obs.update(st, x);
  assertEquals(Array.from(obs.scale(st)), [1 / 128]);
  assert(st === obs.initialState);
  assertThrows(() => obs.update(st, [NaN]), RangeError, '"quant"');
  assertThrows(() => fixedScaleObserver(0), RangeError);
});

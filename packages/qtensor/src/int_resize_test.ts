import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { intResizeLinear, resizeNearestIndex, resizeWeight } from "@hqat/qtensor";

const taps = (size: number, out: number, seed: number) => {
  let s = seed >>> 0 || 1;
  const next = (m: number) => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % m;
  const i0 = Int32Array.from({ length: out }, () => next(size));
  const i1 = Int32Array.from(i0, (v) => Math.min(size - 1, v + next(2)));
  const w1 = Int32Array.from({ length: out }, () => [0, 256, 128, next(257)][next(4)]);
  return { i0, i1, w1 };
};

Deno.test("intResizeLinear() is the exact fixed-point bilinear sum, within int32 for int16 extremes", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer(),
      fc.boolean(),
      (h, w, seed, wide) => {
        const [lo, hi] = wide ? [-32768, 32767] : [-128, 127];
        const n = 2 * h * w;
        const vals = Array.from({ length: n }, (_, i) => [lo, hi, (i * 7919 + seed) % (hi + 1)][i % 3]);
        const x = wide ? Int16Array.from(vals) : Int8Array.from(vals);
        const rows = taps(h, 3, seed), cols = taps(w, 4, seed + 1);
        const y = intResizeLinear(x, [1, 2, h, w], rows, cols);
        for (let p = 0, o = 0; p < 2; p++) {
          for (let a = 0; a < 3; a++) {
            for (let b = 0; b < 4; b++, o++) {
              const at = (r: number, c: number) => x[p * h * w + r * w + c];
              const [wy, wx] = [rows.w1[a], cols.w1[b]];
              const v =
                (256 - wy) * ((256 - wx) * at(rows.i0[a], cols.i0[b]) + wx * at(rows.i0[a], cols.i1[b])) +
                wy * ((256 - wx) * at(rows.i1[a], cols.i0[b]) + wx * at(rows.i1[a], cols.i1[b]));
              assertEquals(y[o], v);
              assert(v >= -(2 ** 31) && v < 2 ** 31);
            }
          }
        }
      },
    ),
    { seed: 71, numRuns: 150 },
  );
  const bad = { i0: Int32Array.of(2), i1: Int32Array.of(2), w1: Int32Array.of(0) };
  assertThrows(() => intResizeLinear(new Int8Array(4), [1, 1, 2, 2], bad, taps(2, 2, 1)), RangeError);
  const heavy = { i0: Int32Array.of(0), i1: Int32Array.of(1), w1: Int32Array.of(257) };
  assertThrows(() => intResizeLinear(new Int8Array(4), [1, 1, 2, 2], heavy, taps(2, 2, 1)), RangeError);
});

Deno.test("resizeNearestIndex() reads row i0 and column i0 of each plane; resizeWeight() rounds half to even", () => {
  assertEquals(
    resizeNearestIndex([2, 1, 3], Int32Array.of(0), Int32Array.of(2, 2, 0)),
    Int32Array.of(2, 2, 0, 5, 5, 3),
  );
  assertThrows(() => resizeNearestIndex([1, 1, 3], Int32Array.of(1), Int32Array.of(0)), RangeError);
  assertEquals([0, 0.5 / 256, 1.5 / 256, 0.5, 1].map(resizeWeight), [0, 0, 2, 128, 256]);
  assertThrows(() => resizeWeight(1.5), RangeError);
});

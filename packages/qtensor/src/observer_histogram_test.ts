import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { div, exact, floorDiv, int, mul } from "./exact_test_util.ts";
import { absHistogram, histogramBin } from "./observer_histogram.ts";

const f32 = Math.fround;

/** The exact `min(bins - 1, floor(ax · bins / absmax))` in rationals. */
function exactBin(ax: number, bins: number, absmax: number): number {
  const q = div(mul(exact(ax), int(bins)), exact(absmax));
  return Math.min(bins - 1, Number(floorDiv(q.num, q.den)));
}

/** float32 neighbours of `v` (next up and down). */
function neighbours(v: number): number[] {
  const b = new Float32Array(1), u = new Uint32Array(b.buffer);
  b[0] = v;
  const bits = u[0];
  const out = [v];
  for (const d of [-1, 1]) {
    u[0] = bits + d;
    if (Number.isFinite(b[0]) && b[0] >= 0) out.push(b[0]);
  }
  return out;
}

Deno.test("histogramBin() is the exact floor of |x| · bins / absmax, bin edges and subnormals included", () => {
  fc.assert(
    fc.property(
      fc.float({ min: Math.fround(1e-44), max: Math.fround(3e38), noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: 1, max: 1 << 24 }),
      fc.integer({ min: 0, max: 1 << 24 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (absmax, bins, j, t) => {
        // Values on the bin edges j · absmax / bins (float32-rounded) and beside them, and anywhere.
        const edge = f32((Math.min(j, bins) * absmax) / bins);
        for (const ax of [...neighbours(edge), f32(t * absmax), absmax]) {
          if (ax > absmax) continue;
          assertEquals(
            histogramBin(ax, { bins, absmax }),
            exactBin(ax, bins, absmax),
            `${ax} ${bins} ${absmax}`,
          );
        }
      },
    ),
    { seed: 42, numRuns: 3000 },
  );
});

Deno.test("absHistogram() counts each value in its bin and absmax in the last", () => {
  const h = absHistogram(Float32Array.of(0, -0.25, 0.5, -1, 0.75, 0.7499999), { bins: 4, absmax: 1 });
  assertEquals(Array.from(h), [1, 1, 2, 2]);
  assertEquals(Array.from(absHistogram([3, 3], { bins: 2, absmax: 0 })), [0, 0]);
});

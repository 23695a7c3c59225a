import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { intReduceSum, reduceIndex } from "@hqat/qtensor";

Deno.test("intReduceSum() sums every element sharing the kept coordinates, and reduceIndex() shapes the output", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      fc.boolean(),
      fc.integer(),
      (shape, pick, keepDims, seed) => {
        let axes = shape.map((_, i) => i).filter((i) => pick[i]);
        if (axes.length === 0) axes = [shape.length - 1];
        const n = shape.reduce((a, b) => a * b, 1);
        const x = Int16Array.from(
          { length: n },
          (_, i) => (i % 5 === 0 ? -32768 : ((i + 1) * (seed | 1)) % 32768),
        );
        const sums = intReduceSum(x, shape, axes);
        // Brute force: accumulate by the kept coordinates.
        const keptDims = shape.map((_, i) => i).filter((i) => !axes.includes(i));
        const expected = new Map<string, number>();
        for (let j = 0; j < n; j++) {
          let r = j;
          const c = new Array<number>(shape.length);
          for (let a = shape.length - 1; a >= 0; a--) {
            c[a] = r % shape[a];
            r = Math.floor(r / shape[a]);
          }
          const key = keptDims.map((d) => c[d]).join();
          expected.set(key, (expected.get(key) ?? 0) + x[j]);
        }
        assertEquals(Array.from(sums), [...expected.values()]);
        const m = reduceIndex(shape, axes, keepDims);
        assertEquals(
          m.shape,
          keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : keptDims.map((d) => shape[d]),
        );
        assertEquals(m.count, axes.reduce((p, a) => p * shape[a], 1));
      },
    ),
    { seed: 91, numRuns: 200 },
  );
  assertThrows(() => reduceIndex([2, 3], [1, -1], false), RangeError, "not distinct");
  assertThrows(() => reduceIndex([2, 3], [2], false), RangeError);
});

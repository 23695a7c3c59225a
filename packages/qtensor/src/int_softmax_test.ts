import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { intSoftmax, softmaxExpTable } from "@hqat/qtensor";

Deno.test("intSoftmax() gives probabilities of 16 bits that sum to about 2^16 and follow the float softmax", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 0, max: 2 }),
      fc.double({ min: 2 ** -12, max: 0.5, noNaN: true }).map(Math.fround),
      fc.boolean(),
      fc.integer(),
      (shape, a, sx, wide, seed) => {
        const axis = a % shape.length, [lo, hi] = wide ? [-32768, 32767] : [-128, 127];
        const n = shape.reduce((p, q) => p * q, 1);
        const vals = Array.from(
          { length: n },
          (_, i) => [lo, hi, lo + (((i + 1) * (seed | 1)) >>> 0) % (hi - lo + 1)][i % 3],
        );
        const x = wide ? Int16Array.from(vals) : Int8Array.from(vals);
        const table = softmaxExpTable(sx, wide ? "qint16" : "qint8");
        const y = intSoftmax(x, shape, axis, table);
        const len = shape[axis], inner = shape.slice(axis + 1).reduce((p, q) => p * q, 1);
        for (let o = 0; o < n / (len * inner); o++) {
          for (let i = 0; i < inner; i++) {
            const idx = Array.from({ length: len }, (_, l) => o * len * inner + l * inner + i);
            const mx = Math.max(...idx.map((j) => x[j]));
            const e = idx.map((j) => Math.exp((x[j] - mx) * sx));
            const total = e.reduce((p, q) => p + q, 0);
            let sum = 0;
            idx.forEach((j, l) => {
              sum += y[j];
              assert(y[j] >= 0 && y[j] <= 65536);
              // The table's rounding (±1/2 of 2^-15 per entry) and the division's (1/2 of 2^-16).
              assert(
                Math.abs(y[j] / 65536 - e[l] / total) <= (len + 2) * 2 ** -15,
                `${y[j] / 65536} vs ${e[l] / total}`,
              );
            });
            assert(Math.abs(sum - 65536) <= len, `row sums to ${sum}`);
          }
        }
      },
    ),
    { seed: 151, numRuns: 200 },
  );
});

Deno.test("softmaxExpTable() rounds exp(−d · sx) · 2^15 half to even; intSoftmax() checks its axis", () => {
  const t = softmaxExpTable(0.5, "qint16");
  assertEquals(t.length, 65536);
  for (const d of [0, 1, 7, 20, 30]) assertEquals(t[d], Math.round(Math.exp(-d * 0.5) * 32768));
  assertThrows(() => intSoftmax(new Int8Array(2), [1, 2], 2, softmaxExpTable(1, "qint8")), RangeError);
  assertThrows(() => softmaxExpTable(0, "qint8"), RangeError);
});

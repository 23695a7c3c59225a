import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { expandTo, intAlignedSum, intMulProduct } from "@hqat/qtensor";

const shapes = fc.tuple(
  fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
  fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
).map(([shape, ones]) => ({ shape, bShape: shape.map((d, i) => (ones[i] ? 1 : d)) }));

function values(n: number, seed: number, range: number): Int16Array {
  let s = seed >>> 0;
  return Int16Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s % (2 * range)) - range;
  });
}

Deno.test("expandTo() repeats the broadcast operand as the product kernel reads it", () => {
  fc.assert(
    fc.property(shapes, fc.integer(), ({ shape, bShape }, seed) => {
      const n = shape.reduce((x, y) => x * y, 1), m = bShape.reduce((x, y) => x * y, 1);
      const b = values(m, seed, 32768);
      // Multiplying ones by b reads b at the same index as the expansion.
      assertEquals(expandTo(b, bShape, shape), intMulProduct(new Int16Array(n).fill(1), shape, b, bShape));
    }),
    { seed: 11, numRuns: 200 },
  );
  assertThrows(() => expandTo(Int8Array.of(1, 2), [2], [3]), RangeError, "does not broadcast");
  assertThrows(() => expandTo(Int8Array.of(1, 2), [1, 2], [2]), RangeError);
});

Deno.test("intAlignedSum() is the exact aligned sum or difference, second operand broadcast", () => {
  fc.assert(
    fc.property(
      shapes,
      fc.integer(),
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom("qint8" as const, "qint16" as const),
      fc.integer({ min: -32767, max: 32767 }),
      ({ shape, bShape }, seed, shiftSecond, subtract, dtype, t) => {
        const range = dtype === "qint8" ? 128 : 32768, kMax = dtype === "qint8" ? 23 : 15;
        const n = shape.reduce((x, y) => x * y, 1), m = bShape.reduce((x, y) => x * y, 1);
        const a = values(n, seed, range), b = values(m, seed + 7, range);
        // Saturated operands at the extremes of k.
        a[0] = -range;
        b[0] = range - 1;
        const k = (seed >>> 0) % (kMax + 1);
        const y = intAlignedSum(a, shape, b, bShape, { shiftSecond, k, t, subtract });
        const bx = expandTo(b, bShape, shape);
        for (let i = 0; i < n; i++) {
          const [A, B] = shiftSecond ? [a[i] * t, bx[i] * 2 ** k] : [a[i] * 2 ** k, bx[i] * t];
          assertEquals(y[i], subtract ? A - B : A + B);
        }
      },
    ),
    { seed: 12, numRuns: 300 },
  );
});

Deno.test("intAlignedSum() refuses operands that do not fit their shapes", () => {
  const o = { shiftSecond: false, k: 1, t: 1 };
  assertThrows(() => intAlignedSum(new Int8Array(3), [1, 4], new Int8Array(1), [1, 1], o), RangeError);
  assertThrows(() => intAlignedSum(new Int8Array(4), [1, 4], new Int8Array(2), [1, 2], o), RangeError);
});

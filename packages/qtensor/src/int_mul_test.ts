import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { intMulProduct } from "@hqat/qtensor";

Deno.test("intMulProduct() is the exact product with the second operand broadcast over size-1 dimensions", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      fc.integer(),
      (shape, ones, seed) => {
        const bShape = shape.map((d, i) => (ones[i] ? 1 : d));
        const n = shape.reduce((x, y) => x * y, 1), m = bShape.reduce((x, y) => x * y, 1);
        let s = seed >>> 0;
        const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % 65536 - 32768;
        const a = Int16Array.from({ length: n }, next), b = Int16Array.from({ length: m }, next);
        const p = intMulProduct(a, shape, b, bShape);
        for (let i = 0; i < n; i++) {
          // The index of element i in b: each coordinate, or 0 on a broadcast dimension.
          let r = i, j = 0, stride = 1;
          for (let d = shape.length - 1; d >= 0; d--) {
            const c = r % shape[d];
            r = Math.floor(r / shape[d]);
            if (bShape[d] !== 1) j += c * stride;
            stride *= bShape[d];
          }
          assertEquals(p[i], a[i] * b[j]);
        }
      },
    ),
    { seed: 3, numRuns: 200 },
  );
});

Deno.test("intMulProduct() refuses shapes that do not broadcast", () => {
  assertThrows(
    () => intMulProduct(new Int8Array(4), [1, 4], new Int8Array(2), [1, 2]),
    RangeError,
    "does not broadcast",
  );
  assertThrows(() => intMulProduct(new Int8Array(4), [1, 4], new Int8Array(4), [4]), RangeError);
  assertThrows(() => intMulProduct(new Int8Array(3), [1, 4], new Int8Array(1), [1, 1]), RangeError);
});

import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { intMatmul, matmulShape } from "@hqat/qtensor";

Deno.test("intMatmul() is the exact product over broadcast batch dimensions", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 })), {
        minLength: 0,
        maxLength: 2,
      }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer(),
      (batch, m, k, n, seed) => {
        // Each batch dimension: both d, or one side 1.
        const ab = batch.map(([d, w]) => (w === 0 ? [d, d] : w === 1 ? [1, d] : [d, 1]));
        const aShape = [...ab.map((p) => p[0]), m, k], bShape = [...ab.map((p) => p[1]), k, n];
        const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
        const v = (len: number, s0: number) =>
          Int16Array.from(
            { length: len },
            (_, i) => (i % 4 === 0 ? -32768 : ((i + s0) * 40503) % 65536 - 32768),
          );
        const a = v(size(aShape), seed), b = v(size(bShape), seed + 3);
        const y = intMatmul(a, aShape, b, bShape);
        const shape = matmulShape(aShape, bShape);
        assertEquals(y.shape, shape);
        const r = shape.length;
        for (let o = 0; o < y.data.length; o++) {
          let rest = o;
          const c = new Array<number>(r);
          for (let d = r - 1; d >= 0; d--) {
            c[d] = rest % shape[d];
            rest = Math.floor(rest / shape[d]);
          }
          const at = (x: Int16Array, s: number[], i: number, j: number) => {
            let off = 0;
            for (let d = 0; d < r - 2; d++) off = off * s[d] + (s[d] === 1 ? 0 : c[d]);
            return x[(off * s[r - 2] + i) * s[r - 1] + j];
          };
          let sum = 0;
          for (let t = 0; t < k; t++) sum += at(a, aShape, c[r - 2], t) * at(b, bShape, t, c[r - 1]);
          assertEquals(y.data[o], sum | 0);
        }
      },
    ),
    { seed: 111, numRuns: 150 },
  );
  assertThrows(() => matmulShape([2, 3], [4, 5]), RangeError, "do not multiply");
  assertThrows(() => matmulShape([2, 2, 3], [3, 3, 5]), RangeError);
  assertThrows(() => matmulShape([2, 3, 4], [4, 5]), RangeError);
});

import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { dequantStub, quantStub } from "./stubs.ts";

Deno.test("quantStub() with scale 1/128 maps centered pixels p / 128 to the integers p", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -128, max: 127 }), { minLength: 1, maxLength: 50 }), (pixels) => {
      const q = quantStub(pixels.map((p) => p / 128), { shape: [pixels.length], scale: 1 / 128 });
      assertEquals(Array.from(q.data), pixels);
      assertEquals(Array.from(dequantStub(q)), pixels.map((p) => p / 128));
    }),
    { seed: 42, numRuns: 100 },
  );
  const q16 = quantStub([1.5], { shape: [1], scale: 2 ** -10, dtype: "qint16" });
  assertEquals([q16.dtype, q16.data[0]], ["qint16", 1536]);
});

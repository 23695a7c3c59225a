import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { channelLayout, resolveLayout } from "./layout.ts";

Deno.test("channelLayout() splits a shape into outer × channels × inner around the axis", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      fc.nat(),
      (shape, a) => {
        const axis = a % shape.length;
        const size = shape.reduce((p, d) => p * d, 1);
        const l = channelLayout(shape, { axis, scaleCount: shape[axis], length: size });
        assertEquals(l.outer * l.channels * l.inner, size);
        assertEquals(l.channels, shape[axis]);
        assertEquals(l.inner, shape.slice(axis + 1).reduce((p, d) => p * d, 1));
      },
    ),
    { seed: 42, numRuns: 200 },
  );
  assertThrows(
    () => channelLayout([2, 3], { axis: 0, scaleCount: 3, length: 6 }),
    RangeError,
    "do not match",
  );
  assertThrows(() => channelLayout([2, 3], { axis: 0, scaleCount: 2, length: 5 }), RangeError, "has 6");
});

Deno.test("resolveLayout() is per tensor for one value and needs axis and shape for more", () => {
  assertEquals(resolveLayout(1, 7, { axis: 0, shape: [7] }), { outer: 1, channels: 1, inner: 7, axis: -1 });
  assertEquals(resolveLayout(3, 6, { axis: -1, shape: [2, 3] }), {
    outer: 2,
    channels: 3,
    inner: 1,
    axis: 1,
  });
  assertThrows(() => resolveLayout(3, 6, { axis: 1 }), TypeError, "axis and a shape");
});

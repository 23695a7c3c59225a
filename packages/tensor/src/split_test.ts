import { assertEquals, assertLess, assertThrows } from "@std/assert";
import { arange, checkGradients, concat, mul, randomKey, randomNormal, reshape, split } from "../mod.ts";

Deno.test("split() cuts consecutive pieces by lengths or by count, along any axis", () => {
  const x = reshape(arange(0, 12), [2, 6]);
  const [a, b, c] = split(x, [1, 3, 2], { axis: -1 });
  assertEquals([a.shape, b.shape, c.shape].map((s) => [...s]), [[2, 1], [2, 3], [2, 2]]);
  assertEquals(Array.from(b.data), [1, 2, 3, 7, 8, 9]);
  assertEquals(split(x, 4, { axis: 1 }).map((t) => t.shape[1]), [2, 2, 2, 0]);
  assertEquals(split(x, 2).map((t) => Array.from(t.data)), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]);
});

Deno.test("split() pieces carry gradients back to their slice of the input", () => {
  const x = randomNormal(randomKey(1), [3, 5]);
  const r = checkGradients(([t]) => concat(split(t, [2, 3], { axis: 1 }).map((p, k) => mul(p, k + 2)), 1), [
    x,
  ]);
  assertLess(r.error, 1e-2);
});

Deno.test("split() rejects lengths that do not cover the axis", () => {
  const x = arange(0, 5);
  assertThrows(
    () => split(x, [2, 2]),
    RangeError,
    "split(): lengths [2,2] must be non-negative and sum to 5",
  );
  assertThrows(() => split(x, 0), RangeError, "cannot split an axis of length 5 into 0 pieces");
});

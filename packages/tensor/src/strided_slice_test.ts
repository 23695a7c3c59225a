import { assertEquals, assertLess, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  apply1,
  arange,
  checkGradients,
  fromArray,
  randomKey,
  randomNormal,
  reshape,
  slice,
  type Tensor,
  tensor,
} from "../mod.ts";

/** Python's slice(start, stop, step).indices(length), written out independently of the library. */
function pyIndices(
  length: number,
  start: number | undefined,
  stop: number | undefined,
  step: number,
): number[] {
  const [lower, upper] = step > 0 ? [0, length] : [-1, length - 1];
  const fix = (v: number | undefined, dflt: number) => {
    if (v === undefined) return dflt;
    const w = v < 0 ? v + length : v;
    return w < lower ? lower : w > upper ? upper : w;
  };
  const b = fix(start, step > 0 ? lower : upper), e = fix(stop, step > 0 ? upper : lower);
  const out: number[] = [];
  for (let i = b; step > 0 ? i < e : i > e; i += step) out.push(i);
  return out;
}

const bound = fc.option(fc.integer({ min: -8, max: 8 }), { nil: undefined });
const axisSlice = fc.record({
  begin: bound,
  end: bound,
  step: fc.integer({ min: -3, max: 3 }).filter((s) => s !== 0),
});

Deno.test("slice() with steps takes exactly the elements of NumPy's (and ONNX's) slicing", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }),
      fc.array(axisSlice, { minLength: 3, maxLength: 3 }),
      (shape, axes) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const x = fromArray(Float32Array.from({ length: n }, (_, i) => i), shape);
        const a = axes.slice(0, shape.length);
        const y = slice(x, a.map((s) => s.begin ?? (s.step > 0 ? 0 : -1)), a.map((s) => s.end), {
          steps: a.map((s) => s.step),
        });
        // Expected: every combination of the per-axis indices, row-major.
        const idx = a.map((s, i) => pyIndices(shape[i], s.begin ?? undefined, s.end, s.step));
        assertEquals([...y.shape], idx.map((l) => l.length));
        let expected: number[] = [0];
        idx.forEach((list, i) => {
          expected = expected.flatMap((off) => list.map((j) => off * shape[i] + j));
        });
        if (idx.some((l) => l.length === 0)) expected = [];
        assertEquals(Array.from(y.data), expected);
      },
    ),
    { seed: 42, numRuns: 300 },
  );
});

Deno.test("slice() reverses and strides like Python", () => {
  const x = reshape(arange(0, 12), [3, 4]);
  assertEquals(Array.from(slice(x, [], [], { steps: [-1, 1] }).data), [8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3]);
  assertEquals(Array.from(slice(x, [2, 3], [0, undefined], { steps: [-2, -3] }).data), [11, 8]);
  assertEquals(Array.from(slice(x, [0, 1], [3, 4], { steps: [2, 2] }).data), [1, 3, 9, 11]);
  // An end of −Infinity with a negative step runs to the first element (ONNX's INT64_MIN).
  assertEquals(Array.from(slice(tensor([1, 2, 3]), [-1], [-Infinity], { steps: [-1] }).data), [3, 2, 1]);
  assertEquals(slice(tensor([1, 2, 3]), [0], [3], { steps: [-1] }).shape, [0]);
});

Deno.test("slice() gradients with any steps match finite differences", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
      fc.array(axisSlice, { minLength: 3, maxLength: 3 }),
      fc.integer({ min: 0, max: 1 << 20 }),
      (shape, axes, seed) => {
        const a = axes.slice(0, shape.length);
        const x = randomNormal(randomKey(seed), shape);
        const f = ([t]: readonly Tensor[]) =>
          slice(t, a.map((s) => s.begin ?? (s.step > 0 ? 0 : -1)), a.map((s) => s.end), {
            steps: a.map((s) => s.step),
          });
        if (f([x]).size === 0) return;
        const r = checkGradients(f, [x], { seed });
        assertLess(r.error, 1e-2, `analytic ${r.analytic} vs numeric ${r.numeric}`);
      },
    ),
    { seed: 42, numRuns: 60 },
  );
});

Deno.test("slice() rejects a zero step and the primitive rejects out-of-range strided bounds", () => {
  const x = tensor([1, 2, 3]);
  assertThrows(() => slice(x, [0], [3], { steps: [0] }), RangeError, "slice(): step 0 of axis 0");
  assertThrows(() => slice(x, [0], [3], { steps: [1.5] }), RangeError, "must be a non-zero integer");
  assertThrows(
    () => apply1("slice", [x], { starts: [3], ends: [0], steps: [-1] }),
    RangeError,
    "[3, 0) with step -1 is out of range for axis 0 of size 3",
  );
  assertThrows(() => apply1("slice", [x], { starts: [0], ends: [3], steps: [] }), RangeError, "steps need 1");
});

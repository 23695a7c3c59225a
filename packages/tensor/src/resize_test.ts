import { assert, assertEquals, assertLess, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  apply1,
  checkGradients,
  randomKey,
  randomNormal,
  reshape,
  resize,
  type ResizeOptions,
  type Tensor,
  tensor,
} from "../mod.ts";

const FC = { seed: 42, numRuns: 40 };
const row = (values: number[]) => reshape(tensor(values), [1, 1, 1, values.length]);
const along = (x: Tensor, ow: number, o: Omit<ResizeOptions, "size">) =>
  Array.from(resize(x, { ...o, size: [1, ow] }).data);

Deno.test("resize() follows ONNX's coordinate transformations where PyTorch has no counterpart", () => {
  const x = row([10, 20, 30, 40]);
  // Output length 1: half_pixel samples the middle (x = 1.5), pytorch_half_pixel the first cell.
  assertEquals(along(x, 1, { mode: "linear", coordinateTransformation: "half_pixel" }), [25]);
  assertEquals(along(x, 1, { mode: "linear", coordinateTransformation: "pytorch_half_pixel" }), [10]);
  // asymmetric linear: x = o · 4 / 3 = 0, 4/3, 8/3.
  const asym = along(x, 3, { mode: "linear", coordinateTransformation: "asymmetric" });
  [10, 20 + 10 / 3, 30 + 20 / 3].forEach((v, i) => assert(Math.abs(asym[i] - v) < 1e-5, `${asym}`));
  // Upsampling past the last cell clamps to it: x = 0, 0.5, 1, 1.5.
  assertEquals(along(row([10, 20]), 4, { mode: "linear", coordinateTransformation: "asymmetric" }), [
    10,
    15,
    20,
    20,
  ]);
});

Deno.test("resize() rounds nearest coordinates by each ONNX nearest mode, ties included", () => {
  const x = row([10, 20, 30, 40]);
  const near =
    (ow: number, coordinateTransformation: ResizeOptions["coordinateTransformation"]) =>
    (nearestMode: ResizeOptions["nearestMode"]) =>
      along(x, ow, { mode: "nearest", coordinateTransformation, nearestMode });
  // half_pixel 4 → 2: x = 0.5 and 2.5, both ties.
  const ties = near(2, "half_pixel");
  assertEquals(ties("round_prefer_floor"), [10, 30]);
  assertEquals(ties("round_prefer_ceil"), [20, 40]);
  assertEquals(ties("floor"), [10, 30]);
  assertEquals(ties("ceil"), [20, 40]);
  // asymmetric 4 → 3: x = 0, 4/3, 8/3.
  const thirds = near(3, "asymmetric");
  assertEquals(thirds("floor"), [10, 20, 30]);
  assertEquals(thirds("ceil"), [10, 30, 40]);
  assertEquals(thirds("round_prefer_floor"), [10, 20, 40]);
  assertEquals(thirds("round_prefer_ceil"), [10, 20, 40]);
  // align_corners 4 → 3: x = 0, 1.5, 3.
  const corners = near(3, "align_corners");
  assertEquals(corners("round_prefer_floor"), [10, 20, 40]);
  assertEquals(corners("round_prefer_ceil"), [10, 30, 40]);
  // The default nearest mode is ONNX's, round_prefer_floor.
  assertEquals(along(x, 2, { mode: "nearest", coordinateTransformation: "half_pixel" }), [10, 30]);
});

Deno.test("resize() computes coordinates from sizes exactly, and from given scales as ONNX does", () => {
  const x = row(Array.from({ length: 14 }, (_, i) => i));
  // 14 → 18, asymmetric, floor: output 9 sits at 9 · 14 / 18 = 7 exactly (9 / (18 / 14) is 6.999999999999999).
  const o = { mode: "nearest", coordinateTransformation: "asymmetric", nearestMode: "floor" } as const;
  assertEquals(along(x, 18, o)[9], 7);
  // With scales, the mapping divides by the scale as given, as ONNX's reference does in float64.
  assertEquals(resize(x, { ...o, size: [1, 18], scales: [1, 18 / 14] }).data[9], 6);
  // A scale that is not output / input: 3 → floor(3 · 1.5) = 4 with x = o / 1.5, not o · 3 / 4.
  const y = resize(row([0, 10, 20]), {
    mode: "linear",
    coordinateTransformation: "asymmetric",
    size: [1, 4],
  });
  const z = resize(row([0, 10, 20]), {
    mode: "linear",
    coordinateTransformation: "asymmetric",
    size: [1, 4],
    scales: [1, 1.5],
  });
  assertEquals(Array.from(y.data), [0, 7.5, 15, 20]);
  [0, 20 / 3, 40 / 3, 20].forEach((v, i) => assert(Math.abs(z.data[i] - v) < 1e-5, `${z.data}`));
});

Deno.test("resize() interpolates both axes bilinearly", () => {
  const x = reshape(tensor([1, 2, 3, 4]), [1, 1, 2, 2]);
  const y = resize(x, { size: [3, 3], mode: "linear", coordinateTransformation: "align_corners" });
  assertEquals(Array.from(y.data), [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
});

Deno.test("resize() keeps nearest resizing of integer tensors integer, and returns an unresized input", () => {
  const x = reshape(tensor([1, -2, 3, -4], { dtype: "int8" }), [1, 1, 2, 2]);
  const y = resize(x, {
    size: [2, 4],
    mode: "nearest",
    coordinateTransformation: "asymmetric",
    nearestMode: "floor",
  });
  assertEquals(y.dtype, "int8");
  assertEquals(Array.from(y.data), [1, 1, -2, -2, 3, 3, -4, -4]);
  assert(resize(x, { size: [2, 2], mode: "nearest", coordinateTransformation: "half_pixel" }) === x);
});

Deno.test("resize() rejects bad inputs with errors that name it and the problem", () => {
  const x = randomNormal(randomKey(0), [1, 1, 2, 2]);
  const o = { mode: "linear", coordinateTransformation: "half_pixel" } as const;
  assertThrows(
    () => resize(tensor([[1, 2]]), { ...o, size: [2, 2] }),
    RangeError,
    "resize() needs a 4-D input",
  );
  assertThrows(() => resize(x, { ...o, size: [0, 2] }), RangeError, "size must be two positive integers");
  assertThrows(() => resize(x, { ...o, size: [2, 1.5] }), RangeError, "size must be two positive integers");
  assertThrows(() => resize(x, { ...o, size: [3, 3], scales: [0, 1] }), RangeError, "scales must be");
  const ints = tensor([1, 2, 3, 4], { dtype: "int32", shape: [1, 1, 2, 2] });
  assertThrows(() => resize(ints, { ...o, size: [3, 3] }), TypeError, "resize() needs a float32 tensor");
  assertThrows(
    () => resize(x, { size: [3, 3], mode: "cubic" as "linear", coordinateTransformation: "half_pixel" }),
    RangeError,
    'unknown mode "cubic"',
  );
  assertThrows(
    () =>
      resize(x, {
        size: [3, 3],
        mode: "linear",
        coordinateTransformation: "tf_crop_and_resize" as "half_pixel",
      }),
    RangeError,
    "unknown coordinate transformation",
  );
});

const resizeCase = fc.record({
  h: fc.integer({ min: 1, max: 5 }),
  w: fc.integer({ min: 1, max: 5 }),
  oh: fc.integer({ min: 1, max: 9 }),
  ow: fc.integer({ min: 1, max: 9 }),
  mode: fc.constantFrom("nearest" as const, "linear" as const),
  coordinateTransformation: fc.constantFrom(
    "half_pixel" as const,
    "pytorch_half_pixel" as const,
    "align_corners" as const,
    "asymmetric" as const,
  ),
  nearestMode: fc.constantFrom(
    "round_prefer_floor" as const,
    "round_prefer_ceil" as const,
    "floor" as const,
    "ceil" as const,
  ),
  scaled: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1 << 20 }),
});

Deno.test("resize() and its gradient op have gradients that match finite differences in every mode", () => {
  fc.assert(
    fc.property(resizeCase, ({ h, w, oh, ow, scaled, seed, ...o }) => {
      const opts = {
        ...o,
        size: [oh, ow] as const,
        scales: scaled ? [oh / h + 0.1, ow / w + 0.1] as const : undefined,
      };
      const x = randomNormal(randomKey(seed), [2, 1, h, w]);
      const first = checkGradients(([a]) => resize(a, opts), [x], { seed });
      assertLess(first.error, 1e-2, `analytic ${first.analytic} vs numeric ${first.numeric}`);
      // The gradient op is linear in the output cotangent; its own VJP is the resize again.
      const attrs = { ...opts, nearestMode: o.nearestMode, scales: opts.scales ?? null, xShape: x.shape };
      const dy = randomNormal(randomKey(seed + 1), [2, 1, oh, ow]);
      const second = checkGradients(([g]) => apply1("resizeBackward", [g], attrs), [dy], { seed });
      assertLess(second.error, 1e-2, `analytic ${second.analytic} vs numeric ${second.numeric}`);
    }),
    FC,
  );
});

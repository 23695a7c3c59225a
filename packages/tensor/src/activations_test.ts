import { assertEquals, assertLess } from "@std/assert";
import fc from "fast-check";
import {
  checkGradients,
  fromArray,
  grad,
  hardSigmoid,
  hardSwish,
  leakyRelu,
  randomKey,
  randomUniform,
  silu,
  sum,
  type Tensor,
  tensor,
} from "../mod.ts";

const gradOf = (f: (x: Tensor) => Tensor, xs: number[]) =>
  Array.from(grad((x: Tensor) => sum(f(x)))(tensor(xs)).data);

const close = (actual: number[], expected: number[]) =>
  expected.forEach((v, i) =>
    assertLess(Math.abs(actual[i] - v), 1e-6, `[${i}]: ${actual[i]}, expected ${v}`)
  );

Deno.test("leakyRelu() has slope alpha at and below 0, as PyTorch's gradient", () => {
  assertEquals(gradOf((x) => leakyRelu(x, 0.2), [-1, 0, 1]).map((v) => Math.fround(v)), [
    Math.fround(0.2),
    Math.fround(0.2),
    1,
  ]);
  close(Array.from(leakyRelu(tensor([-3, 0, 2])).data), [-0.03, 0, 2]);
  assertEquals(Number.isNaN(leakyRelu(tensor([NaN])).data[0]), true);
});

Deno.test("hardSigmoid() follows ONNX's defaults and PyTorch's gradient, zero at the corners", () => {
  // ONNX HardSigmoid, alpha 0.2, beta 0.5: corners at ±2.5.
  close(Array.from(hardSigmoid(tensor([-3, -2.5, 0, 1, 2.5, 3])).data), [0, 0, 0.5, 0.7, 1, 1]);
  close(gradOf((x) => hardSigmoid(x), [-2.5, -1, 2.5]), [0, 0.2, 0]);
  // PyTorch's hardsigmoid: alpha 1/6, corners at ±3.
  const torch = (x: Tensor) => hardSigmoid(x, { alpha: 1 / 6, beta: 0.5 });
  close(Array.from(torch(tensor([-3, 0, 1.5, 3])).data), [0, 0.5, 0.75, 1]);
  close(gradOf(torch, [-4, -3, -2.9, 2.9, 3, 4]), [0, 0, 1 / 6, 1 / 6, 0, 0]);
});

Deno.test("hardSwish() has ATen's gradient: -1/2 at -3 and 3/2 at 3", () => {
  close(gradOf(hardSwish, [-4, -3, -1.5, 0, 1.5, 3, 4]), [0, -0.5, 0, 0.5, 1, 1.5, 1]);
  close(Array.from(hardSwish(tensor([-3, -1.5, 0, 1.5, 3])).data), [0, -0.375, 0, 1.125, 3]);
});

Deno.test("silu() is x · sigmoid(x) with gradient s · (1 + x · (1 − s))", () => {
  const xs = [-3, -0.5, 0, 0.7, 4];
  const s = xs.map((x) => 1 / (1 + Math.exp(-x)));
  close(Array.from(silu(tensor(xs)).data), xs.map((x, i) => x * s[i]));
  close(gradOf(silu, xs), xs.map((x, i) => s[i] * (1 + x * (1 - s[i]))));
});

/** Uniform values in [-6, 6) kept 0.05 away from `kinks`. */
function away(seed: number, kinks: number[]): Tensor {
  const u = randomUniform(randomKey(seed), [3, 7], { min: -6, max: 6 }).data as Float32Array;
  return fromArray(
    u.map((v) => kinks.reduce((w, k) => (Math.abs(w - k) < 0.05 ? k + Math.sign(w - k || 1) * 0.05 : w), v)),
    [3, 7],
  );
}

Deno.test("leakyRelu(), hardSigmoid(), hardSwish() and silu() gradients match finite differences", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1 << 20 }),
      fc.double({ min: 0.01, max: 0.5, noNaN: true }),
      (seed, a) => {
        const cases: [(x: Tensor) => Tensor, number[]][] = [
          [(x) => leakyRelu(x, a), [0]],
          [(x) => hardSigmoid(x, { alpha: a, beta: 0.5 }), [-0.5 / a, 0.5 / a]],
          [hardSwish, [-3, 3]],
          [silu, []],
        ];
        for (const [f, kinks] of cases) {
          const r = checkGradients(([x]) => f(x), [away(seed, kinks)], { seed });
          assertLess(r.error, 1e-2, `analytic ${r.analytic} vs numeric ${r.numeric}`);
        }
      },
    ),
    { seed: 42, numRuns: 30 },
  );
});

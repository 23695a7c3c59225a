import { assertEquals, assertLessOrEqual } from "@std/assert";
import {
  convTranspose2d,
  fromArray,
  hardSigmoid,
  hardSwish,
  leakyRelu,
  mul,
  padMode,
  resize,
  silu,
  sum,
  type Tensor,
  valueAndGrad,
} from "../mod.ts";

interface Case {
  name: string;
  // deno-lint-ignore no-explicit-any
  attrs: Record<string, any>;
  inputs: { shape: number[]; data: number[] }[];
  output: { shape: number[]; data: number[] };
  grads: number[][];
}

const golden: { torch: string; cases: Case[] } = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/import_golden.json", import.meta.url)),
);

function run(c: Case, xs: Tensor[]): Tensor {
  const a = c.attrs;
  switch (c.name) {
    case "resize":
      return resize(xs[0], a as Parameters<typeof resize>[1]);
    case "convTranspose2d":
      return convTranspose2d(xs[0], xs[1], a);
    case "padMode":
      return padMode(xs[0], a.pads, { mode: a.mode });
    case "leakyRelu":
      return leakyRelu(xs[0], a.alpha);
    case "hardSigmoid":
      return hardSigmoid(xs[0], a);
    case "hardSwish":
      return hardSwish(xs[0]);
    case "silu":
      return silu(xs[0]);
  }
  throw new Error(`unknown case ${c.name}`);
}

/** The weights of the golden loss sum(y · r): r[i] = ((7 i) mod 11 − 5) / 4. */
function lossWeights(shape: readonly number[]): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return fromArray(Float32Array.from({ length: n }, (_, i) => ((7 * i) % 11 - 5) / 4), shape);
}

function worst(actual: ArrayLike<number>, expected: readonly number[]): number {
  assertEquals(actual.length, expected.length);
  let w = 0;
  expected.forEach((v, i) => (w = Math.max(w, Math.abs(actual[i] - v) / Math.max(1, Math.abs(v)))));
  return w;
}

for (const c of golden.cases) {
  Deno.test(`${c.name}() and its gradients equal PyTorch ${golden.torch} for ${JSON.stringify(c.attrs)}`, () => {
    const xs = c.inputs.map((i) => fromArray(Float32Array.from(i.data), i.shape));
    const r = lossWeights(c.output.shape);
    let y: Tensor | null = null;
    const { grad } = valueAndGrad((ps: Tensor[]) => {
      y = run(c, ps);
      return sum(mul(y, r));
    })(xs);
    assertEquals([...y!.shape], c.output.shape);
    assertLessOrEqual(worst(y!.data, c.output.data), 1e-5, "output");
    c.grads.forEach((g, k) => assertLessOrEqual(worst(grad[k].data, g), 1e-5, `gradient of input ${k}`));
  });
}

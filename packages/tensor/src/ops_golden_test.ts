import { assertEquals, assertLessOrEqual } from "@std/assert";
import {
  adaptiveAvgPool2d,
  avgPool2d,
  batchNormTrain,
  cast,
  conv2d,
  crossEntropy,
  fromArray,
  logSoftmax,
  maxPool2d,
  reshape,
  type Tensor,
} from "../mod.ts";

interface Case {
  name: string;
  // deno-lint-ignore no-explicit-any
  attrs: Record<string, any>;
  inputs: { shape: number[]; data: number[] }[];
  output: { shape: number[]; data: number[] };
}

const cases: Case[] = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/ops_golden.json", import.meta.url)),
);

function run(c: Case): Tensor {
  const xs = c.inputs.map((i) => fromArray(Float32Array.from(i.data), i.shape));
  const a = c.attrs;
  switch (c.name) {
    case "maxPool2d":
      return maxPool2d(xs[0], a.kernel, { stride: a.stride, padding: a.padding, ceilMode: a.ceilMode });
    case "avgPool2d":
      return avgPool2d(xs[0], a.kernel, {
        stride: a.stride,
        padding: a.padding,
        ceilMode: a.ceilMode,
        countIncludePad: a.countIncludePad,
      });
    case "adaptiveAvgPool2d":
      return adaptiveAvgPool2d(xs[0], a.outputSize);
    case "batchNormTrain":
      return batchNormTrain(xs[0], xs[1], xs[2], a.eps).y;
    case "logSoftmax":
      return logSoftmax(xs[0], a.axis);
    case "conv2d":
      return conv2d(xs[0], xs[1], a);
    case "crossEntropy":
      return reshape(crossEntropy(xs[0], cast(xs[1], "int32"), { labelSmoothing: a.labelSmoothing }), [1]);
  }
  throw new Error(`unknown case ${c.name}`);
}

for (const c of cases) {
  Deno.test(`${c.name}() equals PyTorch for ${JSON.stringify(c.attrs)}`, () => {
    const y = run(c);
    assertEquals([...y.shape], c.output.shape);
    let worst = 0;
    c.output.data.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(y.data[i] - v) / Math.max(1, Math.abs(v)));
    });
    assertLessOrEqual(worst, 1e-5);
  });
}

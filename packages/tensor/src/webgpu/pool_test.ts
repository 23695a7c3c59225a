import fc from "fast-check";
import type { PoolAttrs } from "../ops.ts";
import { windowOutputSize } from "../shape_rules.ts";
import { assertClose, assertExact, GPU_FC, GPU_TEST, randomTensor, runBoth } from "./gpu_test_util.ts";

const pooling = fc.record({
  k: fc.integer({ min: 1, max: 3 }),
  s: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 3, max: 8 }),
  w: fc.integer({ min: 3, max: 8 }),
  ceilMode: fc.boolean(),
  countIncludePad: fc.boolean(),
  pad: fc.boolean(),
}).map((g): { x: number[]; attrs: PoolAttrs } => {
  const p = g.pad ? Math.floor(g.k / 2) : 0;
  return {
    x: [2, 3, g.h, g.w],
    attrs: {
      kernel: [g.k, g.k + 1],
      stride: [g.s, g.s],
      padding: [p, p],
      ceilMode: g.ceilMode,
      countIncludePad: g.countIncludePad,
    },
  };
});

const outShape = (x: number[], a: PoolAttrs) => [
  x[0],
  x[1],
  windowOutputSize(x[2], a.kernel[0], a.stride[0], a.padding[0], 1, a.ceilMode),
  windowOutputSize(x[3], a.kernel[1], a.stride[1], a.padding[1], 1, a.ceilMode),
];

Deno.test({
  name: "maxPool2dGpu() and its gradient agree with the CPU bit for bit",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(pooling, fc.nat(), async ({ x, attrs }, seed) => {
        const xt = randomTensor("float32", x, seed, -4, 4);
        const f = await runBoth("maxPool2d", [xt], attrs);
        assertExact(f.gpu[0], f.cpu[0], "maxPool2d");
        const xi = randomTensor("int8", x, seed, -4, 4);
        const fi = await runBoth("maxPool2d", [xi], attrs);
        assertExact(fi.gpu[0], fi.cpu[0], "maxPool2d int8");
        const dy = randomTensor("float32", outShape(x, attrs), seed + 1);
        for (const input of [xt, xi]) {
          const b = await runBoth("maxPool2dBackward", [dy, input], attrs);
          assertExact(b.gpu[0], b.cpu[0], `maxPool2dBackward ${input.dtype}`);
        }
      }),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "avgPool2dGpu() and its gradient follow PyTorch's divisor rules like the CPU",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(pooling, fc.nat(), async ({ x, attrs }, seed) => {
        const xt = randomTensor("float32", x, seed);
        const f = await runBoth("avgPool2d", [xt], attrs);
        assertClose(f.gpu[0], f.cpu[0], { abs: 1e-6 }, "avgPool2d");
        const dy = randomTensor("float32", outShape(x, attrs), seed + 1);
        const b = await runBoth("avgPool2dBackward", [dy], { ...attrs, xShape: x });
        assertClose(b.gpu[0], b.cpu[0], { abs: 1e-6 }, "avgPool2dBackward");
      }),
      GPU_FC,
    );
  },
});

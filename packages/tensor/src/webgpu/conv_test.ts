import fc from "fast-check";
import type { ConvAttrs } from "../ops.ts";
import { windowOutputSize } from "../shape_rules.ts";
import { assertClose, GPU_FC, GPU_TEST, magnitudeOf, randomTensor, runBoth } from "./gpu_test_util.ts";

/** A convolution geometry whose output is not empty: [x shape, w shape, attrs, y shape]. */
const geometry = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.constantFrom(1, 2, 3),
  cg: fc.constantFrom(1, 3, 9),
  cog: fc.constantFrom(1, 2, 9, 12),
  h: fc.integer({ min: 3, max: 9 }),
  w: fc.integer({ min: 3, max: 9 }),
  kh: fc.integer({ min: 1, max: 3 }),
  kw: fc.integer({ min: 1, max: 3 }),
  s: fc.integer({ min: 1, max: 2 }),
  p: fc.integer({ min: 0, max: 2 }),
  d: fc.integer({ min: 1, max: 2 }),
}).filter((g) =>
  windowOutputSize(g.h, g.kh, g.s, g.p, g.d) > 0 && windowOutputSize(g.w, g.kw, 1, g.p, g.d) > 0
)
  .map((g) => {
    const attrs: ConvAttrs = {
      stride: [g.s, 1],
      padding: [g.p, g.p],
      dilation: [g.d, g.d],
      groups: g.groups,
    };
    const x = [g.n, g.cg * g.groups, g.h, g.w];
    const w = [g.cog * g.groups, g.cg, g.kh, g.kw];
    const y = [
      g.n,
      w[0],
      windowOutputSize(g.h, g.kh, g.s, g.p, g.d),
      windowOutputSize(g.w, g.kw, 1, g.p, g.d),
    ];
    return { x, w, y, attrs };
  });

Deno.test({
  name: "conv2dGpu() and its gradients agree with the CPU (groups, depthwise, stride, dilation)",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(geometry, fc.nat(), async ({ x, w, y, attrs }, seed) => {
        const xt = randomTensor("float32", x, seed), wt = randomTensor("float32", w, seed + 1);
        const dy = randomTensor("float32", y, seed + 2);
        const f = await runBoth("conv2d", [xt, wt], attrs);
        assertClose(f.gpu[0], f.cpu[0], { magnitude: magnitudeOf("conv2d", [xt, wt], attrs) }, "conv2d");
        const bi = { ...attrs, xShape: x };
        const dx = await runBoth("conv2dBackwardInput", [dy, wt], bi);
        assertClose(
          dx.gpu[0],
          dx.cpu[0],
          { magnitude: magnitudeOf("conv2dBackwardInput", [dy, wt], bi) },
          "dx",
        );
        const bw = { ...attrs, wShape: w };
        const dw = await runBoth("conv2dBackwardWeight", [dy, xt], bw);
        assertClose(
          dw.gpu[0],
          dw.cpu[0],
          { magnitude: magnitudeOf("conv2dBackwardWeight", [dy, xt], bw) },
          "dw",
        );
      }),
      { ...GPU_FC, numRuns: 8 },
    );
  },
});

Deno.test({
  name: "conv2dBackwardWeightGpu() splits a long reduction over several workgroups",
  ...GPU_TEST,
  async fn() {
    const attrs: ConvAttrs = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
    const x = randomTensor("float32", [4, 8, 24, 24], 1), dy = randomTensor("float32", [4, 16, 24, 24], 2);
    const bw = { ...attrs, wShape: [16, 8, 3, 3] };
    const dw = await runBoth("conv2dBackwardWeight", [dy, x], bw);
    assertClose(dw.gpu[0], dw.cpu[0], { magnitude: magnitudeOf("conv2dBackwardWeight", [dy, x], bw) }, "dw");
  },
});

Deno.test({
  name: "conv2dGpu() takes the GEMM and the direct paths for wide, grouped and depthwise layers",
  ...GPU_TEST,
  async fn() {
    const cases: [number[], number[], number][] = [[[2, 9, 5, 5], [12, 9, 3, 3], 1], [[1, 6, 6, 6], [
      6,
      1,
      3,
      3,
    ], 6], [
      [1, 18, 4, 4],
      [4, 9, 3, 3],
      2,
    ]];
    for (const [x, w, groups] of cases) {
      const attrs: ConvAttrs = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups };
      const xt = randomTensor("float32", x, 1), wt = randomTensor("float32", w, 2);
      const f = await runBoth("conv2d", [xt, wt], attrs);
      assertClose(f.gpu[0], f.cpu[0], { magnitude: magnitudeOf("conv2d", [xt, wt], attrs) }, "conv2d");
      const dy = randomTensor("float32", f.infos[0].shape, 3);
      const bi = { ...attrs, xShape: x };
      const dx = await runBoth("conv2dBackwardInput", [dy, wt], bi);
      assertClose(
        dx.gpu[0],
        dx.cpu[0],
        { magnitude: magnitudeOf("conv2dBackwardInput", [dy, wt], bi) },
        "dx",
      );
      const bw = { ...attrs, wShape: w };
      const dw = await runBoth("conv2dBackwardWeight", [dy, xt], bw);
      assertClose(
        dw.gpu[0],
        dw.cpu[0],
        { magnitude: magnitudeOf("conv2dBackwardWeight", [dy, xt], bw) },
        "dw",
      );
    }
  },
});

Deno.test({
  name:
    "conv2dAffineChainGpu() with a residual matches the CPU chain and adds the input after the last layer",
  ...GPU_TEST,
  async fn() {
    const geo = (groups: number, padding: number): ConvAttrs => ({
      stride: [1, 1],
      padding: [padding, padding],
      dilation: [1, 1],
      groups,
    });
    const relu6 = { min: 0, max: 6, openGrad: true },
      none = { min: -Infinity, max: Infinity, openGrad: false };
    const layers = [{ ...geo(1, 0), ...relu6 }, { ...geo(12, 1), ...relu6 }, { ...geo(1, 0), ...none }];
    const shapes = [[12, 6, 1, 1], [12, 1, 3, 3], [6, 12, 1, 1]];
    const x = randomTensor("float32", [2, 6, 5, 5], 1);
    const ins = [x];
    shapes.forEach((s, i) => {
      ins.push(randomTensor("float32", s, 10 + i), randomTensor("float32", [s[0]], 20 + i, 0.5, 2));
      ins.push(randomTensor("float32", [s[0]], 30 + i));
    });
    const residual = { layers, skips: [{ from: 0, to: 2 }] };
    const withRes = await runBoth("conv2dAffineChain", ins, residual);
    const magnitude = magnitudeOf("conv2dAffineChain", ins, residual);
    assertClose(withRes.gpu[0], withRes.cpu[0], { magnitude }, "residual chain");
    const plain = await runBoth("conv2dAffineChain", ins, { layers });
    const xs = x.data as Float32Array;
    assertClose(withRes.gpu[0], plain.gpu[0].map((v, i) => Math.fround(xs[i] + v)), {}, "x + chain");
    // The same block twice in one chain, each adding its own input (skips 0 → 2 and 3 → 5); then the first
    // block's skip and the chain's input added to the last layer (0 → 5), the chain's input read by two adds.
    const ins2 = [...ins, ...ins.slice(1)];
    for (
      const attrs of [
        { layers: [...layers, ...layers], skips: [{ from: 0, to: 2 }, { from: 3, to: 5 }] },
        { layers: [...layers, ...layers], skips: [{ from: 0, to: 2 }, { from: 0, to: 5 }] },
      ]
    ) {
      const r = await runBoth("conv2dAffineChain", ins2, attrs);
      const magnitude = magnitudeOf("conv2dAffineChain", ins2, attrs);
      assertClose(r.gpu[0], r.cpu[0], { magnitude }, JSON.stringify(attrs));
    }
  },
});

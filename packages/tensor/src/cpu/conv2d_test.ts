import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, conv2dOutputSize } from "./conv2d.ts";
import {
  conv2dBackwardInputReference,
  conv2dBackwardWeightReference,
  conv2dForwardReference,
} from "./conv2d_reference.ts";
import { type Conv2dGeometry, convDims } from "./conv2d_shapes.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";
import { lcgFloats } from "./lcg_test_util.ts";

interface Case {
  xShape: number[];
  wShape: number[];
  geo: Conv2dGeometry;
  seed: number;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function assertClose(got: Float32Array, want: Float32Array, what: string): void {
  assertEquals(got.length, want.length, `${what}: length`);
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const tol = 1e-4 * Math.max(scale, 1e-3);
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`${what}[${i}]: ${got[i]} != ${want[i]}`);
  }
}

/** Checks all three fast kernels against the direct loops, and that inputs are left untouched. */
function checkAgainstReference(c: Case): void {
  const d = convDims(c.xShape, c.wShape, c.geo, "test");
  const yShape = [d.n, d.co, d.ho, d.wo];
  const x = lcgFloats(size(c.xShape), c.seed), w = lcgFloats(size(c.wShape), c.seed + 1);
  const dy = lcgFloats(size(yShape), c.seed + 2), bias = lcgFloats(d.co, c.seed + 3);
  const copies = [x.slice(), w.slice(), dy.slice(), bias.slice()];
  const label = `x [${c.xShape}] w [${c.wShape}] ${JSON.stringify(c.geo)}`;
  assertClose(conv2dForward(x, c.xShape, w, c.wShape, c.geo), conv2dForwardReference(x, w, d), `${label} y`);
  assertClose(
    conv2dForward(x, c.xShape, w, c.wShape, { ...c.geo, bias }),
    conv2dForwardReference(x, w, d, bias),
    `${label} y+bias`,
  );
  assertClose(
    conv2dBackwardInput(dy, yShape, w, c.wShape, { ...c.geo, xShape: c.xShape }),
    conv2dBackwardInputReference(dy, w, d),
    `${label} dx`,
  );
  assertClose(
    conv2dBackwardWeight(dy, yShape, x, c.xShape, { ...c.geo, wShape: c.wShape }),
    conv2dBackwardWeightReference(dy, x, d),
    `${label} dw`,
  );
  [x, w, dy, bias].forEach((a, i) => assertEquals(a, copies[i], `${label}: input ${i} was modified`));
}

/** Any geometry: groups, strides, padding, dilation, kernel sizes, batch. */
const anyCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 3 }),
  cg: fc.integer({ min: 1, max: 4 }),
  cog: fc.integer({ min: 1, max: 4 }),
  k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  p: fc.tuple(fc.nat(2), fc.nat(2)),
  dil: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  extra: fc.tuple(fc.nat(7), fc.nat(7)),
  seed: fc.integer(),
}).map((r): Case => {
  const h = Math.max(1, r.dil[0] * (r.k[0] - 1) + 1 - 2 * r.p[0]) + r.extra[0];
  const w = Math.max(1, r.dil[1] * (r.k[1] - 1) + 1 - 2 * r.p[1]) + r.extra[1];
  return {
    xShape: [r.n, r.groups * r.cg, h, w],
    wShape: [r.groups * r.cog, r.cg, r.k[0], r.k[1]],
    geo: { stride: r.s, padding: r.p, dilation: r.dil, groups: r.groups },
    seed: r.seed,
  };
});

/** Depthwise: groups == C, one or two output channels per input channel. */
const depthwiseCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  c: fc.integer({ min: 1, max: 20 }),
  mult: fc.integer({ min: 1, max: 2 }),
  k: fc.integer({ min: 1, max: 4 }),
  s: fc.integer({ min: 1, max: 3 }),
  p: fc.nat(2),
  dil: fc.integer({ min: 1, max: 2 }),
  hw: fc.tuple(fc.integer({ min: 1, max: 14 }), fc.integer({ min: 1, max: 14 })),
  seed: fc.integer(),
}).map((r): Case => {
  const min = Math.max(1, r.dil * (r.k - 1) + 1 - 2 * r.p);
  return {
    xShape: [r.n, r.c, Math.max(min, r.hw[0]), Math.max(min, r.hw[1])],
    wShape: [r.c * r.mult, 1, r.k, r.k],
    geo: { stride: [r.s, r.s], padding: [r.p, r.p], dilation: [r.dil, r.dil], groups: r.c },
    seed: r.seed,
  };
});

/** Pointwise 1×1 (the single-GEMM-over-the-batch route), spatial sizes down to 1×1. */
const pointwiseCase = fc.record({
  n: fc.integer({ min: 1, max: 6 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cg: fc.integer({ min: 1, max: 20 }),
  cog: fc.integer({ min: 1, max: 20 }),
  hw: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
  seed: fc.integer(),
}).map((r): Case => ({
  xShape: [r.n, r.groups * r.cg, r.hw[0], r.hw[1]],
  wShape: [r.groups * r.cog, r.cg, 1, 1],
  geo: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: r.groups },
  seed: r.seed,
}));

/** checkAgainstReference for a 3×3 depthwise convolution (padding 1) of an [n, c, h, w] input at `stride`. */
function checkDepthwise3x3(xShape: number[], stride: number, seed: number): void {
  const c = xShape[1];
  checkAgainstReference({
    xShape,
    wShape: [c, 1, 3, 3],
    geo: { stride: [stride, stride], padding: [1, 1], dilation: [1, 1], groups: c },
    seed,
  });
}

Deno.test("conv2dForward(), conv2dBackwardInput() and conv2dBackwardWeight() match direct loops for any geometry", () => {
  fc.assert(fc.property(anyCase, checkAgainstReference), { seed: 42, numRuns: 150 });
});

Deno.test("conv2d kernels match direct loops for depthwise convolutions", () => {
  fc.assert(fc.property(depthwiseCase, checkAgainstReference), { seed: 42, numRuns: 120 });
});

Deno.test("conv2d kernels match direct loops for 3x3 depthwise convolutions on planes of 4 to 16 columns", () => {
  const geo = (s: number, c: number): Conv2dGeometry => ({
    stride: [s, s],
    padding: [1, 1],
    dilation: [1, 1],
    groups: c,
  });
  let seed = 100;
  for (
    const [c, hw, s] of [[3, 16, 1], [5, 8, 1], [7, 4, 1], [6, 16, 2], [9, 8, 2], [2, 12, 1], [3, 5, 1], [
      4,
      7,
      2,
    ]]
  ) {
    checkAgainstReference({ xShape: [3, c, hw, hw], wShape: [c, 1, 3, 3], geo: geo(s, c), seed: seed++ });
    checkAgainstReference({ xShape: [2, c, hw, hw + 4], wShape: [c, 1, 3, 3], geo: geo(s, c), seed: seed++ });
  }
});

Deno.test("conv2d kernels match direct loops for stride-2 3x3 depthwise planes (deinterleaved rows)", () => {
  const planes = fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 9 }),
    ho: fc.integer({ min: 1, max: 6 }),
    wo: fc.constantFrom(4, 8, 12, 16, 20),
    seed: fc.integer({ min: 0, max: 1000 }),
  });
  fc.assert(
    fc.property(planes, (r) => checkDepthwise3x3([r.n, r.c, 2 * r.ho, 2 * r.wo], 2, r.seed)),
    { seed: 7, numRuns: 60 },
  );
});

Deno.test("conv2d kernels match direct loops for 3x3 depthwise rows of 8 and 16 columns read in place", () => {
  // Stride 1 on 8 or 16 columns, stride 2 on 16, any height (odd ones end on a single output row).
  const planes = fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 6 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.constantFrom(8, 16),
    s: fc.constantFrom(1, 2),
    seed: fc.integer({ min: 0, max: 1000 }),
  });
  fc.assert(
    fc.property(
      planes,
      (r) => checkDepthwise3x3([r.n, r.c, r.s === 2 ? 2 * r.h : r.h, r.s === 2 ? 16 : r.w], r.s, r.seed),
    ),
    { seed: 5, numRuns: 60 },
  );
});

Deno.test("conv2d kernels match direct loops for 3x3 depthwise convolutions on 1x1, 2x2, 4x4 and strided 8x8 planes", () => {
  // The small-plane kernel takes channels in fours; other channel counts go to the channels-innermost kernel.
  const planes = fc.record({
    n: fc.integer({ min: 1, max: 5 }),
    c: fc.integer({ min: 1, max: 24 }),
    hw: fc.constantFrom(1, 2, 4, 8),
    s: fc.constantFrom(1, 2),
    seed: fc.integer({ min: 0, max: 1000 }),
  });
  fc.assert(
    fc.property(planes, (r) => checkDepthwise3x3([r.n, r.c, r.hw, r.hw], r.s, r.seed)),
    { seed: 11, numRuns: 80 },
  );
});

Deno.test("conv2d kernels match direct loops for pointwise 1x1 convolutions over the batch", () => {
  fc.assert(fc.property(pointwiseCase, checkAgainstReference), { seed: 42, numRuns: 80 });
});

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

Deno.test("conv2d backward kernels are adjoint to the forward pass: <conv(x), dy> = <x, dx> = <w, dw>", () => {
  fc.assert(
    fc.property(fc.oneof(anyCase, depthwiseCase, pointwiseCase), (c) => {
      const d = convDims(c.xShape, c.wShape, c.geo, "test");
      const yShape = [d.n, d.co, d.ho, d.wo];
      const x = lcgFloats(size(c.xShape), c.seed), w = lcgFloats(size(c.wShape), c.seed + 1);
      const dy = lcgFloats(size(yShape), c.seed + 2);
      const y = conv2dForward(x, c.xShape, w, c.wShape, c.geo);
      const dx = conv2dBackwardInput(dy, yShape, w, c.wShape, { ...c.geo, xShape: c.xShape });
      const dw = conv2dBackwardWeight(dy, yShape, x, c.xShape, { ...c.geo, wShape: c.wShape });
      const ref = dot(y, dy);
      const scale = Math.max(1, Math.sqrt(dot(y, y) * dot(dy, dy)));
      assert(Math.abs(dot(x, dx) - ref) <= 1e-4 * scale, `<x, dx> ${dot(x, dx)} != ${ref}`);
      assert(Math.abs(dot(w, dw) - ref) <= 1e-4 * scale, `<w, dw> ${dot(w, dw)} != ${ref}`);
    }),
    { seed: 42, numRuns: 100 },
  );
});

Deno.test("conv2dForwardReference() gives hand-computed values", () => {
  // x = 0..15 as 1×1×4×4, 3×3 box filter, stride 2, padding 1: windows centred on (0,0), (0,2), (2,0), (2,2).
  const x = Float32Array.from({ length: 16 }, (_, i) => i);
  const geo = { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;
  const d = convDims([1, 1, 4, 4], [1, 1, 3, 3], geo, "test");
  const want = [
    0 + 1 + 4 + 5,
    1 + 2 + 3 + 5 + 6 + 7,
    4 + 5 + 8 + 9 + 12 + 13,
    5 + 6 + 7 + 9 + 10 + 11 + 13 + 14 + 15,
  ];
  assertEquals([...conv2dForwardReference(x, new Float32Array(9).fill(1), d)], want);
  assertEquals([...conv2dForward(x, [1, 1, 4, 4], new Float32Array(9).fill(1), [1, 1, 3, 3], geo)], want);
});

Deno.test("conv2d kernels are right when im2col cuts the batch into chunks", () => {
  checkAgainstReference({
    xShape: [3, 64, 48, 48],
    wShape: [4, 64, 3, 3],
    geo: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
    seed: 5,
  });
});

Deno.test("conv2d kernels give the same results split across two threads", async () => {
  const before = getKernelThreads();
  setKernelThreads(2);
  try {
    await waitForThreads(2);
    const geo = (s: number, p: number, groups: number): Conv2dGeometry => ({
      stride: [s, s],
      padding: [p, p],
      dilation: [1, 1],
      groups,
    });
    checkAgainstReference({ xShape: [8, 64, 8, 8], wShape: [64, 64, 1, 1], geo: geo(1, 0, 1), seed: 1 });
    checkAgainstReference({ xShape: [8, 32, 16, 16], wShape: [32, 1, 3, 3], geo: geo(2, 1, 32), seed: 2 });
    checkAgainstReference({ xShape: [4, 3, 12, 12], wShape: [2, 3, 3, 3], geo: geo(1, 1, 1), seed: 3 });
    checkAgainstReference({ xShape: [4, 4, 64, 64], wShape: [8, 1, 3, 3], geo: geo(1, 1, 4), seed: 4 });
    checkAgainstReference({ xShape: [6, 16, 16, 16], wShape: [16, 16, 3, 3], geo: geo(1, 1, 1), seed: 6 });
  } finally {
    setKernelThreads(before);
  }
});

async function waitForThreads(count: number): Promise<void> {
  conv2dForward(new Float32Array(1), [1, 1, 1, 1], new Float32Array(1), [1, 1, 1, 1], {
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
    groups: 1,
  });
  for (let i = 0; i < 500 && readyThreads() < count; i++) await new Promise((r) => setTimeout(r, 10));
  assertEquals(readyThreads(), count, "the kernel worker should start");
}

const plain: Conv2dGeometry = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };

Deno.test("conv2dOutputSize() follows the PyTorch formula", () => {
  assertEquals(
    conv2dOutputSize([2, 3, 32, 32], [32, 3, 3, 3], { ...plain, stride: [2, 2], padding: [1, 1] }),
    [
      2,
      32,
      16,
      16,
    ],
  );
  assertEquals(conv2dOutputSize([1, 4, 7, 9], [8, 2, 3, 2], { ...plain, dilation: [2, 3], groups: 2 }), [
    1,
    8,
    3,
    6,
  ]);
});

Deno.test("conv2dForward() rejects bad shapes with a RangeError naming the problem", () => {
  const x = new Float32Array(2 * 4 * 5 * 5), w = new Float32Array(6 * 2 * 3 * 3);
  assertThrows(
    () => conv2dForward(x, [2, 4, 5, 5], w, [6, 2, 3, 3], plain),
    RangeError,
    "has 4 channels in 1 group(s), 4 per group, but weight [6,2,3,3] expects 2 per group",
  );
  assertThrows(
    () => conv2dForward(x, [2, 4, 5, 5], w, [6, 2, 3, 3], { ...plain, groups: 3 }),
    RangeError,
    "groups 3 does not divide the 4 input channels",
  );
  assertThrows(
    () => conv2dForward(x, [2, 4, 5, 5], new Float32Array(5 * 2 * 9), [5, 2, 3, 3], { ...plain, groups: 2 }),
    RangeError,
    "groups 2 does not divide the 5 output channels",
  );
  assertThrows(
    () => conv2dForward(x, [2, 4, 5, 5], new Float32Array(6 * 2 * 36), [6, 2, 6, 6], { ...plain, groups: 2 }),
    RangeError,
    "kernel 6x6 (dilation 1x1) does not fit input 5x5",
  );
  assertThrows(
    () => conv2dForward(x.subarray(1), [2, 4, 5, 5], w, [6, 2, 3, 3], { ...plain, groups: 2 }),
    RangeError,
    "x has 199 elements but its shape [2,4,5,5] needs 200",
  );
  assertThrows(
    () => conv2dForward(x, [2, 4, 5, 5], w, [6, 2, 3, 3], { ...plain, groups: 2, stride: [0, 1] }),
    RangeError,
    "stride [0,1] must be two integers >= 1",
  );
  assertThrows(
    () => conv2dForward(x, [2, 4, 5, 5], w, [6, 2, 3, 3], { ...plain, groups: 2, bias: new Float32Array(5) }),
    RangeError,
    "bias has 5 elements but the weight has 6 output channels",
  );
});

Deno.test("conv2dBackwardInput() and conv2dBackwardWeight() reject a dy of the wrong shape", () => {
  const dy = new Float32Array(2 * 6 * 3 * 3);
  assertThrows(
    () =>
      conv2dBackwardInput(dy, [2, 6, 3, 4], new Float32Array(6 * 4 * 9), [6, 4, 3, 3], {
        ...plain,
        xShape: [2, 4, 5, 5],
      }),
    RangeError,
    "dy shape [2,6,3,4] should be the output shape [2,6,3,3]",
  );
  assertThrows(
    () =>
      conv2dBackwardWeight(dy, [2, 6, 3, 3], new Float32Array(200), [2, 4, 5, 5], {
        ...plain,
        wShape: [6, 3, 3, 3],
      }),
    RangeError,
    "weight [6,3,3,3] expects 3 per group",
  );
});

Deno.test("conv2d kernels handle empty batches and channels", () => {
  assertEquals(
    conv2dForward(new Float32Array(0), [0, 2, 3, 3], new Float32Array(18), [1, 2, 3, 3], plain).length,
    0,
  );
  const y = conv2dForward(new Float32Array(0), [2, 0, 3, 3], new Float32Array(0), [4, 0, 3, 3], plain);
  assertEquals([...y], new Array(2 * 4).fill(0));
});

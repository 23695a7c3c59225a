import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  add,
  batchNormEval,
  clamp,
  conv2d,
  conv2dAffine,
  conv2dBatchNormEval,
  conv2dBatchNormEvalChain,
  mul,
  randomKey,
  randomNormal,
  randomUniform,
  reshape,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
} from "@hqat/tensor";
import { conv2dForward, conv2dForwardAffine } from "./conv2d.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";
import { randomBatchNorm } from "./bn_test_util.ts";

interface Case {
  x: readonly number[];
  w: readonly number[];
  stride?: number;
  padding?: number;
  groups?: number;
}

const CLAMPS = [
  { min: 0, max: 6, openGrad: true },
  { min: 0, max: Infinity, openGrad: true },
  undefined,
  { min: -0.5, max: 0.25, openGrad: false },
] as const;

type Bn = ReturnType<typeof randomBatchNorm>;

/** conv2d, batchNormEval and clamp as three ops. */
function unfused(x: Tensor, w: Tensor, c: Case, bn: Bn, cl: (typeof CLAMPS)[number]) {
  const geo = { stride: c.stride ?? 1, padding: c.padding ?? 0, groups: c.groups ?? 1 };
  const y = batchNormEval(conv2d(x, w, geo), bn);
  return cl ? clamp(y, cl.min, cl.max) : y;
}

function fused(x: Tensor, w: Tensor, c: Case, bn: Bn, cl: (typeof CLAMPS)[number]) {
  const geo = { stride: c.stride ?? 1, padding: c.padding ?? 0, groups: c.groups ?? 1 };
  return conv2dBatchNormEval(x, w, { ...geo, bn, clamp: cl });
}

function bits(t: Tensor): Int32Array {
  const d = t.data as Float32Array;
  return new Int32Array(d.buffer, d.byteOffset, d.length);
}

function checkCase(c: Case, seed: number): void {
  const x = randomNormal(randomKey(seed), c.x), w = randomNormal(randomKey(seed + 1), c.w);
  const bn = randomBatchNorm(c.w[0], seed);
  for (const cl of CLAMPS) {
    const a = fused(x, w, c, bn, cl), b = unfused(x, w, c, bn, cl);
    assertEquals(a.shape, b.shape);
    assertEquals(bits(a), bits(b), `${JSON.stringify(c)} clamp ${JSON.stringify(cl)}`);
  }
}

// Every route of the kernels: the GEMM (1×1 over the batch, several k panels, ragged tiles, groups), im2col
// (the first 3×3 convolution, strided, in batch chunks), the 3×3 depthwise plane kernel read in place (8 and 16
// columns, odd heights), the small-plane depthwise kernel (every plane size it
// takes), the channels-innermost depthwise kernel, and the depthwise plane kernel with the epilogue as a pass
// after it.
const CASES: Case[] = [
  { x: [2, 16, 8, 8], w: [96, 16, 1, 1] },
  { x: [3, 600, 2, 2], w: [37, 600, 1, 1] },
  { x: [2, 12, 3, 5], w: [10, 6, 1, 1], groups: 2 },
  { x: [5, 3, 32, 32], w: [32, 3, 3, 3], stride: 2, padding: 1 },
  { x: [2, 7, 9, 9], w: [13, 7, 3, 3], padding: 1 },
  { x: [3, 40, 9, 7], w: [40, 1, 3, 3], padding: 1, groups: 40 },
  { x: [2, 21, 8, 8], w: [21, 1, 3, 3], stride: 2, padding: 1, groups: 21 },
  { x: [2, 3, 6, 6], w: [3, 1, 3, 3], padding: 1, groups: 3 },
  { x: [2, 4, 5, 5], w: [8, 1, 3, 3], padding: 1, groups: 4 },
  { x: [3, 12, 4, 4], w: [12, 1, 3, 3], padding: 1, groups: 12 },
  { x: [2, 5, 7, 16], w: [5, 1, 3, 3], padding: 1, groups: 5 },
  { x: [2, 3, 6, 8], w: [3, 1, 3, 3], padding: 1, groups: 3 },
  { x: [2, 4, 6, 16], w: [4, 1, 3, 3], stride: 2, padding: 1, groups: 4 },
  { x: [2, 8, 4, 4], w: [8, 1, 3, 3], stride: 2, padding: 1, groups: 8 },
  { x: [3, 16, 2, 2], w: [16, 1, 3, 3], padding: 1, groups: 16 },
  { x: [2, 8, 2, 2], w: [8, 1, 3, 3], stride: 2, padding: 1, groups: 8 },
  { x: [5, 24, 1, 1], w: [24, 1, 3, 3], padding: 1, groups: 24 },
  { x: [2, 8, 8, 8], w: [8, 1, 3, 3], stride: 2, padding: 1, groups: 8 },
  { x: [2, 10, 4, 4], w: [10, 1, 3, 3], padding: 1, groups: 10 },
  { x: [4, 320, 1, 1], w: [1280, 320, 1, 1] },
];

Deno.test("conv2dBatchNormEval() equals conv2d, batchNormEval and clamp bit for bit on every kernel route", () => {
  CASES.forEach((c, i) => checkCase(c, 10 * i + 1));
});

Deno.test("conv2dBatchNormEval() equals the three ops bit for bit for random geometries", () => {
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: 1, max: 3 }),
        cin: fc.integer({ min: 1, max: 12 }),
        co: fc.integer({ min: 1, max: 20 }),
        hw: fc.integer({ min: 1, max: 9 }),
        k: fc.constantFrom(1, 3),
        stride: fc.constantFrom(1, 2),
        depthwise: fc.boolean(),
        seed: fc.integer({ min: 0, max: 1000 }),
      }),
      (r) => {
        const padding = r.k === 3 ? 1 : 0;
        const c: Case = r.depthwise
          ? { x: [r.n, r.cin, r.hw, r.hw], w: [r.cin, 1, r.k, r.k], stride: r.stride, padding, groups: r.cin }
          : { x: [r.n, r.cin, r.hw, r.hw], w: [r.co, r.cin, r.k, r.k], stride: r.stride, padding };
        checkCase(c, r.seed);
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("conv2dBatchNormEval() keeps NaN and infinities as the three ops do", () => {
  const x = tensor([[[[NaN, 1, -Infinity, 2], [Infinity, -3, 0, -0]]]]);
  const w = tensor([[[[1]]], [[[-1]]]]);
  const c: Case = { x: x.shape, w: w.shape };
  const bn = randomBatchNorm(2, 3);
  for (const cl of CLAMPS) {
    const a = fused(x, w, c, bn, cl).toArray().flat(3), b = unfused(x, w, c, bn, cl).toArray().flat(3);
    assertEquals(a.map(String), b.map(String));
  }
});

Deno.test("conv2dBatchNormEval() has the gradients of the three ops", () => {
  const c: Case = { x: [2, 6, 5, 5], w: [6, 1, 3, 3], padding: 1, groups: 6 };
  const x = randomNormal(randomKey(7), c.x), w = randomNormal(randomKey(8), c.w);
  const bn = randomBatchNorm(6, 9);
  const probe = randomNormal(randomKey(10), [2, 6, 5, 5]);
  for (const cl of CLAMPS) {
    const loss = (f: typeof fused) => (p: { x: Tensor; w: Tensor; gamma: Tensor; beta: Tensor }) =>
      sum(mul(f(p.x, p.w, c, { ...bn, gamma: p.gamma, beta: p.beta }, cl), probe));
    const p = { x, w, gamma: bn.gamma, beta: bn.beta };
    const a = valueAndGrad(loss(fused))(p), b = valueAndGrad(loss(unfused))(p);
    assertEquals(bits(a.value), bits(b.value));
    for (const k of ["x", "w", "gamma", "beta"] as const) {
      // With a clamp the rule runs the three ops' rules (the same bits); without one it reassociates.
      if (cl) assertEquals(bits(a.grad[k]), bits(b.grad[k]), k);
      else assertClose(a.grad[k], b.grad[k], k);
    }
  }
});

/** Elementwise |a − b| ≤ 1e-4 · (|b| + the largest |b|·1e-2), the float tolerance of the kernels. */
function assertClose(a: Tensor, b: Tensor, what: string): void {
  const x = a.data as Float32Array, y = b.data as Float32Array;
  assertEquals(x.length, y.length);
  let big = 0;
  for (const v of y) big = Math.max(big, Math.abs(v));
  for (let i = 0; i < x.length; i++) {
    const tol = 1e-4 * (Math.abs(y[i]) + 1e-2 * big);
    if (!(Math.abs(x[i] - y[i]) <= tol)) throw new Error(`${what}[${i}]: ${x[i]} vs ${y[i]}`);
  }
}

Deno.test("conv2dAffine() without a clamp has the three ops' gradients within float rounding, for any geometry", () => {
  const cases: Case[] = [
    { x: [2, 5, 7, 7], w: [6, 5, 3, 3], stride: 2, padding: 1 },
    { x: [3, 8, 6, 6], w: [8, 1, 3, 3], padding: 1, groups: 8 },
    { x: [2, 12, 4, 4], w: [6, 4, 1, 1], groups: 3 },
  ];
  cases.forEach((c, i) => {
    const x = randomNormal(randomKey(50 + i), c.x), w = randomNormal(randomKey(60 + i), c.w);
    const co = c.w[0];
    const scale = randomUniform(randomKey(70 + i), [co], { min: 0.2, max: 3 });
    const shift = randomNormal(randomKey(80 + i), [co]);
    const probe = randomNormal(randomKey(90 + i), conv2d(x, w, c).shape);
    const geo = { stride: c.stride ?? 1, padding: c.padding ?? 0, groups: c.groups ?? 1 };
    type P = { x: Tensor; w: Tensor; scale: Tensor; shift: Tensor };
    const fusedLoss = (p: P) =>
      sum(mul(conv2dAffine(p.x, p.w, { ...geo, scale: p.scale, shift: p.shift }), probe));
    const threeOps = (p: P) => {
      const z = conv2d(p.x, p.w, geo);
      return sum(mul(add(mul(z, reshape(p.scale, [1, -1, 1, 1])), reshape(p.shift, [1, -1, 1, 1])), probe));
    };
    const p = { x, w, scale, shift };
    const a = valueAndGrad(fusedLoss)(p), b = valueAndGrad(threeOps)(p);
    for (const k of ["x", "w", "scale", "shift"] as const) {
      assertClose(a.grad[k], b.grad[k], `case ${i} ${k}`);
    }
  });
});

Deno.test("conv2dForwardAffine() rejects a scale of the wrong length", () => {
  const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
  const affine = { scale: new Float32Array(2), shift: new Float32Array(1), min: 0, max: 6 };
  assertThrows(
    () =>
      conv2dForwardAffine(new Float32Array(4), [1, 1, 2, 2], new Float32Array(1), [1, 1, 1, 1], {
        ...geo,
        affine,
      }),
    RangeError,
    "scale and shift must have 1 elements",
  );
});

Deno.test("conv2dBatchNormEval() gives the same bits split across two threads", async () => {
  const before = getKernelThreads();
  setKernelThreads(2);
  try {
    const one = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
    conv2dForward(new Float32Array(1), [1, 1, 1, 1], new Float32Array(1), [1, 1, 1, 1], one);
    for (let i = 0; i < 500 && readyThreads() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assertEquals(readyThreads(), 2, "the kernel worker should start");
    checkCase({ x: [16, 24, 16, 16], w: [144, 24, 1, 1] }, 1);
    checkCase({ x: [16, 96, 16, 16], w: [96, 1, 3, 3], stride: 2, padding: 1, groups: 96 }, 2);
    checkCase({ x: [32, 3, 32, 32], w: [32, 3, 3, 3], stride: 2, padding: 1 }, 3);
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("conv2dBatchNormEvalChain() equals the layers one at a time bit for bit, gradients too", () => {
  const bnA = randomBatchNorm(24, 1), bnB = randomBatchNorm(24, 2), bnC = randomBatchNorm(8, 3);
  const layers = (w: Tensor[], gamma: Tensor) => [
    { w: w[0], bn: { ...bnA, gamma }, clamp: CLAMPS[0] },
    { w: w[1], stride: 2, padding: 1, groups: 24, bn: bnB, clamp: CLAMPS[0] },
    { w: w[2], bn: bnC },
  ];
  const x = randomNormal(randomKey(30), [3, 6, 16, 16]);
  const ws = [[24, 6, 1, 1], [24, 1, 3, 3], [8, 24, 1, 1]].map((s, i) => randomNormal(randomKey(31 + i), s));
  const chain = (p: { x: Tensor; w: Tensor[]; gamma: Tensor }) =>
    conv2dBatchNormEvalChain(p.x, layers(p.w, p.gamma));
  const oneByOne = (p: { x: Tensor; w: Tensor[]; gamma: Tensor }) =>
    layers(p.w, p.gamma).reduce((y, l) => conv2dBatchNormEval(y, l.w, l), p.x);
  const p = { x, w: ws, gamma: bnA.gamma };
  assertEquals(bits(chain(p)), bits(oneByOne(p)));
  const probe = randomNormal(randomKey(40), [3, 8, 8, 8]);
  const loss = (f: typeof chain) => (q: typeof p) => sum(mul(f(q), probe));
  const a = valueAndGrad(loss(chain))(p), b = valueAndGrad(loss(oneByOne))(p);
  assertEquals(bits(a.grad.x), bits(b.grad.x));
  assertEquals(bits(a.grad.gamma), bits(b.grad.gamma));
  a.grad.w.forEach((g, i) => assertEquals(bits(g), bits(b.grad.w[i]), `w${i}`));
});

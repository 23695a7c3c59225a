import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  add,
  conv2dBatchNormEval,
  conv2dBatchNormEvalChain,
  mul,
  randomKey,
  randomNormal,
  reshape,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
} from "@hqat/tensor";
import { conv2dForward } from "./conv2d.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";
import { randomBatchNorm } from "./bn_test_util.ts";

type Layer = Parameters<typeof conv2dBatchNormEvalChain>[1][number];

const RELU6 = { min: 0, max: 6, openGrad: true } as const;

/** Float bits, every NaN read as one value (a NaN's payload is not part of the contract). */
function bits(t: Tensor): number[] {
  const d = t.data as Float32Array;
  return Array.from(new Int32Array(d.slice().buffer), (b, i) => (Number.isNaN(d[i]) ? 0x7fc00000 : b));
}

/** The last layer's kinds: each reaches another route of the kernels. */
type Last = "pointwise" | "grouped" | "full3x3" | "depthwise";

/** An optional ReLU6 expansion to `hidden` channels, then a layer back to `c` channels of the same size. */
function block(c: number, hidden: number, last: Last, seed: number): Layer[] {
  const w = (shape: number[], i: number) => randomNormal(randomKey(seed + i), shape);
  const layers: Layer[] = [];
  let cin = c;
  if (hidden > 0) {
    layers.push({ w: w([hidden, c, 1, 1], 1), bn: randomBatchNorm(hidden, seed), clamp: RELU6 });
    cin = hidden;
  }
  const bn = randomBatchNorm(c, seed + 7);
  if (last === "pointwise") layers.push({ w: w([c, cin, 1, 1], 2), bn });
  else if (last === "full3x3") layers.push({ w: w([c, cin, 3, 3], 2), padding: 1, bn });
  else if (last === "grouped") {
    const g = cin % 2 === 0 && c % 2 === 0 ? 2 : 1;
    layers.push({ w: w([c, cin / g, 1, 1], 2), groups: g, bn });
  } else {
    // depthwise needs as many input channels as output channels
    if (cin !== c) layers.push({ w: w([c, cin, 1, 1], 3), bn: randomBatchNorm(c, seed + 9), clamp: RELU6 });
    layers.push({ w: w([c, 1, 3, 3], 2), padding: 1, groups: c, bn, clamp: RELU6 });
  }
  return layers;
}

/** The chain with its residual, against the layers one at a time and then add(x, ·). */
function checkResidual(x: Tensor, layers: Layer[]): void {
  const fused = conv2dBatchNormEvalChain(x, layers, { residual: true });
  const oneByOne = add(x, layers.reduce((y, l) => conv2dBatchNormEval(y, l.w, l), x));
  assertEquals(fused.shape, x.shape);
  assertEquals(bits(fused), bits(oneByOne));
  assertEquals(bits(fused), bits(add(x, conv2dBatchNormEvalChain(x, layers))));
}

Deno.test("conv2dBatchNormEvalChain() with a residual equals add(x, the layers one at a time) bit for bit", () => {
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: 1, max: 3 }),
        c: fc.integer({ min: 1, max: 12 }),
        hidden: fc.integer({ min: 0, max: 20 }),
        h: fc.integer({ min: 1, max: 9 }),
        w: fc.integer({ min: 1, max: 9 }),
        last: fc.constantFrom<Last>("pointwise", "grouped", "full3x3", "depthwise"),
        specials: fc.boolean(),
        seed: fc.integer({ min: 0, max: 1000 }),
      }),
      (r) => {
        let x = randomNormal(randomKey(r.seed), [r.n, r.c, r.h, r.w], { std: 3 });
        if (r.specials) {
          // the skip connection's edge values: signed zeros, infinities, NaN, the largest finite floats
          const d = (x.data as Float32Array).slice();
          const edge = [
            0,
            -0,
            Infinity,
            -Infinity,
            NaN,
            3.4028234663852886e38,
            -3.4028234663852886e38,
            1e-40,
          ];
          for (let i = 0; i < d.length; i += 3) d[i] = edge[(i / 3) % edge.length];
          x = reshape(tensor(d), x.shape);
        }
        checkResidual(x, block(r.c, r.hidden, r.last, r.seed + 1));
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("conv2dBatchNormEvalChain() adds the residual after the last of several k panels and on two threads", async () => {
  // 300 input channels: the projection's GEMM sums in two k panels before its epilogue.
  checkResidual(randomNormal(randomKey(3), [2, 8, 5, 5]), [
    { w: randomNormal(randomKey(4), [300, 8, 1, 1]), bn: randomBatchNorm(300, 5), clamp: RELU6 },
    { w: randomNormal(randomKey(6), [8, 300, 1, 1]), bn: randomBatchNorm(8, 7) },
  ]);
  const before = getKernelThreads();
  setKernelThreads(2);
  try {
    const one = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
    conv2dForward(new Float32Array(1), [1, 1, 1, 1], new Float32Array(1), [1, 1, 1, 1], one);
    for (let i = 0; i < 500 && readyThreads() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assertEquals(readyThreads(), 2, "the kernel worker should start");
    const x = randomNormal(randomKey(8), [16, 24, 16, 16]);
    const layers = block(24, 144, "depthwise", 9);
    layers.push({ w: randomNormal(randomKey(10), [24, 24, 1, 1]), bn: randomBatchNorm(24, 11) });
    checkResidual(x, layers);
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("conv2dBatchNormEvalChain() adds the residual on 1×1 and 2×2 planes (transposed and split stores), after one and two k panels", () => {
  // 1×1 planes: each image's channels are one column, so a tile's six channels are stored transposed; 2×2 planes:
  // each group of four columns is one image's plane. 16 and 10 images make whole tiles of eight columns and a
  // ragged one; 300 hidden channels make the projection sum in two k panels.
  for (const [n, hw, hidden] of [[16, 1, 40], [16, 1, 300], [10, 2, 40], [10, 2, 300]]) {
    const layers = block(12, hidden, "pointwise", 30 + hidden + hw);
    checkResidual(randomNormal(randomKey(31 + n + hw), [n, 12, hw, hw], { std: 3 }), layers);
  }
});

/** A chain's differentiable inputs: its input, its weights and one batch norm's gamma. */
type P = { x: Tensor; w: Tensor[]; gamma: Tensor };

/** `fused` and `apart` have the same value and the same gradients at `p`, bit for bit. */
function assertSameGrads(fused: (p: P) => Tensor, apart: (p: P) => Tensor, p: P): void {
  const a = valueAndGrad(fused)(p), b = valueAndGrad(apart)(p);
  assertEquals(bits(a.value), bits(b.value));
  assertEquals(bits(a.grad.x), bits(b.grad.x));
  assertEquals(bits(a.grad.gamma), bits(b.grad.gamma));
  a.grad.w.forEach((g, i) => assertEquals(bits(g), bits(b.grad.w[i]), `w${i}`));
}

Deno.test("conv2dBatchNormEvalChain() with a residual has add(x, the layers)'s gradients bit for bit", () => {
  const x = randomNormal(randomKey(20), [3, 8, 6, 6]);
  const base = block(8, 24, "pointwise", 21);
  const ws = base.map((l) => l.w), gamma = base[0].bn.gamma;
  const layers = (p: P) =>
    base.map((l, i) => ({ ...l, w: p.w[i], bn: i === 0 ? { ...l.bn, gamma: p.gamma } : l.bn }));
  const probe = randomNormal(randomKey(22), [3, 8, 6, 6]);
  const fused = (p: P) => sum(mul(conv2dBatchNormEvalChain(p.x, layers(p), { residual: true }), probe));
  const apart = (p: P) =>
    sum(mul(add(p.x, layers(p).reduce((y, l) => conv2dBatchNormEval(y, l.w, l), p.x)), probe));
  const p = { x, w: ws, gamma };
  assertSameGrads(fused, apart, p);
});

Deno.test("conv2dBatchNormEvalChain() rejects a residual whose shape the chain changes", () => {
  const x = randomNormal(randomKey(30), [1, 4, 4, 4]);
  const layer = { w: randomNormal(randomKey(31), [6, 4, 1, 1]), bn: randomBatchNorm(6, 32) };
  assertThrows(() => conv2dBatchNormEvalChain(x, [layer], { residual: true }), RangeError, "residual");
});

/** How a block ends: each reaches another route of the kernels (the depthwise ones add outside the GEMM). */
type SkipLast = "pointwise" | "full3x3" | "depthwise" | "strided";

/**
 * An inverted-residual-like block on c channels: a ReLU6 expansion to `hidden`, a 3×3 depthwise layer, then a
 * layer back to `out` channels of the kind `last` (a strided block halves the planes and never keeps its input).
 */
function skipBlock(c: number, hidden: number, out: number, last: SkipLast, seed: number): Layer[] {
  const w = (shape: number[], i: number) => randomNormal(randomKey(seed + i), shape, { std: 0.5 });
  const layers: Layer[] = [
    { w: w([hidden, c, 1, 1], 1), bn: randomBatchNorm(hidden, seed), clamp: RELU6 },
    {
      w: w([hidden, 1, 3, 3], 2),
      padding: 1,
      groups: hidden,
      bn: randomBatchNorm(hidden, seed + 1),
      clamp: RELU6,
    },
  ];
  if (last === "pointwise") layers.push({ w: w([out, hidden, 1, 1], 3), bn: randomBatchNorm(out, seed + 2) });
  else if (last === "full3x3") {
    layers.push({ w: w([out, hidden, 3, 3], 3), padding: 1, bn: randomBatchNorm(out, seed + 2) });
  } else if (last === "strided") {
    layers.push({ w: w([out, hidden, 3, 3], 3), padding: 1, stride: 2, bn: randomBatchNorm(out, seed + 2) });
  } else {
    layers.push({ w: w([out, hidden, 1, 1], 3), bn: randomBatchNorm(out, seed + 2), clamp: RELU6 });
    layers.push({ w: w([out, 1, 3, 3], 4), padding: 1, groups: out, bn: randomBatchNorm(out, seed + 3) });
  }
  return layers;
}

/** Blocks one after the other as one chain, a block with `skip` adding its input to its output. */
function chainOf(blocks: { layers: Layer[]; skip: boolean }[]): Layer[] {
  const out: Layer[] = [];
  for (const b of blocks) {
    const from = out.length;
    b.layers.forEach((l, i) =>
      out.push(b.skip && i === b.layers.length - 1 ? { ...l, residualFrom: from } : l)
    );
  }
  return out;
}

/** The layers one at a time, each skip an add of its own. */
function oneByOne(x: Tensor, layers: Layer[]): Tensor {
  const inputs: Tensor[] = [];
  return layers.reduce((y, l) => {
    inputs.push(y);
    const z = conv2dBatchNormEval(y, l.w, l);
    return l.residualFrom === undefined ? z : add(inputs[l.residualFrom], z);
  }, x);
}

const blockArb = fc.record({
  last: fc.constantFrom<SkipLast>("pointwise", "full3x3", "depthwise", "strided"),
  hidden: fc.integer({ min: 1, max: 24 }),
  widen: fc.boolean(),
  skip: fc.boolean(),
});

Deno.test("conv2dBatchNormEvalChain() with skips inside the chain equals the layers and adds one at a time bit for bit", () => {
  fc.assert(
    fc.property(
      fc.record({
        n: fc.integer({ min: 1, max: 3 }),
        c: fc.integer({ min: 1, max: 10 }),
        hw: fc.integer({ min: 1, max: 9 }),
        blocks: fc.array(blockArb, { minLength: 1, maxLength: 4 }),
        seed: fc.integer({ min: 0, max: 1000 }),
      }),
      (r) => {
        let c = r.c, hw = r.hw;
        const blocks = r.blocks.map((b, i) => {
          // A block keeps its input only where its output has the input's shape.
          const out = b.widen && !b.skip ? c + 2 : c;
          const last = b.skip && b.last === "strided" ? "pointwise" : b.last;
          const layers = skipBlock(c, b.hidden, out, last, r.seed + 10 * i);
          c = out;
          if (last === "strided") hw = Math.floor((hw - 1) / 2) + 1;
          return { layers, skip: b.skip };
        });
        const x = randomNormal(randomKey(r.seed), [r.n, r.c, r.hw, r.hw], { std: 2 });
        const layers = chainOf(blocks);
        const fused = conv2dBatchNormEvalChain(x, layers);
        assertEquals(fused.shape, [r.n, c, hw, hw]);
        assertEquals(bits(fused), bits(oneByOne(x, layers)));
      },
    ),
    { numRuns: 50 },
  );
});

Deno.test("conv2dBatchNormEvalChain() keeps a skip's input while later layers reuse the freed slots, on two threads", async () => {
  // Five blocks on 16×16 planes: the slots of the early layers' results are taken again by later ones while
  // each block's input is still to be added; in `twice` the chain's input feeds two skips (to layers 2 and 5).
  const before = getKernelThreads();
  setKernelThreads(2);
  try {
    conv2dBatchNormEval(randomNormal(randomKey(1), [1, 1, 1, 1]), randomNormal(randomKey(2), [1, 1, 1, 1]), {
      bn: randomBatchNorm(1, 3),
    });
    for (let i = 0; i < 500 && readyThreads() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assertEquals(readyThreads(), 2, "the kernel worker should start");
    const x = randomNormal(randomKey(40), [8, 16, 16, 16]);
    const lasts: SkipLast[] = ["pointwise", "depthwise", "full3x3", "pointwise", "depthwise"];
    const layers = chainOf(
      lasts.map((l, i) => ({ layers: skipBlock(16, 48, 16, l, 50 + 10 * i), skip: i !== 1 })),
    );
    const twice = layers.map((l, i) => (i === 5 ? { ...l, residualFrom: 0 } : l));
    assertEquals(bits(conv2dBatchNormEvalChain(x, layers)), bits(oneByOne(x, layers)));
    assertEquals(bits(conv2dBatchNormEvalChain(x, twice)), bits(oneByOne(x, twice)));
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("conv2dBatchNormEvalChain() with skips inside the chain has the adds' gradients bit for bit", () => {
  const x = randomNormal(randomKey(60), [2, 6, 5, 5]);
  const base = chainOf([
    { layers: skipBlock(6, 12, 6, "pointwise", 61), skip: true },
    { layers: skipBlock(6, 10, 6, "depthwise", 71), skip: true },
    { layers: skipBlock(6, 8, 6, "full3x3", 81), skip: false },
  ]);
  const layers = (p: P) =>
    base.map((l, i) => ({ ...l, w: p.w[i], bn: i === 3 ? { ...l.bn, gamma: p.gamma } : l.bn }));
  const probe = randomNormal(randomKey(62), [2, 6, 5, 5]);
  const fused = (p: P) => sum(mul(conv2dBatchNormEvalChain(p.x, layers(p)), probe));
  const apart = (p: P) => sum(mul(oneByOne(p.x, layers(p)), probe));
  const p = { x, w: base.map((l) => l.w), gamma: base[3].bn.gamma };
  assertSameGrads(fused, apart, p);
});

Deno.test("conv2dBatchNormEvalChain() rejects skips that point outside the chain, backwards, twice or across shapes", () => {
  const x = randomNormal(randomKey(90), [1, 4, 4, 4]);
  const l = { w: randomNormal(randomKey(91), [4, 4, 1, 1]), bn: randomBatchNorm(4, 92) };
  const wide = { w: randomNormal(randomKey(93), [6, 4, 1, 1]), bn: randomBatchNorm(6, 94) };
  assertThrows(
    () => conv2dBatchNormEvalChain(x, [l, { ...l, residualFrom: 2 }]),
    RangeError,
    "0 ≤ from ≤ to < 2",
  );
  assertThrows(() => conv2dBatchNormEvalChain(x, [l, { ...l, residualFrom: -1 }]), RangeError, "residual");
  assertThrows(
    () => conv2dBatchNormEvalChain(x, [l, { ...l, residualFrom: 0 }], { residual: true }),
    RangeError,
    "two residuals end at layer 1",
  );
  assertThrows(
    () => conv2dBatchNormEvalChain(x, [l, { ...wide, residualFrom: 1 }]),
    RangeError,
    "a residual from layer 1's input to layer 1's output",
  );
});

import { assertEquals } from "@std/assert";
import { batchNormTrain, clamp, conv2d, conv2dAffine, reshape, type Tensor, tensor } from "@hqat/tensor";
import { apply1 } from "../engine.ts";

/** Float bits, every NaN read as one value (a NaN's payload is not part of the contract). */
function bits(t: Tensor): number[] {
  const d = t.data as Float32Array;
  return Array.from(new Int32Array(d.slice().buffer), (b, i) => (Number.isNaN(d[i]) ? 0x7fc00000 : b));
}

/**
 * Clamp bounds of every kind the kernels tell apart: a zero lower bound of either sign (where −0 must become +0
 * under +0 and stay −0 under −0), infinite and finite bounds, an upper bound of −0 or +0 (the ops reject NaN
 * bounds and a lower bound above the upper one).
 */
const BOUNDS: [number, number][] = [
  [0, 6],
  [-0, 6],
  [0, Infinity],
  [-Infinity, Infinity],
  [-1, -0],
  [-1, 0],
  [-0, 0],
  [0, -0],
  [-2, 0.5],
];

// One case per kernel route: the GEMM (1×1, 1×1 planes, 2×2 planes), im2col, the 3×3 depthwise plane kernel
// read in place (16 columns at strides 1 and 2, 8 at stride 1) and through its padded copy (12 columns at
// strides 1 and 2), the small-plane depthwise kernel (4×4, 2×2 and 1×1 planes, 8×8 at
// stride 2), the channels-innermost depthwise kernel, and the plane route whose epilogue is a pass of its own.
const ROUTES: { x: number[]; w: number[]; stride?: number; padding?: number; groups?: number }[] = [
  { x: [2, 4, 8, 8], w: [12, 4, 1, 1] },
  { x: [16, 8, 1, 1], w: [12, 8, 1, 1] },
  { x: [10, 8, 2, 2], w: [12, 8, 1, 1] },
  { x: [2, 3, 9, 9], w: [8, 3, 3, 3], stride: 2, padding: 1 },
  { x: [2, 4, 16, 16], w: [4, 1, 3, 3], padding: 1, groups: 4 },
  { x: [2, 4, 16, 16], w: [4, 1, 3, 3], stride: 2, padding: 1, groups: 4 },
  { x: [2, 4, 5, 8], w: [4, 1, 3, 3], padding: 1, groups: 4 },
  { x: [2, 4, 12, 12], w: [4, 1, 3, 3], padding: 1, groups: 4 },
  { x: [2, 4, 24, 24], w: [4, 1, 3, 3], stride: 2, padding: 1, groups: 4 },
  { x: [2, 4, 4, 4], w: [4, 1, 3, 3], padding: 1, groups: 4 },
  { x: [3, 8, 2, 2], w: [8, 1, 3, 3], padding: 1, groups: 8 },
  { x: [5, 8, 1, 1], w: [8, 1, 3, 3], padding: 1, groups: 8 },
  { x: [2, 4, 8, 8], w: [4, 1, 3, 3], stride: 2, padding: 1, groups: 4 },
  { x: [2, 6, 4, 4], w: [6, 1, 3, 3], padding: 1, groups: 6 },
  { x: [2, 3, 5, 5], w: [3, 1, 3, 3], padding: 1, groups: 3 },
];

/** Inputs cycling through signed zeros, NaN, infinities and ordinary values. */
function edgeInput(shape: number[]): Tensor {
  const edge = [0, -0, 1.5, -2, NaN, Infinity, -Infinity, 0.25, -0, 0];
  const n = shape.reduce((a, b) => a * b, 1);
  return reshape(tensor(Float32Array.from({ length: n }, (_, i) => edge[(i * 7) % edge.length])), shape);
}

Deno.test("conv2dAffine() gives clamp's values — signed zeros and NaN — for every kind of bound on every kernel route", () => {
  for (const r of ROUTES) {
    const x = edgeInput(r.x);
    // weights of ±1 and 0, so that products and sums stay exact and reach ±0
    const wn = r.w.reduce((a, b) => a * b, 1);
    const w = reshape(tensor(Float32Array.from({ length: wn }, (_, i) => [1, -1, 0][i % 3])), r.w);
    const co = r.w[0];
    // (scale, shift) pairs: a negative scale turns the sums' +0 into −0, which a shift of −0 keeps
    const pairs = [[1, -0], [-1, -0], [2, 0], [-0.5, -0], [1, 0.75], [-1, 0], [2, -1], [-1, -0.25]];
    const scale = tensor(Float32Array.from({ length: co }, (_, i) => pairs[i % pairs.length][0]));
    const shift = tensor(Float32Array.from({ length: co }, (_, i) => pairs[i % pairs.length][1]));
    const geo = { stride: r.stride ?? 1, padding: r.padding ?? 0, groups: r.groups ?? 1 };
    const pre = apply1("channelAffine", [conv2d(x, w, geo), scale, shift], {});
    for (const [min, max] of BOUNDS) {
      const want = clamp(pre, min, max);
      const got = conv2dAffine(x, w, { ...geo, scale, shift, clamp: { min, max, openGrad: true } });
      assertEquals(
        bits(got),
        bits(want),
        `${JSON.stringify(r)} clamp [${Object.is(min, -0) ? "-0" : min}, ${Object.is(max, -0) ? "-0" : max}]`,
      );
    }
  }
});

Deno.test("batchNormTrain({ clampMax }) gives clamp's signed zeros and NaN", () => {
  // a channel of zeros of both signs normalizes to ±0 (γ of both signs), one with a NaN to NaN
  const x = reshape(tensor(Float32Array.of(0, -0, 0, -0, 1, -1, 2, -2, NaN, 1, 2, 3, 0, 0, 0, 0)), [
    2,
    4,
    1,
    2,
  ]);
  const gamma = tensor(Float32Array.of(1, -1, 1, -1)), beta = tensor(Float32Array.of(-0, -0, 0, -0));
  for (const max of [6, Infinity]) {
    const fused = batchNormTrain(x, gamma, beta, 1e-5, { clampMax: max });
    const plain = batchNormTrain(x, gamma, beta, 1e-5);
    assertEquals(bits(fused.y), bits(clamp(plain.y, 0, max)), `clampMax ${max}`);
  }
});

import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { randomKey, randomNormal, randomUniform } from "@hqat/tensor";
import type { ConvAffineAttrs } from "../ops.ts";
import { groupImages } from "./chain_groups.ts";
import { conv2dAffineChainKernel } from "./conv2d_chain.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";
import { kernelRuntime } from "./wasm_runtime.ts";

/** One layer: [out channels, in channels / groups, k, stride, groups, clamped]. */
type Spec = [number, number, number, number, number, boolean];

/**
 * A 3×3 convolution at stride 2 (im2col and a GEMM) from 32×32 to 16×16, then inverted-residual blocks on 16×16,
 * 8×8 and 4×4 planes: a 16-column 3×3 depthwise at stride 1 and 2 (the in-place 3×3 kernel), an 8×8 one at stride 2
 * (the small-plane kernel), pointwise GEMMs with a skip in the epilogue, and a last layer on a 4×4 plane (too small
 * to go by groups), so that a run of grouped layers ends inside the chain.
 */
const SPECS: Spec[] = [
  [8, 3, 3, 2, 1, true],
  [24, 8, 1, 1, 1, true],
  [24, 1, 3, 1, 24, true],
  [8, 24, 1, 1, 1, false],
  [16, 8, 1, 1, 1, true],
  [16, 1, 3, 2, 16, true],
  [8, 16, 1, 1, 1, false],
  [24, 8, 1, 1, 1, true],
  [24, 1, 3, 2, 24, true],
  [12, 24, 1, 1, 1, false],
];
/** Layer 3's result gets layer 1's input added (to → from). */
const SKIPS = new Map([[3, 1]]);

function chain(n: number, seed: number) {
  const layers: ConvAffineAttrs[] = [];
  const ins: { data: Float32Array; shape: number[] }[] = [];
  const op = (shape: number[], data: Float32Array) => ins.push({ data, shape });
  op([n, 3, 32, 32], randomNormal(randomKey(seed), [n, 3, 32, 32]).data as Float32Array);
  SPECS.forEach(([co, ci, k, s, groups, clamped], i) => {
    const key = (j: number) => randomKey(seed * 64 + i * 4 + j);
    op([co, ci, k, k], randomNormal(key(1), [co, ci, k, k]).data as Float32Array);
    op([co], randomUniform(key(2), [co], { min: 0.2, max: 2 }).data as Float32Array);
    op([co], randomNormal(key(3), [co]).data as Float32Array);
    const p = (k - 1) / 2;
    layers.push({
      stride: [s, s],
      padding: [p, p],
      dilation: [1, 1],
      groups,
      min: clamped ? 0 : -Infinity,
      max: clamped ? 6 : Infinity,
      openGrad: true,
    });
  });
  return { ins, layers };
}

/** The float bits of a result. */
const bits = (y: Float32Array) => Array.from(new Int32Array(y.slice().buffer));

/** The chain's result and the kernels it ran, going by groups within `groupBytes` (0: none). */
function run(n: number, seed: number, groupBytes: number): { y: Float32Array; kernels: string[] } {
  const { ins, layers } = chain(n, seed);
  const rt = kernelRuntime()!;
  const kernels: string[] = [];
  const original = rt.run;
  rt.run = (name, parts, scratch) => {
    kernels.push(name);
    original(name, parts, scratch);
  };
  try {
    return { y: conv2dAffineChainKernel(ins, layers, SKIPS, { groupBytes }), kernels };
  } finally {
    rt.run = original;
  }
}

Deno.test("conv2dAffineChainKernel() gives the same bits by groups of images as layer by layer", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.constantFrom(1, 6_000, 40_000, 1 << 20),
      fc.nat(1000),
      (n, groupBytes, seed) => {
        const whole = run(n, seed, 0), grouped = run(n, seed, groupBytes);
        assert(!whole.kernels.includes("chain_groups_run"));
        // Layers 0 to 8 (from 32×32, 16×16 and 8×8 planes) go by groups, layer 9 (4×4) over the batch.
        assertEquals(grouped.kernels.filter((k) => k === "chain_groups_run").length, 1);
        assertEquals(grouped.kernels.at(-1), "gemm_run");
        assertEquals(bits(grouped.y), bits(whole.y));
      },
    ),
    { numRuns: 12 },
  );
});

Deno.test("conv2dAffineChainKernel() by groups gives the same bits on two threads", async () => {
  const before = getKernelThreads();
  const one = run(11, 5, 1);
  setKernelThreads(2);
  try {
    for (let i = 0; i < 300 && readyThreads() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    for (let round = 0; round < 4; round++) assertEquals(bits(run(11, 5, 1).y), bits(one.y));
    assertEquals(bits(run(11, 5, 0).y), bits(one.y));
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("groupImages() keeps a group within the budget and leaves each thread four groups", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 512 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 1 << 20 }),
      fc.integer({ min: 0, max: 1 << 22 }),
      (images, threads, perImage, budget) => {
        const g = groupImages(images, threads, perImage, budget);
        assert(g >= 1 && g <= images);
        assert(g === 1 || g * perImage <= budget);
        assert(g === 1 || Math.ceil(images / g) >= Math.min(images, 4 * threads) / 2);
      },
    ),
  );
  assertEquals(groupImages(256, 2, 115_000, 1 << 20), 9);
  assertEquals(groupImages(256, 2, 1000, 1 << 20), 32);
});

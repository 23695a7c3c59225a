/**
 * The depthwise routes of the WebAssembly convolution: which kernel runs a depthwise convolution, and how its work
 * is cut into parts for the kernel threads.
 * @module
 */
import type { ConvDims } from "./conv2d_shapes.ts";
import type { KernelRuntime } from "./wasm_runtime.ts";

/** Multiply-adds below which a memory-bound kernel stays on one thread. */
const PARALLEL_MACS = 200_000;

/**
 * The geometry ints of a convolution (`conv_geo` in `wasm/common.h`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { geoInts } from "./depthwise_wasm.ts";
 * import { convDims } from "./conv2d_shapes.ts";
 * const d = convDims([1, 2, 3, 3], [2, 1, 3, 3], { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 2 }, "conv2d");
 * assert(geoInts(d).length === 16 && geoInts(d)[15] === 2);
 * ```
 */
export function geoInts(d: ConvDims): number[] {
  return [d.n, d.c, d.h, d.w, d.co, d.kh, d.kw, d.ho, d.wo, d.sh, d.sw, d.ph, d.pw, d.dh, d.dw, d.groups];
}

/**
 * Splits [0, count) into ranges (multiples of `align` long): one when the work is small or only one
 * thread is ready, else about four per thread, so that a thread slowed by other work takes fewer.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ranges } from "./depthwise_wasm.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * assert(ranges(kernelRuntime()!, 10, 100).join() === "0,10");
 * ```
 */
export function ranges(rt: KernelRuntime, count: number, macs: number, align = 1): [number, number][] {
  const threads = macs >= PARALLEL_MACS ? Math.min(rt.threads(), count) : 1;
  const pieces = threads > 1 ? 4 * threads : 1;
  const step = Math.max(align, Math.ceil(count / pieces / align) * align);
  const out: [number, number][] = [];
  for (let i = 0; i < count; i += step) out.push([i, Math.min(count, i + step)]);
  return out.length ? out : [[0, 0]];
}

/**
 * Runs a depthwise kernel (the forward with the epilogue at byte address `ep` when given). A 3×3 forward
 * whose output rows are a multiple of four wide runs on NCHW planes (`depthwise3.c`), one on 1×1, 2×2 or 4×4
 * planes with channels in fours on `depthwise_small.c`; otherwise, with one output channel per input channel
 * (and at least 4 channels), the channels-innermost kernel runs; else the plane kernel, on `count` channels.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { runDepthwise } from "./depthwise_wasm.ts";
 * import { convDims } from "./conv2d_shapes.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime()!;
 * rt.reset();
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 2 } as const;
 * const d = convDims([1, 2, 1, 2], [2, 1, 1, 1], geo, "conv2d");
 * const x = rt.put(Float32Array.of(1, 2, 3, 4)), w = rt.put(Float32Array.of(3, -1)), y = rt.alloc(4);
 * runDepthwise(rt, "forward", d, [x, w, y], 2);
 * assert(rt.take(y, 4).join() === "3,6,-3,-4");
 * ```
 */
export function runDepthwise(
  rt: KernelRuntime,
  kind: "forward" | "backward_input" | "backward_weight",
  d: ConvDims,
  ptrs: number[],
  count: number,
  ep?: number,
): void {
  const geo = rt.putInts(geoInts(d));
  const macs = d.n * d.co * d.ho * d.wo * d.kh * d.kw;
  const plane3 = kind === "forward" ? rt.depthwise3ScratchFloats(geo) : 0;
  if (plane3 > 0) {
    const scratch = rt.threadScratch(plane3);
    rt.run(
      "depthwise3_forward",
      ranges(rt, d.n * d.c, macs).map(([a, b]) => [geo, ...ptrs, a, b, ep ?? 0]),
      scratch,
    );
    return;
  }
  if (kind === "forward" && rt.depthwiseSmallFits(geo)) {
    const parts = smallParts(rt, d, macs);
    rt.run("depthwise_small_forward", parts.map((p) => [geo, ...ptrs, ...p, ep ?? 0]));
    return;
  }
  if (d.co === d.c && d.c >= 4) {
    if (kind === "backward_weight") {
      // Sums over the images: the parts split the channels.
      const parts = ranges(rt, d.c, macs, 4);
      const widest = Math.max(...parts.map(([a, b]) => b - a));
      const scratch = rt.threadScratch(rt.depthwiseClScratchFloats(geo, widest));
      rt.run("depthwise_cl_backward_weight", parts.map(([a, b]) => [geo, ...ptrs, a, b]), scratch);
      return;
    }
    const parts = clParts(rt, d, macs);
    const widest = Math.max(...parts.map((p) => p[1] - p[0]));
    const scratch = rt.threadScratch(rt.depthwiseClScratchFloats(geo, widest));
    if (ep !== undefined) {
      rt.run("depthwise_cl_forward_affine", parts.map((p) => [geo, ...ptrs, ...p, ep]), scratch);
    } else {
      rt.run(`depthwise_cl_${kind}`, parts.map((p) => [geo, ...ptrs, ...p]), scratch);
    }
    return;
  }
  const scratch = rt.threadScratch(rt.depthwiseScratchFloats(geo));
  rt.run(`depthwise_${kind}`, ranges(rt, count, macs).map(([a, b]) => [geo, ...ptrs, a, b]), scratch);
}

/**
 * [c0, c1, n0, n1] parts of the small-plane depthwise kernel: image ranges over every channel (each group of four
 * channels keeps its weights in registers over the part's images), about four per thread.
 */
function smallParts(rt: KernelRuntime, d: ConvDims, macs: number): [number, number, number, number][] {
  return ranges(rt, d.n, macs).map(([n0, n1]) => [0, d.c, n0, n1]);
}

/** Widest channel block of the channels-innermost depthwise kernels (16 vectors per position). */
const CL_CHANNELS = 64;

/**
 * [c0, c1, n0, n1] parts of the channels-innermost depthwise kernels: channel blocks of at most CL_CHANNELS
 * (so each position's vector loop is long), and, where that gives too few parts for the threads, image ranges.
 */
function clParts(rt: KernelRuntime, d: ConvDims, macs: number): [number, number, number, number][] {
  const blocks = ranges(rt, d.c, macs, 4).length > 1 || d.c > CL_CHANNELS ? Math.ceil(d.c / CL_CHANNELS) : 1;
  const width = Math.ceil(d.c / blocks / 4) * 4;
  const want = macs >= PARALLEL_MACS ? 4 * rt.threads() : 1;
  const imageParts = Math.min(d.n, Math.max(1, Math.ceil(want / blocks)));
  const step = Math.ceil(d.n / imageParts);
  const out: [number, number, number, number][] = [];
  for (let c0 = 0; c0 < d.c; c0 += width) {
    for (let n0 = 0; n0 < d.n; n0 += step) {
      out.push([c0, Math.min(d.c, c0 + width), n0, Math.min(d.n, n0 + step)]);
    }
  }
  return out;
}

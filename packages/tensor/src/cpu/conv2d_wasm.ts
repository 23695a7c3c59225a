/**
 * 2-D convolution on the WebAssembly kernels. Three routes, chosen by shape:
 * depthwise (groups == C > 1) runs direct vectorized loops; a pointwise convolution (1×1, stride 1,
 * no padding) is one GEMM per group over the whole batch, reading NCHW as [C, N·H·W]; anything else
 * is im2col (in batch chunks) + GEMM, with col2im for the input gradient.
 * @module
 */
import type { ConvDims } from "./conv2d_shapes.ts";
import { gemmDescriptor, type GemmSpec, gemmWasm, type IndexMap, type MatrixLayout } from "./gemm.ts";
import { geoInts, ranges, runDepthwise } from "./depthwise_wasm.ts";
import type { KernelRuntime } from "./wasm_runtime.ts";

/** Most floats an im2col buffer holds before the batch is cut into chunks. */
const COL_FLOATS = 1 << 21;

function isDepthwise(d: ConvDims): boolean {
  return d.groups > 1 && d.cg === 1;
}

function isPointwise(d: ConvDims): boolean {
  return d.kh === 1 && d.kw === 1 && d.sh === 1 && d.sw === 1 && d.ph === 0 && d.pw === 0;
}

/** Columns of an NCHW tensor with `channels` channels of `p` positions, read as [channels, N·p]. */
function batchColumns(channels: number, p: number): IndexMap {
  return { stride: 1, seg: p, segStride: channels * p };
}

/** Batch chunk size so that an im2col buffer stays under COL_FLOATS. */
function chunkImages(d: ConvDims): number {
  const perImage = d.cg * d.kh * d.kw * d.ho * d.wo;
  return Math.max(1, Math.min(d.n, Math.floor(COL_FLOATS / Math.max(1, perImage))));
}

function im2col(
  rt: KernelRuntime,
  geo: number,
  d: ConvDims,
  x: number,
  g: number,
  n: [number, number],
  col: number,
) {
  const rows = d.cg * d.kh * d.kw, np = (n[1] - n[0]) * d.ho * d.wo;
  const parts = ranges(rt, rows, rows * np).map(([r0, r1]) => [geo, x, g * d.cg, n[0], n[1], col, r0, r1]);
  rt.run("im2col", parts);
}

/** Layout (in floats) of group g's channel block of an NCHW tensor, starting at image n0, as [channels, N·P]. */
function nchwBlock(ptr: number, channels: number, first: number, n0: number, p: number): MatrixLayout {
  return {
    offset: (ptr >> 2) + (n0 * channels + first) * p,
    rows: { stride: p },
    cols: batchColumns(channels, p),
  };
}

/**
 * Where an inference convolution's epilogue lives in the kernel memory: byte addresses of scale[Co],
 * shift[Co] and [lo, hi] (see `wasm/affine.h`).
 */
export interface AffineEpilogue {
  /** Per-output-channel scale. */
  readonly scale: number;
  /** Per-output-channel shift. */
  readonly shift: number;
  /** The clamp bounds [lo, hi]. */
  readonly clamp: number;
  /**
   * A tensor of the output's shape (never the output itself) added after the clamp, as a separate float32
   * add would: only where {@linkcode residualInEpilogue} says the route takes one.
   */
  readonly residual?: number;
}

/**
 * Whether the convolution's route (a GEMM: pointwise, or im2col) adds an epilogue's residual; the depthwise
 * kernels take none.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { residualInEpilogue } from "./conv2d_wasm.ts";
 * import { convDims } from "./conv2d_shapes.ts";
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * assert(residualInEpilogue(convDims([1, 4, 2, 2], [4, 4, 1, 1], geo, "conv2d")));
 * ```
 */
export function residualInEpilogue(d: ConvDims): boolean {
  return !isDepthwise(d);
}

/** The epilogue struct for output channels from `first` on, of the output at byte address `y`. */
function epilogueAt(rt: KernelRuntime, ep: AffineEpilogue, first: number, y: number): number {
  const res = ep.residual === undefined ? 0 : (ep.residual - y) >> 2;
  return rt.putInts([ep.scale + 4 * first, ep.shift + 4 * first, ep.clamp, res]);
}

/**
 * y = conv(x, w) (+ bias), or with `ep` (and no bias) y = clamp(conv(x, w) · scale + shift) (+ the residual) computed where
 * the sums are made (the GEMM's last k panel, the depthwise kernel's channels-innermost rows) or, on the
 * depthwise plane route, in one pass after; pointers are byte addresses in the kernel memory. `packed`, when not 0,
 * is w packed by `KernelRuntime.keepPacked` (read by the GEMM of an ungrouped convolution).
 */
export function conv2dForwardWasm(
  rt: KernelRuntime,
  d: ConvDims,
  x: number,
  w: number,
  y: number,
  bias?: number,
  ep?: AffineEpilogue,
  packed = 0,
) {
  const packedA = d.groups === 1 && packed !== 0 ? packed : undefined;
  const p = d.ho * d.wo, kc = d.cg * d.kh * d.kw;
  const groupEp = (g: number) => (ep ? epilogueAt(rt, ep, g * d.cog, y) : undefined);
  if (isDepthwise(d)) {
    if (ep?.residual !== undefined) {
      throw new RangeError("conv2dForwardWasm: a depthwise route takes no residual");
    }
    if (ep && d.co === d.c && d.c >= 4) {
      runDepthwise(rt, "forward", d, [x, w, y], d.co, epilogueAt(rt, ep, 0, y));
      return;
    }
    if (ep && d.co === d.c) {
      const s = epilogueAt(rt, ep, 0, y);
      if (rt.depthwise3ScratchFloats(rt.putInts(geoInts(d))) > 0) {
        runDepthwise(rt, "forward", d, [x, w, y], d.co, s);
        return;
      }
    }
    runDepthwise(rt, "forward", d, [x, w, y], d.co);
    if (ep) {
      const s = epilogueAt(rt, ep, 0, y);
      rt.run("affine_act", ranges(rt, d.n, d.n * d.co * p * 8).map(([a, b]) => [y, s, a, b, d.co, p]));
    }
  } else if (isPointwise(d)) {
    for (let g = 0; g < d.groups; g++) gemmWasm(rt, pointwiseSpec(d, x, w, y, g, groupEp(g), packedA));
  } else {
    const geo = rt.putInts(geoInts(d));
    const chunk = chunkImages(d);
    const col = rt.alloc(kc * chunk * p);
    for (let n0 = 0; n0 < d.n; n0 += chunk) {
      const n1 = Math.min(d.n, n0 + chunk);
      for (let g = 0; g < d.groups; g++) {
        im2col(rt, geo, d, x, g, [n0, n1], col);
        gemmWasm(rt, im2colSpec(d, w, y, g, [n0, n1], col, groupEp(g), packedA));
      }
    }
  }
  if (bias !== undefined) rt.run("add_bias", [[y, bias, d.n, d.co, p]]);
}

/** Group g's GEMM of an im2col convolution on images [n0, n1), whose columns im2col wrote at byte address `col`. */
function im2colSpec(
  d: ConvDims,
  w: number,
  y: number,
  g: number,
  [n0, n1]: [number, number],
  col: number,
  epilogue?: number,
  packedA?: number,
): GemmSpec {
  const p = d.ho * d.wo, kc = d.cg * d.kh * d.kw, np = (n1 - n0) * p;
  return {
    m: d.cog,
    n: np,
    k: kc,
    a: { offset: (w >> 2) + g * d.cog * kc, rows: { stride: kc }, cols: { stride: 1 } },
    b: { offset: col >> 2, rows: { stride: np }, cols: { stride: 1 } },
    c: nchwBlock(y, d.co, g * d.cog, n0, p),
    epilogue,
    packedA,
  };
}

/** Group g's GEMM of a pointwise convolution over the whole batch. */
function pointwiseSpec(
  d: ConvDims,
  x: number,
  w: number,
  y: number,
  g: number,
  epilogue?: number,
  packedA?: number,
): GemmSpec {
  return {
    m: d.cog,
    n: d.n * d.ho * d.wo,
    k: d.cg,
    a: { offset: (w >> 2) + g * d.cog * d.cg, rows: { stride: d.cg }, cols: { stride: 1 } },
    b: nchwBlock(x, d.c, g * d.cg, 0, d.ho * d.wo),
    c: nchwBlock(y, d.co, g * d.cog, 0, d.ho * d.wo),
    epilogue,
    packedA,
  };
}

/**
 * The step of `chain_groups.c` that computes what conv2dForwardWasm(rt, d, x, w, y, undefined, ep, packed) computes, by the
 * same kernel (so with the same bits), on any range of images: `ints` are [kind, range units per image, args...],
 * `scratch` the 3×3 depthwise scratch floats it needs. Undefined where the forward's route is another: grouped
 * convolutions, the depthwise routes without an epilogue or on channels innermost.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { groupStep } from "./conv2d_wasm.ts";
 * import { convDims } from "./conv2d_shapes.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime()!;
 * rt.reset();
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * const d = convDims([2, 4, 8, 8], [6, 4, 1, 1], geo, "conv2d");
 * const ep = { scale: rt.alloc(6), shift: rt.alloc(6), clamp: rt.alloc(2) };
 * const step = groupStep(rt, d, rt.alloc(512), rt.alloc(24), rt.alloc(768), ep)!;
 * assert(step.ints[0] === 0 && step.ints[1] === 64 && step.scratch === 0);
 * ```
 */
export function groupStep(
  rt: KernelRuntime,
  d: ConvDims,
  x: number,
  w: number,
  y: number,
  ep: AffineEpilogue,
  packed = 0,
): { ints: number[]; scratch: number } | undefined {
  const packedA = packed !== 0 ? packed : undefined;
  if (isPointwise(d) && d.groups === 1) {
    const desc = gemmDescriptor(rt, pointwiseSpec(d, x, w, y, 0, epilogueAt(rt, ep, 0, y), packedA));
    return { ints: [GROUP_GEMM, d.ho * d.wo, desc, d.co], scratch: 0 };
  }
  if (!isDepthwise(d) && !isPointwise(d) && d.groups === 1) {
    // im2col into the running thread's lane, then the GEMM conv2dForwardWasm runs on each chunk of the batch
    // (chain_groups.c sets B, its row stride, n and C's first image for each group)
    const desc = gemmDescriptor(rt, im2colSpec(d, w, y, 0, [0, d.n], 0, epilogueAt(rt, ep, 0, y), packedA));
    return {
      ints: [GROUP_IM2COL, d.ho * d.wo, rt.putInts(geoInts(d)), x, desc, d.c * d.kh * d.kw],
      scratch: 0,
    };
  }
  if (!isDepthwise(d) || d.co !== d.c || d.c < 4 || ep.residual !== undefined) return undefined;
  const geo = rt.putInts(geoInts(d)), epp = epilogueAt(rt, ep, 0, y);
  const plane3 = rt.depthwise3ScratchFloats(geo);
  if (plane3 > 0) return { ints: [GROUP_DEPTHWISE3, d.c, geo, x, w, y, epp], scratch: plane3 };
  if (rt.depthwiseSmallFits(geo)) return { ints: [GROUP_SMALL, 1, geo, x, w, y, epp, d.c], scratch: 0 };
  return undefined;
}

/** The step kinds of `chain_groups.c`. */
const GROUP_GEMM = 0, GROUP_DEPTHWISE3 = 1, GROUP_SMALL = 2, GROUP_IM2COL = 3;

/** dx = the input gradient of conv given dy; pointers are byte addresses in the kernel memory. */
export function conv2dBackwardInputWasm(
  rt: KernelRuntime,
  d: ConvDims,
  dy: number,
  w: number,
  dx: number,
): void {
  const p = d.ho * d.wo, kc = d.cg * d.kh * d.kw;
  if (isDepthwise(d)) {
    runDepthwise(rt, "backward_input", d, [dy, w, dx], d.c);
    return;
  }
  const wT = (g: number): MatrixLayout => ({
    offset: (w >> 2) + g * d.cog * kc,
    rows: { stride: 1 },
    cols: { stride: kc },
  });
  if (isPointwise(d)) {
    for (let g = 0; g < d.groups; g++) {
      gemmWasm(rt, {
        m: d.cg,
        n: d.n * p,
        k: d.cog,
        a: wT(g),
        b: nchwBlock(dy, d.co, g * d.cog, 0, p),
        c: nchwBlock(dx, d.c, g * d.cg, 0, p),
      });
    }
    return;
  }
  rt.zero(dx, d.n * d.c * d.h * d.w);
  const geo = rt.putInts(geoInts(d));
  const chunk = chunkImages(d);
  const col = rt.alloc(kc * chunk * p);
  for (let n0 = 0; n0 < d.n; n0 += chunk) {
    const n1 = Math.min(d.n, n0 + chunk), np = (n1 - n0) * p;
    for (let g = 0; g < d.groups; g++) {
      gemmWasm(rt, {
        m: kc,
        n: np,
        k: d.cog,
        a: wT(g),
        b: nchwBlock(dy, d.co, g * d.cog, n0, p),
        c: { offset: col >> 2, rows: { stride: np }, cols: { stride: 1 } },
      });
      const parts = ranges(rt, d.cg, kc * np).map(([c0, c1]) => [geo, col, g * d.cg, n0, n1, dx, c0, c1]);
      rt.run("col2im", parts);
    }
  }
}

/** dw = the weight gradient of conv given dy and x; pointers are byte addresses in the kernel memory. */
export function conv2dBackwardWeightWasm(
  rt: KernelRuntime,
  d: ConvDims,
  dy: number,
  x: number,
  dw: number,
): void {
  const p = d.ho * d.wo, kc = d.cg * d.kh * d.kw;
  if (isDepthwise(d)) {
    runDepthwise(rt, "backward_weight", d, [dy, x, dw], d.co);
    return;
  }
  const dwBlock = (g: number): MatrixLayout => ({
    offset: (dw >> 2) + g * d.cog * kc,
    rows: { stride: kc },
    cols: { stride: 1 },
  });
  if (isPointwise(d)) {
    for (let g = 0; g < d.groups; g++) {
      const xb = nchwBlock(x, d.c, g * d.cg, 0, p);
      gemmWasm(rt, {
        m: d.cog,
        n: d.cg,
        k: d.n * p,
        a: nchwBlock(dy, d.co, g * d.cog, 0, p),
        b: { offset: xb.offset, rows: xb.cols, cols: xb.rows },
        c: dwBlock(g),
      });
    }
    return;
  }
  const geo = rt.putInts(geoInts(d));
  const chunk = chunkImages(d);
  const col = rt.alloc(kc * chunk * p);
  for (let n0 = 0; n0 < d.n; n0 += chunk) {
    const n1 = Math.min(d.n, n0 + chunk), np = (n1 - n0) * p;
    for (let g = 0; g < d.groups; g++) {
      im2col(rt, geo, d, x, g, [n0, n1], col);
      gemmWasm(rt, {
        m: d.cog,
        n: kc,
        k: np,
        a: nchwBlock(dy, d.co, g * d.cog, n0, p),
        b: { offset: col >> 2, rows: { stride: 1 }, cols: { stride: np } },
        c: dwBlock(g),
        accumulate: n0 > 0,
      });
    }
  }
}

/**
 * Exact integer convolution and linear accumulators on the WebAssembly kernels. Three convolution
 * routes, chosen by shape: depthwise (one input and one output channel per group) runs the direct
 * channels-innermost kernel; a pointwise convolution (1×1, stride 1, no padding) is one integer GEMM per
 * group over the whole batch, reading NCHW as [C, N·H·W]; anything else is im2col (in batch chunks) +
 * integer GEMM — except a requantized int8 layer three wide at horizontal stride 2 on few input channels (a
 * network's stem), which takes the direct kernel of `int_conv_s2.ts`. Pointers are byte addresses in the
 * kernel memory; index maps count elements.
 * @module
 */
import type { ConvDims } from "./conv2d_shapes.ts";
import type { IndexMap } from "./gemm.ts";
import type { KernelRuntime } from "./wasm_runtime.ts";
import { intConvS2Fits, intConvS2Wasm } from "./int_conv_s2.ts";

/** Bytes of one activation element: 1 for int8, 2 for int16. */
export type ActivationBytes = 1 | 2;

/** Where one operand of the integer GEMM lives: a byte address and the element maps of its dimensions. */
interface IntMatrix {
  readonly ptr: number;
  readonly rows: IndexMap;
  readonly cols: IndexMap;
}

/**
 * C[m, n] = bias[m] + A[m, k] · B[k, n]: A int8, B int8 or int16 (`bBytes`), C int32; bias 0 for none. With
 * `requant`, the sums are requantized per row (four ints per row at `rows`: M, n, lo, hi) into int8/int16
 * outputs at `out`, indexed as C.
 */
interface IntGemm {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly bBytes: ActivationBytes;
  readonly a: IntMatrix;
  readonly b: IntMatrix;
  readonly c: IntMatrix;
  readonly bias: number;
  readonly requant?: GemmRequant;
}

/** Where a requantizing kernel writes: per output channel (M, n, lo, hi) at `rows`, the outputs at `out`. */
export interface GemmRequant {
  /** Byte address of four ints per output channel: M, n, lo, hi. */
  readonly rows: number;
  /** Byte address of the int8/int16 outputs (laid out as the int32 accumulators would be). */
  readonly out: number;
  /** 1 for int8 outputs, 2 for int16. */
  readonly bytes: 1 | 2;
  /** A residual add after the requantization, on the GEMM routes only (see {@linkcode intConvGemmRoute}). */
  readonly add?: GemmAdd;
}

/**
 * SPEC's add of the requantized outputs `v` and an addend laid out as they are, requantized again:
 * `clamp(requant(v · a + addend · b))` — `a`, `b` are 2^k and t in the add's operand order; without an
 * addend, a second requantization of `v` alone.
 */
export interface GemmAdd {
  /** Byte address of the addend (int8/int16 as `bytes` says), indexed as the outputs; 0 for none (`a` 1). */
  readonly addend: number;
  /** 1 for an int8 addend, 2 for int16. */
  readonly bytes: 1 | 2;
  /** The outputs' multiplier. */
  readonly a: number;
  /** The addend's multiplier. */
  readonly b: number;
  /** Byte address of the sum's requantization: four ints M, n, lo, hi. */
  readonly rows: number;
}

const UNBOUNDED = 0x3fffffff;
/** Multiply-adds below which a kernel stays on one thread. */
const PARALLEL_MACS = 500_000;
/** Most bytes an im2col buffer holds before the batch is cut into chunks. */
const COL_BYTES = 1 << 22;

function mapInts(map: IndexMap): number[] {
  return [map.seg ?? UNBOUNDED, map.segStride ?? 0, map.stride];
}

function matrixInts(x: IntMatrix): number[] {
  return [x.ptr, ...mapInts(x.rows), ...mapInts(x.cols)];
}

/** Columns one GEMM part covers at most before it packs the next column block (`INC` in int_gemm.c). */
const GEMM_COLUMNS = 1024;
/** Rows of one panel of the packed weights (`IMR` in int_gemm.c). */
const GEMM_PANEL = 6;

/**
 * Runs one integer GEMM, split across the ready kernel threads by columns (or rows when they are few).
 * When the work comes in more than one block (parts, or column blocks of a part), A — the weights — is
 * packed once for the call by `int_gemm_pack`, split by panels across the threads, instead of by every
 * block: with four parts per thread the repacking cost as much as the products on short sums.
 */
function intGemm(rt: KernelRuntime, g: IntGemm): void {
  const { m, n, k } = g;
  if (m === 0 || n === 0) return;
  const scratch = rt.intGemmScratch();
  const threads = m * n * k >= PARALLEL_MACS ? Math.min(rt.threads(), scratch.length) : 1;
  const blocks: [number, number, number, number][] = [];
  if (threads > 1 && n >= 64 * threads) {
    // About four parts per thread, so that a thread slowed by other work takes fewer.
    const step = Math.max(64, Math.ceil(n / threads / 4 / 8) * 8);
    for (let n0 = 0; n0 < n; n0 += step) blocks.push([0, m, n0, Math.min(n, n0 + step)]);
  } else if (threads > 1 && m >= 24 * threads) {
    const step = Math.max(24, Math.ceil(m / threads / 4 / 6) * 6);
    for (let m0 = 0; m0 < m; m0 += step) blocks.push([m0, Math.min(m, m0 + step), 0, n]);
  } else {
    blocks.push([0, m, 0, n]);
  }
  const prepack = blocks.length > 1 || n > GEMM_COLUMNS;
  // int8 activations read the weights as quads only, int16 ones as pairs only
  const ap2 = prepack && g.bBytes === 2 ? rt.alloc(rt.intGemmPackedInts(m, k, false)) : 0;
  const ap4 = prepack && g.bBytes === 1 ? rt.alloc(rt.intGemmPackedInts(m, k, true)) : 0;
  const desc = rt.putInts([
    m,
    n,
    k,
    g.bBytes,
    ...matrixInts(g.a),
    ...matrixInts(g.b),
    ...matrixInts(g.c),
    g.bias,
    g.requant?.rows ?? 0,
    g.requant?.out ?? 0,
    g.requant?.bytes ?? 0,
    ap2,
    ap4,
    g.requant?.add?.addend ?? 0,
    g.requant?.add?.bytes ?? 0,
    g.requant?.add?.a ?? 0,
    g.requant?.add?.b ?? 0,
    g.requant?.add?.rows ?? 0,
    rt.intDotUnsigned ? 1 : 0,
  ]);
  if (prepack) {
    const panels = Math.ceil(m / GEMM_PANEL);
    const packParts = ranges(rt, panels, m * n * k, 1).map((
      [p0, p1],
    ) => [desc, p0, p1]);
    rt.run("int_gemm_pack", packParts, rt.threadScratch(GEMM_PANEL + 512));
  }
  rt.run("int_gemm_run", blocks.map((b) => [desc, ...b]), scratch);
}

/** [0, count) in ranges (multiples of `align` long): one when small, else about four per ready thread. */
function ranges(rt: KernelRuntime, count: number, macs: number, align: number): [number, number][] {
  const threads = macs >= PARALLEL_MACS ? Math.min(rt.threads(), Math.ceil(count / align)) : 1;
  const pieces = threads > 1 ? 4 * threads : 1;
  const step = Math.max(align, Math.ceil(count / pieces / align) * align);
  const out: [number, number][] = [];
  for (let i = 0; i < count; i += step) out.push([i, Math.min(count, i + step)]);
  return out;
}

function geoInts(d: ConvDims): number[] {
  return [d.n, d.c, d.h, d.w, d.co, d.kh, d.kw, d.ho, d.wo, d.sh, d.sw, d.ph, d.pw, d.dh, d.dw, d.groups];
}

/** Columns of an NCHW tensor with `channels` channels of `p` positions, read as [channels, N·p]. */
function batchColumns(channels: number, p: number): IndexMap {
  return { stride: 1, seg: p, segStride: channels * p };
}

/** Whether every group has one input and one output channel (depthwise with multiplier 1). */
function isIntDepthwise(d: ConvDims): boolean {
  return d.cg === 1 && d.cog === 1;
}

/** Bytes of int_depthwise_lanes.c's scratch header and of one group of 16 channels (`lane_group`). */
const LANES_HEADER = 80, LANES_GROUP = 1168;

/** Whether a plane of `positions` positions fits int_depthwise_lanes.c (1 or 4). */
function isTinyPlane(positions: number): boolean {
  return positions === 1 || positions === 4;
}

/**
 * Whether a requantized convolution runs as integer GEMMs (pointwise or im2col), whose epilogue can take a
 * residual add ({@linkcode GemmAdd}).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intConvGemmRoute } from "./int_conv_wasm.ts";
 * import { convDims } from "./conv2d_shapes.ts";
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * assert(intConvGemmRoute(convDims([1, 8, 4, 4], [16, 8, 1, 1], geo, "example"), 1));
 * ```
 */
export function intConvGemmRoute(d: ConvDims, xBytes: ActivationBytes): boolean {
  return !isIntDepthwise(d) && (isPointwise(d) || !intConvS2Fits(d, xBytes));
}

function isPointwise(d: ConvDims): boolean {
  return d.kh === 1 && d.kw === 1 && d.sh === 1 && d.sw === 1 && d.ph === 0 && d.pw === 0;
}

/**
 * acc = bias + conv(x, w) as int32 at `y`: `x` NCHW int8 or int16 (`xBytes`), `w` int8
 * [Co, C / groups, kh, kw], `bias` an int32 per output channel (0 for none). With `requant`, the GEMM routes
 * write the requantized outputs instead (`y` then holds only partial sums) and the result is true; false
 * means the accumulators are at `y` and still need requantizing.
 */
export function intConv2dWasm(
  rt: KernelRuntime,
  d: ConvDims,
  ptrs: { x: number; xBytes: ActivationBytes; w: number; bias: number; y: number },
  requant?: GemmRequant,
): boolean {
  const { x, xBytes, w, bias, y } = ptrs;
  const p = d.ho * d.wo, kc = d.cg * d.kh * d.kw;
  const weights = (g: number): IntMatrix => ({
    ptr: w + g * d.cog * kc,
    rows: { stride: kc },
    cols: { stride: 1 },
  });
  const groupBias = (g: number) => (bias === 0 ? 0 : bias + 4 * g * d.cog);
  const output = (g: number, n0: number): IntMatrix => ({
    ptr: y + 4 * (n0 * d.co + g * d.cog) * p,
    rows: { stride: p },
    cols: batchColumns(d.co, p),
  });
  const at = (g: number, n0: number) => (n0 * d.co + g * d.cog) * p;
  const add = requant?.add;
  const fused = (g: number, n0: number): GemmRequant | undefined =>
    requant && {
      rows: requant.rows + 16 * g * d.cog,
      out: requant.out + requant.bytes * at(g, n0),
      bytes: requant.bytes,
      add: add && { ...add, addend: add.addend && add.addend + add.bytes * at(g, n0) },
    };
  if (add && !intConvGemmRoute(d, xBytes)) {
    throw new RangeError("intConv2dWasm(): a residual add needs a GEMM route");
  }
  if (isIntDepthwise(d) && xBytes === 1 && requant && d.h * d.w > 16) {
    const geo = rt.putInts(geoInts(d));
    const bytes = rt.intDepthwiseRowsBytes(geo);
    if (bytes > 0) {
      // 3×3 on larger planes, requantized in the kernel: row by row on each channel's padded plane.
      const parts = ranges(rt, d.c, d.n * d.c * p * 9, 1);
      const scratch = rt.threadScratch(Math.ceil(bytes / 4));
      rt.run(
        "int_depthwise_rows_forward",
        parts.map(([c0, c1]) => [geo, x, w, bias, requant.rows, requant.out, requant.bytes, c0, c1]),
        scratch,
      );
      return true;
    }
  }
  if (isIntDepthwise(d) && xBytes === 1 && requant && isTinyPlane(d.h * d.w) && isTinyPlane(p)) {
    // 1 or 4 positions in and out: sixteen channels to a vector, requantized per lane in the kernel.
    const geo = rt.putInts(geoInts(d));
    const shared = rt.alloc(Math.ceil((LANES_HEADER + Math.ceil(d.c / 16) * LANES_GROUP) / 4));
    rt.run("int_depthwise_lanes_prepare", [[geo, w, bias, requant.rows, shared]]);
    const parts = ranges(rt, Math.ceil(d.c / 16), d.n * d.c * p * d.kh * d.kw, 1);
    const args = [geo, x, w, bias, requant.rows, requant.out, requant.bytes];
    rt.run("int_depthwise_lanes_forward", parts.map(([q0, q1]) => [...args, q0, q1, shared]));
    return true;
  }
  if (isIntDepthwise(d) && xBytes === 1) {
    const geo = rt.putInts(geoInts(d));
    const bytes = rt.intDepthwiseSmallBytes(geo);
    if (bytes > 0) {
      // Planes of at most 16 positions: whole planes (several channels to a vector) in NCHW as they are.
      const shared = rt.alloc(Math.ceil(bytes / 4));
      rt.run("int_depthwise_small_prepare", [[geo, w, bias, shared]]);
      const lanes = Math.min(16, 2 ** Math.ceil(Math.log2(Math.max(d.h * d.w, d.ho * d.wo, 1))));
      const groups = Math.ceil(d.c / (16 / lanes));
      const parts = ranges(rt, groups, d.n * d.c * p * d.kh * d.kw, 1);
      const tmp = rt.threadScratch(16);
      // With four lanes or more per channel, each vector of sums is one channel's: requantized in the kernel.
      const fused = requant && lanes >= 4;
      const rq = fused ? [requant.rows, requant.out, requant.bytes] : [0, 0, 0];
      rt.run("int_depthwise_small_forward", parts.map(([q0, q1]) => [geo, x, y, q0, q1, shared, ...rq]), tmp);
      return fused === true;
    }
  }
  if (isIntDepthwise(d)) {
    const geo = rt.putInts(geoInts(d));
    const parts = ranges(rt, d.c, d.n * d.c * p * d.kh * d.kw, 8);
    const widest = Math.max(...parts.map(([a, b]) => b - a));
    const scratch = rt.threadScratch(Math.ceil(rt.intDepthwiseScratchBytes(geo, widest) / 4));
    rt.run("int_depthwise_forward", parts.map(([c0, c1]) => [geo, x, xBytes, w, bias, y, c0, c1]), scratch);
    return false;
  }
  if (isPointwise(d)) {
    for (let g = 0; g < d.groups; g++) {
      intGemm(rt, {
        m: d.cog,
        n: d.n * p,
        k: d.cg,
        bBytes: xBytes,
        a: weights(g),
        b: { ptr: x + xBytes * g * d.cg * p, rows: { stride: p }, cols: batchColumns(d.c, p) },
        c: output(g, 0),
        bias: groupBias(g),
        requant: fused(g, 0),
      });
    }
    return requant !== undefined;
  }
  if (requant && intConvS2Fits(d, xBytes)) {
    intConvS2Wasm(rt, d, { x, w, bias, rq: requant.rows, out: requant.out, bytes: requant.bytes });
    return true;
  }
  const geo = rt.putInts(geoInts(d));
  const chunk = Math.max(1, Math.min(d.n, Math.floor(COL_BYTES / Math.max(1, kc * p * xBytes))));
  const col = rt.alloc(Math.ceil((kc * chunk * p * xBytes + 16) / 4));
  for (let n0 = 0; n0 < d.n; n0 += chunk) {
    const n1 = Math.min(d.n, n0 + chunk), np = (n1 - n0) * p;
    for (let g = 0; g < d.groups; g++) {
      const parts = ranges(rt, kc, kc * np, 1).map((
        [r0, r1],
      ) => [geo, x, xBytes, g * d.cg, n0, n1, col, r0, r1]);
      rt.run("int_im2col", parts);
      intGemm(rt, {
        m: d.cog,
        n: np,
        k: kc,
        bBytes: xBytes,
        a: weights(g),
        b: { ptr: col, rows: { stride: np }, cols: { stride: 1 } },
        c: output(g, n0),
        bias: groupBias(g),
        requant: fused(g, n0),
      });
    }
  }
  return requant !== undefined;
}

/**
 * acc[r, o] = bias[o] + Σ_k x[r, k] · w[o, k] as int32 at `y` ([rows, O]): `x` int8 or int16 (`xBytes`),
 * `w` int8 [O, K], `bias` an int32 per output (0 for none); with `requant`, the requantized outputs instead.
 */
export function intLinearWasm(
  rt: KernelRuntime,
  dims: { rows: number; k: number; o: number },
  ptrs: { x: number; xBytes: ActivationBytes; w: number; bias: number; y: number },
  requant?: GemmRequant,
): void {
  const { rows, k, o } = dims;
  intGemm(rt, {
    m: o,
    n: rows,
    k,
    bBytes: ptrs.xBytes,
    a: { ptr: ptrs.w, rows: { stride: k }, cols: { stride: 1 } },
    b: { ptr: ptrs.x, rows: { stride: 1 }, cols: { stride: k } },
    c: { ptr: ptrs.y, rows: { stride: 1 }, cols: { stride: o } },
    bias: ptrs.bias,
    requant,
  });
}

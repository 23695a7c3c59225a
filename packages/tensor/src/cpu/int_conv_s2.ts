/**
 * The requantized integer convolution for kernels three wide at horizontal stride 2 with few input channels
 * (a network's stem on the quantized image): `int_conv_s2.c`'s direct kernel, which lays out each output
 * row's operands straight from the padded input rows for its byte dot products (the signed input offset
 * and split into two 7-bit halves) instead of an im2col matrix fed to the GEMM on int16 pairs (short in K,
 * so mostly layout and packing there). The same integers as the other routes.
 * @module
 */
import type { ConvDims } from "./conv2d_shapes.ts";
import type { KernelRuntime } from "./wasm_runtime.ts";

/** The most reduction elements (C · kh · 3) the direct kernel takes; longer sums go through the GEMM. */
const MAX_TAPS = 48;
/** Multiply-adds below which the kernel stays on one thread. */
const PARALLEL_MACS = 500_000;

/**
 * Whether {@linkcode intConvS2Wasm} takes the convolution `d` of int8 input (`xBytes` 1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { convDims } from "./conv2d_shapes.ts";
 * import { intConvS2Fits } from "./int_conv_s2.ts";
 * const geo = { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;
 * assert(intConvS2Fits(convDims([1, 3, 32, 32], [32, 3, 3, 3], geo, "conv"), 1));
 * assert(!intConvS2Fits(convDims([1, 3, 32, 32], [32, 3, 3, 3], { ...geo, stride: [1, 1] }, "conv"), 1));
 * ```
 */
export function intConvS2Fits(d: ConvDims, xBytes: number): boolean {
  return xBytes === 1 && d.groups === 1 && d.kw === 3 && d.sw === 2 && d.dw === 1 &&
    d.c * d.kh * 3 <= MAX_TAPS;
}

/**
 * The requantized convolution `d` (see {@linkcode intConvS2Fits}) on the kernels: `x` int8 NCHW, `w` int8
 * [Co, C, kh, 3], `bias` int32 per output channel (0 for none), `rq` four ints per output channel (M, n, lo,
 * hi), the outputs (`bytes` 1: int8, 2: int16) at `out`; split across the ready threads by output rows.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { convDims } from "./conv2d_shapes.ts";
 * import { intConvS2Wasm } from "./int_conv_s2.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime();
 * if (rt) {
 *   rt.reset();
 *   const geo = { stride: [2, 2], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 *   const d = convDims([1, 1, 1, 3], [1, 1, 1, 3], geo, "conv");
 *   const x = rt.putBytes(Int8Array.of(1, 2, 3)), w = rt.putBytes(Int8Array.of(1, -1, 2));
 *   const rq = rt.putInts([16384, 14, -128, 127]), out = rt.alloc(1);
 *   intConvS2Wasm(rt, d, { x, w, bias: 0, rq, out, bytes: 1 });
 *   assert(rt.takeBytes(out, 1, 1)[0] === 5); // (1 - 2 + 6) · 16384 / 2^14
 *   rt.reset();
 * }
 * ```
 */
export function intConvS2Wasm(
  rt: KernelRuntime,
  d: ConvDims,
  ptrs: { x: number; w: number; bias: number; rq: number; out: number; bytes: 1 | 2 },
): void {
  const sizes = [d.n, d.c, d.h, d.w, d.co, d.kh, d.kw, d.ho, d.wo];
  const geo = rt.putInts([...sizes, d.sh, d.sw, d.ph, d.pw, d.dh, d.dw, 1]);
  // Four weights to a quad of taps (the last one padded), a vector per output channel and quad.
  const quads = Math.ceil((3 * d.c * d.kh) / 4);
  const wv = rt.alloc(4 * d.co * quads), bias2 = rt.alloc(d.co);
  rt.run("int_conv_s2_pack", [[geo, ptrs.w, ptrs.bias, wv, bias2]]);
  // One image's padded planes: every row a tap reaches, and every column the last four outputs' loads read.
  const hp = (d.ho - 1) * d.sh + (d.kh - 1) * d.dh + 1, wp = 8 * Math.ceil(d.wo / 4) + 8;
  // Then, 16-byte aligned, one output row's operands (two vectors per quad and group of four outputs) and
  // its sums (a vector per output channel and group).
  const bytes = Math.ceil((d.c * hp * wp) / 16) * 16 + 16 * (2 * quads + d.co) * Math.ceil(d.wo / 4);
  const scratch = rt.threadScratch(Math.ceil(bytes / 4));
  const rows = d.n * d.ho, macs = rows * d.wo * d.co * d.c * d.kh * 3;
  const threads = macs >= PARALLEL_MACS ? Math.min(rt.threads(), rows) : 1;
  const step = Math.max(1, Math.ceil(rows / (threads > 1 ? 4 * threads : 1)));
  const parts: number[][] = [];
  for (let r = 0; r < rows; r += step) {
    parts.push([geo, ptrs.x, wv, bias2, ptrs.rq, ptrs.out, ptrs.bytes, hp, wp, r, Math.min(rows, r + step)]);
  }
  rt.run("int_conv_s2_forward", parts, scratch);
}

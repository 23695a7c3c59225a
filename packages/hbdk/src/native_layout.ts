/**
 * Bytes a tensor or a layer's weights take in DDR in the BPU's native layouts.
 * @module
 */

import {
  dtypeBytes,
  type HardwareFigures,
  type InputSource,
  nchwOf,
  type TensorDesc,
} from "@hqat/march-bayes";

/**
 * The image format the pyramid (and the resizer) delivers.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { PyramidFormat } from "@hqat/hbdk";
 * const f: PyramidFormat = "nv12";
 * assert(f === "nv12");
 * ```
 */
export type PyramidFormat = "nv12" | "yuv444";

const align = (x: number, a: number): number => Math.ceil(x / a) * a;

/**
 * Bytes per frame of an intermediate feature map: the shape padded to whole blocks of the native
 * feature layout (`featureBlock`, H × W × C), times the element size.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { featureBytesPerFrame } from "@hqat/hbdk";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * const f = hardwareFigures(March.BAYES);
 * // 32 × 16 × 16 int8: already whole 2 × 16 × 8 blocks.
 * assert(featureBytesPerFrame({ shape: [1, 32, 16, 16], dtype: "qint8" }, f) === 8192);
 * // 160 × 1 × 1 pads to 2 rows × 16 columns.
 * assert(featureBytesPerFrame({ shape: [1, 160, 1, 1], dtype: "qint8" }, f) === 5120);
 * ```
 */
export function featureBytesPerFrame(tensor: TensorDesc, figures: HardwareFigures): number {
  const { c, h, w } = nchwOf(tensor.shape);
  const b = figures.featureBlock.value;
  return align(h, b.h) * align(w, b.w) * align(c, b.c) * dtypeBytes(tensor.dtype);
}

/**
 * `bytes` padded as the published alignment rule pads the channel bytes of a model input or
 * output: to `256·k + s` with the smallest step `s` of `{0, 16, 32, 64, 128}` that fits.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { channelBytesAligned } from "@hqat/hbdk";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * const f = hardwareFigures(March.BAYES);
 * assert(channelBytesAligned(40, f) === 64 && channelBytesAligned(320, f) === 320);
 * assert(channelBytesAligned(960, f) === 1024);
 * ```
 */
export function channelBytesAligned(bytes: number, figures: HardwareFigures): number {
  const { channelByteBase: base, channelByteSteps: steps } = figures.ioAlignment.value;
  const k = Math.floor(bytes / base);
  const rest = bytes - k * base;
  if (rest === 0) return bytes;
  for (const s of steps) if (rest <= s) return k * base + s;
  return (k + 1) * base;
}

/**
 * Bytes per frame of a model input in DDR. From the pyramid or the resizer it is an image: NV12
 * (a Y plane and a half-height UV plane, W padded to 16, H to 2), or YUV444, or a Y plane alone for
 * a one-channel input. From DDR it is a feature map aligned by the published rule (C ≤ 4: H to 2
 * and W to 32; otherwise the channel bytes as {@linkcode channelBytesAligned}).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { modelInputBytesPerFrame } from "@hqat/hbdk";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * const f = hardwareFigures(March.BAYES);
 * const image = { shape: [1, 3, 32, 32], dtype: "qint8" } as const;
 * assert(modelInputBytesPerFrame(image, "pyramid", "nv12", f) === 1536);
 * assert(modelInputBytesPerFrame(image, "ddr", "nv12", f) === 3072);
 * ```
 */
export function modelInputBytesPerFrame(
  tensor: TensorDesc,
  source: InputSource,
  format: PyramidFormat,
  figures: HardwareFigures,
): number {
  const { c, h, w } = nchwOf(tensor.shape);
  const a = figures.ioAlignment.value;
  const e = dtypeBytes(tensor.dtype);
  if (source !== "ddr") {
    const ah = align(h, 2), aw = align(w, a.nv12Width);
    if (c === 1) return ah * aw;
    return format === "nv12" ? (ah * aw * 3) / 2 : ah * aw * 3;
  }
  if (c <= 4) return align(h, a.smallChannelH) * align(w, a.smallChannelW) * c * e;
  return h * w * channelBytesAligned(c * e, figures);
}

/**
 * Bytes per frame of a model output in DDR: NHWC with the channel bytes aligned by the published
 * rule ({@linkcode channelBytesAligned}).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { modelOutputBytesPerFrame } from "@hqat/hbdk";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * const f = hardwareFigures(March.BAYES);
 * assert(modelOutputBytesPerFrame({ shape: [1, 10], dtype: "qint32" }, f) === 64);
 * ```
 */
export function modelOutputBytesPerFrame(tensor: TensorDesc, figures: HardwareFigures): number {
  const { c, h, w } = nchwOf(tensor.shape);
  return h * w * channelBytesAligned(c * dtypeBytes(tensor.dtype), figures);
}

/**
 * Bytes of a layer's weights and per-channel parameters in DDR, from the GEMM it runs (`n` output
 * channels per group, `k` reduction elements, `groups`): the weights in blocks of `weightBlock`
 * (output channels × reduction elements, one byte each) and `paramBytesPerChannel` for every (padded)
 * output channel.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { weightBytes } from "@hqat/hbdk";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * const f = hardwareFigures(March.BAYES);
 * // A depthwise 3×3 over 32 channels: 32 channels × 9 taps padded to 16, and 32 × 8 bytes of parameters.
 * const w = weightBytes({ n: 1, k: 9, groups: 32 }, f);
 * assert(w.weights === 512 && w.params === 256);
 * ```
 */
export function weightBytes(
  gemm: { readonly n: number; readonly k: number; readonly groups: number },
  figures: HardwareFigures,
): { weights: number; params: number } {
  const b = figures.weightBlock.value;
  const outputs = align(gemm.n * gemm.groups, b.outputs);
  return {
    weights: outputs * align(gemm.k, b.reduction),
    params: outputs * figures.paramBytesPerChannel.value,
  };
}

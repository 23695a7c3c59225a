/**
 * The layout of each buffer. The pyramid and the resizer deliver the input as an image, channels
 * innermost (NHWC), at every level. From O2 on, the compiler also chooses the layout of the model
 * input (from DDR) and of the model output: the one of the two that takes fewer bytes in DDR under
 * the published alignment rule. Every other buffer is NCHW, as the kernels read it.
 * @module
 */

import { dtypeBytes, type HardwareFigures, type InputSource, nchwOf } from "@hqat/march-bayes";
import { type BufferLayout, isInputTransfer, type OptLevel, type Program, rawOutput } from "@hqat/program";
import { channelBytesAligned } from "./native_layout.ts";

const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;

/**
 * Bytes per frame of a model input or output in DDR in `layout`: NCHW pads H to 2 and W to 32
 * (the published rule for planar data), NHWC pads the bytes of C as `channelBytesAligned`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ioLayoutBytes } from "@hqat/hbdk";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * const f = hardwareFigures(March.BAYES);
 * assert(ioLayoutBytes({ shape: [1, 3, 32, 32], dtype: "qint8" }, { layout: "nchw", figures: f }) === 3072);
 * assert(ioLayoutBytes({ shape: [1, 10], dtype: "qint32" }, { layout: "nhwc", figures: f }) === 64);
 * ```
 */
export function ioLayoutBytes(
  tensor: { readonly shape: readonly number[]; readonly dtype: "qint8" | "qint16" | "qint32" | "float32" },
  options: { readonly layout: BufferLayout; readonly figures: HardwareFigures },
): number {
  const { layout, figures } = options;
  const { c, h, w } = nchwOf(tensor.shape);
  const b = dtypeBytes(tensor.dtype);
  const a = figures.ioAlignment.value;
  return layout === "nchw"
    ? c * alignUp(h, a.smallChannelH) * alignUp(w, a.smallChannelW) * b
    : h * w * channelBytesAligned(c * b, figures);
}

/**
 * The layout of every buffer of `lowered` (see the module description) and whether the input had
 * to leave NCHW because of its source (HBDK warns about it).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { chooseLayouts } from "@hqat/hbdk";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * import type { Program } from "@hqat/program";
 * const p: Program = {
 *   name: "m", march: "bayes", opt: "O1", inputShape: [1, 3, 4, 4], output: 1,
 *   buffers: [
 *     { name: "q", shape: [1, 3, 4, 4], dtype: "qint8", scale: Float32Array.of(1) },
 *     { name: "d", shape: [1, 3, 4, 4], dtype: "float32", scale: Float32Array.of(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 1 },
 *     { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * const f = hardwareFigures(March.BAYES);
 * assert(chooseLayouts(p, { opt: "O1", inputSource: "pyramid", figures: f }).layouts[0] === "nhwc");
 * // O1 keeps NCHW for a DDR input; O2 picks the layout with fewer DDR bytes (NHWC for 3 channels).
 * assert(chooseLayouts(p, { opt: "O1", inputSource: "ddr", figures: f }).layouts[0] === "nchw");
 * assert(chooseLayouts(p, { opt: "O2", inputSource: "ddr", figures: f }).layouts[0] === "nhwc");
 * ```
 */
export function chooseLayouts(
  lowered: Program,
  options: { readonly opt: OptLevel; readonly inputSource: InputSource; readonly figures: HardwareFigures },
): { layouts: BufferLayout[]; inputNotNchw: boolean } {
  const layouts = lowered.buffers.map((): BufferLayout => "nchw");
  const input = lowered.instructions.find(isInputTransfer)?.output;
  const raw = rawOutput(lowered);
  const best = (id: number): BufferLayout => {
    const b = lowered.buffers[id];
    return ioLayoutBytes(b, { layout: "nhwc", figures: options.figures }) <
        ioLayoutBytes(b, { layout: "nchw", figures: options.figures })
      ? "nhwc"
      : "nchw";
  };
  const image = options.inputSource !== "ddr";
  const choose = options.opt === "O2" || options.opt === "O3";
  if (input !== undefined && (image || choose)) layouts[input] = image ? "nhwc" : best(input);
  if (raw !== undefined && raw !== input && choose) layouts[raw] = best(raw);
  return { layouts, inputNotNchw: image && input !== undefined };
}

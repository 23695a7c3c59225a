/**
 * Integer color conversions of uint8 CHW images, exactly as SPEC.md "Color conversion": RGB (or BGR)
 * to YUV444 in studio or full swing, centered by −128 (what the BPU's pyramid delivers), and the
 * grayscale counterparts (the Y row).
 * @module
 */

/** The YUV range: "studio" (Y 16..235, the default) or "full" (Y 0..255). */
export type Swing = "studio" | "full";

/** Options of the color conversions. */
export interface ColorOptions {
  /** Studio swing (default) or full swing. */
  swing?: Swing;
}

interface Coefficients {
  readonly y: readonly [number, number, number];
  readonly u: readonly [number, number, number];
  readonly v: readonly [number, number, number];
  readonly yOffset: number;
}

/** The integer coefficients of SPEC.md, applied to (R, G, B): value = ⌊(c·rgb + 128) / 256⌋ + offset. */
const COEFFICIENTS: Readonly<Record<Swing, Coefficients>> = {
  studio: { y: [66, 129, 25], u: [-38, -74, 112], v: [112, -94, -18], yOffset: 16 },
  full: { y: [77, 150, 29], u: [-43, -84, 127], v: [127, -106, -21], yOffset: 0 },
};

function coefficients(options: ColorOptions): Coefficients {
  const swing = options.swing ?? "studio";
  const c = COEFFICIENTS[swing];
  if (!c) throw new TypeError(`Unknown swing "${swing}": expected "studio" or "full"`);
  return c;
}

/** Checks a [..., C, H, W] shape against the data length; returns [images, H*W]. */
function planes(
  img: ArrayLike<number>,
  shape: readonly number[],
  channels: number,
  what: string,
): [number, number] {
  if (shape.length < 3 || shape[shape.length - 3] !== channels) {
    throw new RangeError(`${what} expects a shape [..., ${channels}, H, W], got [${shape.join(",")}]`);
  }
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`${what}: invalid shape [${shape.join(",")}]`);
    size *= d;
  }
  if (size !== img.length) {
    throw new RangeError(
      `${what}: shape [${shape.join(",")}] needs ${size} values but the image has ${img.length}`,
    );
  }
  const plane = shape[shape.length - 2] * shape[shape.length - 1];
  return [plane === 0 ? 0 : size / (channels * plane), plane];
}

/**
 * Converts pixels to YUV with a channel order (`r`, `b` the plane offsets of red and blue), adding
 * `delta` to every output (0 for YUV, −128 for centered YUV).
 */
function convert(
  img: Uint8Array,
  shape: readonly number[],
  out: Uint8Array | Int8Array,
  swapRB: boolean,
  delta: number,
  options: ColorOptions & { what: string },
): void {
  const [count, plane] = planes(img, shape, 3, options.what);
  const { y, u, v, yOffset } = coefficients(options);
  const ro = swapRB ? 2 * plane : 0;
  const bo = swapRB ? 0 : 2 * plane;
  for (let n = 0; n < count; n++) {
    const base = n * 3 * plane;
    for (let p = 0; p < plane; p++) {
      const r = img[base + ro + p], g = img[base + plane + p], b = img[base + bo + p];
      // `>> 8` is ⌊x / 256⌋ for negative x too (arithmetic shift).
      out[base + p] = ((y[0] * r + y[1] * g + y[2] * b + 128) >> 8) + yOffset + delta;
      out[base + plane + p] = ((u[0] * r + u[1] * g + u[2] * b + 128) >> 8) + 128 + delta;
      out[base + 2 * plane + p] = ((v[0] * r + v[1] * g + v[2] * b + 128) >> 8) + 128 + delta;
    }
  }
}

/**
 * RGB to YUV444 (uint8, Y then U then V planes) on one CHW image `[3, H, W]` or a batch
 * `[B, 3, H, W]`: `Y = ⌊(66R + 129G + 25B + 128) / 256⌋ + 16`, … (studio swing; full swing with
 * `{ swing: "full" }`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { rgb2yuv } from "@hqat/data";
 * // one pixel, pure red
 * assert(rgb2yuv(new Uint8Array([255, 0, 0]), [3, 1, 1]).join() === "82,90,240");
 * ```
 */
export function rgb2yuv(img: Uint8Array, shape: readonly number[], options: ColorOptions = {}): Uint8Array {
  const out = new Uint8Array(img.length);
  convert(img, shape, out, false, 0, { ...options, what: "rgb2yuv" });
  return out;
}

/**
 * RGB to centered YUV444: YUV − 128 as Int8Array (−128..127), the seed's `rgb2centered_yuv`. The
 * network input is this divided by 128.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { rgb2centeredYuv } from "@hqat/data";
 * assert(rgb2centeredYuv(new Uint8Array([255, 255, 255]), [3, 1, 1]).join() === "107,0,0");
 * assert(rgb2centeredYuv(new Uint8Array([0, 0, 0]), [3, 1, 1], { swing: "full" }).join() === "-128,0,0");
 * ```
 */
export function rgb2centeredYuv(
  img: Uint8Array,
  shape: readonly number[],
  options: ColorOptions = {},
): Int8Array {
  const out = new Int8Array(img.length);
  convert(img, shape, out, false, -128, { ...options, what: "rgb2centeredYuv" });
  return out;
}

/**
 * BGR (channel 0 blue, channel 2 red) to centered YUV444, as {@linkcode rgb2centeredYuv} with the R
 * and B columns swapped.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { bgr2centeredYuv } from "@hqat/data";
 * // pure red given as B=0, G=0, R=255
 * assert(bgr2centeredYuv(new Uint8Array([0, 0, 255]), [3, 1, 1]).join() === "-46,-38,112");
 * ```
 */
export function bgr2centeredYuv(
  img: Uint8Array,
  shape: readonly number[],
  options: ColorOptions = {},
): Int8Array {
  const out = new Int8Array(img.length);
  convert(img, shape, out, true, -128, { ...options, what: "bgr2centeredYuv" });
  return out;
}

function gray(
  img: Uint8Array,
  shape: readonly number[],
  out: Uint8Array | Int8Array,
  delta: number,
  o: ColorOptions & { what: string },
) {
  const [count, plane] = planes(img, shape, 3, o.what);
  const { y, yOffset } = coefficients(o);
  for (let n = 0; n < count; n++) {
    const base = n * 3 * plane;
    for (let p = 0; p < plane; p++) {
      const r = img[base + p], g = img[base + plane + p], b = img[base + 2 * plane + p];
      out[n * plane + p] = ((y[0] * r + y[1] * g + y[2] * b + 128) >> 8) + yOffset + delta;
    }
  }
}

/**
 * RGB to grayscale: the Y plane of {@linkcode rgb2yuv} for the chosen swing; `[..., 3, H, W]` in,
 * `[..., 1, H, W]` out.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { rgb2gray } from "@hqat/data";
 * assert(rgb2gray(new Uint8Array([0, 255, 0]), [3, 1, 1]).join() === "144");
 * ```
 */
export function rgb2gray(img: Uint8Array, shape: readonly number[], options: ColorOptions = {}): Uint8Array {
  const out = new Uint8Array(img.length / 3);
  gray(img, shape, out, 0, { ...options, what: "rgb2gray" });
  return out;
}

/**
 * RGB to centered grayscale: Y − 128 as Int8Array; `[..., 3, H, W]` in, `[..., 1, H, W]` out.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { rgb2centeredGray } from "@hqat/data";
 * assert(rgb2centeredGray(new Uint8Array([0, 255, 0]), [3, 1, 1], { swing: "full" }).join() === "21");
 * ```
 */
export function rgb2centeredGray(
  img: Uint8Array,
  shape: readonly number[],
  options: ColorOptions = {},
): Int8Array {
  const out = new Int8Array(img.length / 3);
  gray(img, shape, out, -128, { ...options, what: "rgb2centeredGray" });
  return out;
}

/**
 * Pads grayscale images to 32×32 with zeros (centered: a 28×28 image gets 2 pixels on each side)
 * and replicates the plane to three channels: `[..., 1, H, W]` (H, W ≤ 32) in, `[..., 3, 32, 32]`
 * out, ready for the RGB pipeline.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { grayToRgb32 } from "@hqat/data";
 * const img = new Uint8Array(28 * 28).fill(9);
 * const rgb = grayToRgb32(img, [1, 28, 28]);
 * assert(rgb.length === 3 * 32 * 32 && rgb[0] === 0 && rgb[2 * 32 + 2] === 9);
 * ```
 */
export function grayToRgb32(img: Uint8Array, shape: readonly number[]): Uint8Array {
  const [count] = planes(img, shape, 1, "grayToRgb32");
  const h = shape[shape.length - 2], w = shape[shape.length - 1];
  if (h > 32 || w > 32) throw new RangeError(`grayToRgb32 expects images of at most 32x32, got ${h}x${w}`);
  const top = (32 - h) >> 1, left = (32 - w) >> 1;
  const out = new Uint8Array(count * 3 * 1024);
  for (let n = 0; n < count; n++) {
    for (let r = 0; r < h; r++) {
      const row = img.subarray(n * h * w + r * w, n * h * w + (r + 1) * w);
      for (let c = 0; c < 3; c++) out.set(row, n * 3072 + c * 1024 + (top + r) * 32 + left);
    }
  }
  return out;
}

/** Options of {@linkcode writeCenteredYuvFloat}. */
export interface FloatYuvOptions extends ColorOptions {
  /** Pixels per plane (H × W) of the one `[3, H, W]` image in `src`. */
  plane: number;
  /** Where in `dst` the image's Y plane starts (default 0). */
  dstOffset?: number;
  /** The factor applied to the centered values (default 1/128, the seed's input scale). */
  scale?: number;
}

/**
 * Writes one RGB image's centered YUV, times `scale` (default 1/128), into a float buffer: the
 * loader's collate step, without intermediate arrays. Equal to `rgb2centeredYuv(...)[i] * scale`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { writeCenteredYuvFloat } from "@hqat/data";
 * const dst = new Float32Array(3);
 * writeCenteredYuvFloat(new Uint8Array([255, 255, 255]), dst, { plane: 1 });
 * assert(dst[0] === 107 / 128 && dst[1] === 0);
 * ```
 */
export function writeCenteredYuvFloat(src: Uint8Array, dst: Float32Array, options: FloatYuvOptions): void {
  const { plane } = options;
  const at = options.dstOffset ?? 0;
  const scale = options.scale ?? 1 / 128;
  if (src.length !== 3 * plane || at < 0 || at + 3 * plane > dst.length) {
    throw new RangeError(
      `writeCenteredYuvFloat: ${src.length} source values for plane ${plane} at offset ${at} ` +
        `do not fit a destination of ${dst.length}`,
    );
  }
  const { y, u, v, yOffset } = coefficients(options);
  for (let p = 0; p < plane; p++) {
    const r = src[p], g = src[plane + p], b = src[2 * plane + p];
    dst[at + p] = (((y[0] * r + y[1] * g + y[2] * b + 128) >> 8) + yOffset - 128) * scale;
    dst[at + plane + p] = ((u[0] * r + u[1] * g + u[2] * b + 128) >> 8) * scale;
    dst[at + 2 * plane + p] = ((v[0] * r + v[1] * g + v[2] * b + 128) >> 8) * scale;
  }
}

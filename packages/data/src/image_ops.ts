/**
 * Pixel operations on one uint8 CHW image, bit for bit as torchvision 0.14's `functional_tensor`
 * computes them on uint8 tensors: float32 arithmetic, then clamp and truncation to uint8.
 * @module
 */

import type { Image } from "./geometry.ts";

const f32 = Math.fround;

/** The grayscale weights of `rgb_to_grayscale`, as float32. */
const GRAY_R = f32(0.2989), GRAY_G = f32(0.587), GRAY_B = f32(0.114);

/**
 * `_blend`: `(ratio · a + (1 − ratio) · b).clamp(0, 255).to(uint8)` in float32; `other(i)` gives
 * `b` at flat index `i`.
 */
function blend(img: Image, other: (i: number) => number, ratio: number): Image {
  const r = f32(ratio), q = f32(1.0 - ratio);
  const { data } = img;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = f32(f32(r * data[i]) + f32(q * other(i)));
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
  return { ...img, data: out };
}

function checkFactor(what: string, factor: number): void {
  if (!(factor >= 0)) throw new RangeError(`${what} factor ${factor} must be non-negative`);
}

/**
 * `rgb_to_grayscale` of a 3-channel image: one uint8 plane, `0.2989 R + 0.587 G + 0.114 B`
 * computed in float32 and truncated (a 1-channel image is returned as is).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { grayscale, image } from "@hqat/data";
 * assert(grayscale(image(new Uint8Array([255, 255, 255]), [3, 1, 1])).data[0] === 254);
 * ```
 */
export function grayscale(img: Image): Image {
  if (img.channels === 1) return img;
  if (img.channels !== 3) throw new RangeError(`grayscale expects 1 or 3 channels, got ${img.channels}`);
  const plane = img.height * img.width;
  const { data } = img;
  const out = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) {
    out[p] = Math.trunc(
      f32(f32(f32(GRAY_R * data[p]) + f32(GRAY_G * data[plane + p])) + f32(GRAY_B * data[2 * plane + p])),
    );
  }
  return { ...img, channels: 1, data: out };
}

/**
 * `adjust_brightness`: blends with black by `factor` (1 keeps the image).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adjustBrightness, image } from "@hqat/data";
 * assert(adjustBrightness(image(new Uint8Array([100, 200]), [1, 1, 2]), 1.5).data.join() === "150,255");
 * ```
 */
export function adjustBrightness(img: Image, factor: number): Image {
  checkFactor("Brightness", factor);
  return blend(img, () => 0, factor);
}

/**
 * `adjust_saturation`: blends with the grayscale image by `factor` (1-channel images unchanged).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adjustSaturation, image } from "@hqat/data";
 * const out = adjustSaturation(image(new Uint8Array([200, 100, 0]), [3, 1, 1]), 0);
 * assert(out.data.join() === "118,118,118");
 * ```
 */
export function adjustSaturation(img: Image, factor: number): Image {
  checkFactor("Saturation", factor);
  if (img.channels === 1) return img;
  const gray = grayscale(img).data;
  const plane = img.height * img.width;
  return blend(img, (i) => gray[i % plane], factor);
}

/**
 * `adjust_contrast`: blends with the mean of the grayscale image (float32) by `factor`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adjustContrast, image } from "@hqat/data";
 * // mean 100: 50 → 100 + 2·(50 − 100) = 0, 150 → 200
 * assert(adjustContrast(image(new Uint8Array([50, 150]), [1, 1, 2]), 2).data.join() === "0,200");
 * ```
 */
export function adjustContrast(img: Image, factor: number): Image {
  checkFactor("Contrast", factor);
  const gray = grayscale(img).data;
  let sum = 0;
  for (let i = 0; i < gray.length; i++) sum += gray[i];
  // an integer sum below 2^24 is exact in float32 whatever the summation order
  const mean = gray.length === 0 ? 0 : f32(f32(sum) / gray.length);
  return blend(img, () => mean, factor);
}

/**
 * `adjust_sharpness`: blends with the image smoothed by the 3×3 kernel [1 1 1; 1 5 1; 1 1 1] / 13
 * (rounded to uint8; the border keeps its pixels). Images under 3×3 are unchanged.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adjustSharpness, image } from "@hqat/data";
 * const img = image(new Uint8Array([0, 0, 0, 0, 130, 0, 0, 0, 0]), [1, 3, 3]);
 * // center blurred to round(650 / 13) = 50; factor 0 gives the blurred image
 * assert(adjustSharpness(img, 0).data[4] === 50);
 * ```
 */
export function adjustSharpness(img: Image, factor: number): Image {
  checkFactor("Sharpness", factor);
  const { channels, height: h, width: w, data } = img;
  if (h <= 2 || w <= 2) return img;
  const blurred = data.slice();
  for (let c = 0; c < channels; c++) {
    const base = c * h * w;
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        const p = base + y * w + x;
        const s = data[p - w - 1] + data[p - w] + data[p - w + 1] + data[p - 1] + 5 * data[p] + data[p + 1] +
          data[p + w - 1] + data[p + w] + data[p + w + 1];
        // s / 13 is never a tie (13 is odd) and float32 error is far below 1/26, so this is
        // exactly torch's round(conv2d(...)).
        blurred[p] = Math.floor((2 * s + 13) / 26);
      }
    }
  }
  return blend(img, (i) => blurred[i], factor);
}

/**
 * `posterize`: keeps the top `bits` bits of every value.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { image, posterize } from "@hqat/data";
 * assert(posterize(image(new Uint8Array([255, 77]), [1, 1, 2]), 4).data.join() === "240,64");
 * ```
 */
export function posterize(img: Image, bits: number): Image {
  if (!Number.isInteger(bits) || bits < 0 || bits > 8) {
    throw new RangeError(`Posterize bits ${bits}: expected 0..8`);
  }
  const mask = (0xff << (8 - bits)) & 0xff;
  return { ...img, data: img.data.map((v) => v & mask) };
}

/**
 * `solarize`: inverts every value at or above `threshold`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { image, solarize } from "@hqat/data";
 * assert(solarize(image(new Uint8Array([10, 200]), [1, 1, 2]), 178.5).data.join() === "10,55");
 * ```
 */
export function solarize(img: Image, threshold: number): Image {
  if (threshold > 255) throw new RangeError(`Solarize threshold ${threshold} is above 255`);
  return { ...img, data: img.data.map((v) => (v >= threshold ? 255 - v : v)) };
}

/**
 * `invert`: 255 − value.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { image, invert } from "@hqat/data";
 * assert(invert(image(new Uint8Array([0, 200]), [1, 1, 2])).data.join() === "255,55");
 * ```
 */
export function invert(img: Image): Image {
  return { ...img, data: img.data.map((v) => 255 - v) };
}

/**
 * `autocontrast`: stretches each channel so its minimum maps to 0 and its maximum to 255 (254 for
 * some ranges), with torch's float32 scale `reciprocal(max − min) · 255` and truncation (a constant
 * channel is unchanged).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { autocontrast, image } from "@hqat/data";
 * assert(autocontrast(image(new Uint8Array([50, 100, 150]), [1, 1, 3])).data.join() === "0,127,255");
 * ```
 */
export function autocontrast(img: Image): Image {
  const plane = img.height * img.width;
  const out = new Uint8Array(img.data.length);
  for (let c = 0; c < img.channels; c++) {
    const ch = img.data.subarray(c * plane, (c + 1) * plane);
    let lo = 255, hi = 0;
    for (const v of ch) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const min = hi === lo ? 0 : lo;
    // `255 / t` on a tensor is `t.reciprocal() * 255` in torch: two float32 roundings
    const scale = hi === lo ? 1 : f32(f32(1 / (hi - lo)) * 255);
    for (let p = 0; p < plane; p++) {
      const v = f32((ch[p] - min) * scale);
      out[c * plane + p] = v >= 255 ? 255 : Math.trunc(v);
    }
  }
  return { ...img, data: out };
}

/**
 * `equalize`: per-channel histogram equalization with torchvision's integer lookup table (the
 * PIL algorithm): `step = ⌊(pixels − last nonzero bin count) / 255⌋`, `lut[k] = ⌊(cdf[k−1] + ⌊step/2⌋) / step⌋`;
 * a channel with `step` 0 is unchanged.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { equalize, image } from "@hqat/data";
 * const img = image(new Uint8Array(512).map((_, i) => (i < 256 ? 10 : 20)), [1, 16, 32]);
 * const out = equalize(img).data;
 * assert(out[0] === 0 && out[300] === 255);
 * ```
 */
export function equalize(img: Image): Image {
  const plane = img.height * img.width;
  const out = new Uint8Array(img.data.length);
  const hist = new Float64Array(256);
  for (let c = 0; c < img.channels; c++) {
    const ch = img.data.subarray(c * plane, (c + 1) * plane);
    const dst = out.subarray(c * plane, (c + 1) * plane);
    hist.fill(0);
    for (const v of ch) hist[v]++;
    let last = 0;
    for (let k = 255; k >= 0; k--) {
      if (hist[k] !== 0) {
        last = hist[k];
        break;
      }
    }
    const step = Math.floor((plane - last) / 255);
    if (step === 0) {
      dst.set(ch);
      continue;
    }
    const lut = new Uint8Array(256);
    let cdf = 0;
    for (let k = 0; k < 255; k++) {
      cdf += hist[k];
      lut[k + 1] = Math.min(255, Math.floor((cdf + Math.floor(step / 2)) / step));
    }
    for (let p = 0; p < plane; p++) dst[p] = lut[ch[p]];
  }
  return { ...img, data: out };
}

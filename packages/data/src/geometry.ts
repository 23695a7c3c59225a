/**
 * Geometric operations on one uint8 CHW image, with torchvision 0.14's tensor semantics: flip,
 * crop (zero outside), and affine warps / rotation sampled with nearest interpolation and zero fill
 * (`F.affine`, `F.rotate` → `grid_sample(..., "nearest", padding_mode="zeros", align_corners=False)`).
 * The sampling grid is computed in float32 as torch's CPU kernels do.
 * @module
 */

/** One uint8 image in CHW order (channel planes, each row by row). */
export interface Image {
  /** `channels × height × width` bytes: channel planes, each row by row. */
  readonly data: Uint8Array;
  /** Number of channels. */
  readonly channels: number;
  /** Rows. */
  readonly height: number;
  /** Columns. */
  readonly width: number;
}

/**
 * Makes an image record, checking that `data` holds `channels × height × width` bytes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { image } from "@hqat/data";
 * const img = image(new Uint8Array(12), [3, 2, 2]);
 * assert(img.channels === 3 && img.width === 2);
 * ```
 */
export function image(data: Uint8Array, shape: readonly [number, number, number]): Image {
  const [channels, height, width] = shape;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`Invalid image shape [${shape.join(",")}]`);
  }
  if (data.length !== channels * height * width) {
    throw new RangeError(
      `An image of shape [${shape.join(",")}] needs ${channels * height * width} bytes, got ${data.length}`,
    );
  }
  return { data, channels, height, width };
}

/**
 * Mirrors an image left to right (`F.hflip`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { hflip, image } from "@hqat/data";
 * assert(hflip(image(new Uint8Array([1, 2, 3]), [1, 1, 3])).data.join() === "3,2,1");
 * ```
 */
export function hflip(img: Image): Image {
  const { channels, height, width, data } = img;
  const out = new Uint8Array(data.length);
  for (let r = 0; r < channels * height; r++) {
    const row = r * width;
    for (let x = 0; x < width; x++) out[row + x] = data[row + width - 1 - x];
  }
  return { ...img, data: out };
}

/** A crop window; `top` and `left` may be negative and the window may pass the edges. */
export interface CropBox {
  /** First row of the window (may be negative). */
  top: number;
  /** First column of the window (may be negative). */
  left: number;
  /** Rows in the window. */
  height: number;
  /** Columns in the window. */
  width: number;
}

/**
 * Crops a window; pixels of the window outside the image are 0 (`F.crop` on tensors, which pads).
 * `RandomCrop(size, padding)` is this crop at `(i − padding, j − padding)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { crop, image } from "@hqat/data";
 * const out = crop(image(new Uint8Array([1, 2, 3, 4]), [1, 2, 2]), { top: -1, left: 0, height: 2, width: 2 });
 * assert(out.data.join() === "0,0,1,2");
 * ```
 */
export function crop(img: Image, box: CropBox): Image {
  const { top, left, height, width } = box;
  for (const v of [top, left, height, width]) {
    if (!Number.isInteger(v)) {
      throw new RangeError(`Invalid crop box ${JSON.stringify(box)}: integers expected`);
    }
  }
  if (height < 0 || width < 0) throw new RangeError(`Invalid crop box ${JSON.stringify(box)}: negative size`);
  const out = new Uint8Array(img.channels * height * width);
  const x0 = Math.max(0, -left), x1 = Math.min(width, img.width - left);
  for (let c = 0; c < img.channels; c++) {
    for (let y = 0; y < height; y++) {
      const sy = top + y;
      if (sy < 0 || sy >= img.height || x1 <= x0) continue;
      const src = (c * img.height + sy) * img.width + left;
      out.set(img.data.subarray(src + x0, src + x1), (c * height + y) * width + x0);
    }
  }
  return { data: out, channels: img.channels, height, width };
}

/** Parameters of {@linkcode affine}, as `torchvision.transforms.functional.affine` takes them. */
export interface AffineParams {
  /** Rotation in degrees, clockwise. */
  angle?: number;
  /** Translation in pixels [x, y] (default [0, 0]). */
  translate?: readonly [number, number];
  /** Scale (default 1). */
  scale?: number;
  /** Shear angles in degrees [x, y] (default [0, 0]). */
  shear?: readonly [number, number];
  /** Center in pixel coordinates (default: the image center). */
  center?: readonly [number, number];
}

const DEG_TO_RAD = Math.PI / 180;

/**
 * The 2×3 inverse affine matrix of torchvision's `_get_inverse_affine_matrix` (output pixel →
 * input pixel, both relative to `center`), in float64 as Python computes it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { inverseAffineMatrix } from "@hqat/data";
 * const m = inverseAffineMatrix([0, 0], { translate: [3, 0] });
 * assert(m.join() === "1,0,-3,0,1,0");
 * ```
 */
export function inverseAffineMatrix(center: readonly [number, number], params: AffineParams): number[] {
  const rot = (params.angle ?? 0) * DEG_TO_RAD;
  const sx = (params.shear?.[0] ?? 0) * DEG_TO_RAD;
  const sy = (params.shear?.[1] ?? 0) * DEG_TO_RAD;
  const [cx, cy] = center;
  const [tx, ty] = params.translate ?? [0, 0];
  const scale = params.scale ?? 1;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = -Math.cos(rot - sy) * Math.tan(sx) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = -Math.sin(rot - sy) * Math.tan(sx) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0].map((x) => x / scale);
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
  m[2] += cx;
  m[5] += cy;
  return m;
}

const f32 = Math.fround;

/** Round half to even, as `nearbyint` under the default rounding mode. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Warps an image with an inverse matrix `m` (relative to the image center), nearest interpolation,
 * 0 outside: torchvision's `_gen_affine_grid` + `grid_sample`, in float32.
 */
function warp(img: Image, m: readonly number[]): Image {
  const { channels, height: h, width: w, data } = img;
  const hw = f32(0.5 * w), hh = f32(0.5 * h);
  // theta (float32) transposed and divided by [w/2, h/2]
  const t = m.map(f32);
  const ax = f32(t[0] / hw), bx = f32(t[1] / hw), cxv = f32(t[2] / hw);
  const ay = f32(t[3] / hh), by = f32(t[4] / hh), cyv = f32(t[5] / hh);
  const plane = h * w;
  const src = new Int32Array(plane);
  const x0 = f32(-w * 0.5 + 0.5), y0 = f32(-h * 0.5 + 0.5);
  for (let i = 0; i < h; i++) {
    const y = f32(y0 + i);
    for (let j = 0; j < w; j++) {
      const x = f32(x0 + j);
      // base_grid [x, y, 1] @ theta', each product and sum rounded to float32, left to right
      const gx = f32(f32(f32(x * ax) + f32(y * bx)) + cxv);
      const gy = f32(f32(f32(x * ay) + f32(y * by)) + cyv);
      // grid_sample, align_corners=False: ((g + 1) * size/2) - 0.5, then nearest (half to even)
      const ix = roundHalfEven(f32(f32(f32(gx + 1) * hw) - 0.5));
      const iy = roundHalfEven(f32(f32(f32(gy + 1) * hh) - 0.5));
      src[i * w + j] = ix >= 0 && ix < w && iy >= 0 && iy < h ? iy * w + ix : -1;
    }
  }
  const out = new Uint8Array(data.length);
  for (let c = 0; c < channels; c++) {
    const base = c * plane;
    for (let p = 0; p < plane; p++) {
      const s = src[p];
      if (s >= 0) out[base + p] = data[base + s];
    }
  }
  return { ...img, data: out };
}

/**
 * `torchvision.transforms.functional.affine` on a uint8 tensor image: nearest interpolation, zero
 * fill. Without `center` the transform is about the image center.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { affine, image } from "@hqat/data";
 * const img = image(new Uint8Array([1, 2, 3]), [1, 1, 3]);
 * assert(affine(img, { translate: [1, 0] }).data.join() === "0,1,2");
 * ```
 */
export function affine(img: Image, params: AffineParams): Image {
  const center: [number, number] = params.center
    ? [params.center[0] - img.width * 0.5, params.center[1] - img.height * 0.5]
    : [0, 0];
  return warp(img, inverseAffineMatrix(center, params));
}

/**
 * `torchvision.transforms.functional.rotate` on a uint8 tensor image (counter-clockwise degrees,
 * about the center, same size, nearest, zero fill).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { image, rotate } from "@hqat/data";
 * const img = image(new Uint8Array([1, 2, 3, 4]), [1, 2, 2]);
 * assert(rotate(img, { angle: 90 }).data.join() === "2,4,1,3");
 * ```
 */
export function rotate(img: Image, params: { angle: number }): Image {
  return warp(img, inverseAffineMatrix([0, 0], { angle: -params.angle }));
}

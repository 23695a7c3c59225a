/**
 * Training transforms as plain data (so a worker can rebuild them), torchvision's counterparts:
 * `transforms.randomHorizontalFlip()`, `transforms.randomCrop(size, { padding })`,
 * `transforms.randAugment()`; `compose` turns a list into a function of (image, generator), and
 * `normalize` is `Normalize(mean, std)` to float32.
 * @module
 */

import { crop, hflip, type Image } from "./geometry.ts";
import { randAugment, type RandAugmentOptions } from "./rand_augment.ts";
import type { Rng } from "./random.ts";

/** A transform described as data. */
export type TransformSpec =
  | { readonly kind: "randomHorizontalFlip"; readonly p: number }
  | { readonly kind: "randomCrop"; readonly height: number; readonly width: number; readonly padding: number }
  | {
    readonly kind: "randAugment";
    readonly numOps: number;
    readonly magnitude: number;
    readonly numMagnitudeBins: number;
  };

function randomHorizontalFlip(options: { p?: number } = {}): TransformSpec {
  const p = options.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`RandomHorizontalFlip probability ${p} is not in [0, 1]`);
  return { kind: "randomHorizontalFlip", p };
}

function randomCrop(
  size: number | readonly [number, number],
  options: { padding?: number } = {},
): TransformSpec {
  const [height, width] = typeof size === "number" ? [size, size] : size;
  const padding = options.padding ?? 0;
  for (const v of [height, width]) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`RandomCrop size ${v} must be a positive integer`);
    }
  }
  if (!Number.isInteger(padding) || padding < 0) {
    throw new RangeError(`RandomCrop padding ${padding} must be a non-negative integer`);
  }
  return { kind: "randomCrop", height, width, padding };
}

function randAugmentSpec(options: RandAugmentOptions = {}): TransformSpec {
  const spec = {
    kind: "randAugment" as const,
    numOps: options.numOps ?? 2,
    magnitude: options.magnitude ?? 9,
    numMagnitudeBins: options.numMagnitudeBins ?? 31,
  };
  if (!Number.isInteger(spec.numOps) || spec.numOps < 0) {
    throw new RangeError(`RandAugment numOps ${spec.numOps}`);
  }
  if (!Number.isInteger(spec.magnitude) || spec.magnitude < 0 || spec.magnitude >= spec.numMagnitudeBins) {
    throw new RangeError(
      `RandAugment magnitude ${spec.magnitude} must be a bin in [0, ${spec.numMagnitudeBins})`,
    );
  }
  return spec;
}

/**
 * Constructors of transform specs, named after torchvision's classes:
 * `randomHorizontalFlip({ p = 0.5 })`, `randomCrop(size, { padding = 0 })` (zero padding) and
 * `randAugment({ numOps = 2, magnitude = 9, numMagnitudeBins = 31 })`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { transforms } from "@hqat/data";
 * const list = [transforms.randomHorizontalFlip(), transforms.randomCrop(32, { padding: 4 }), transforms.randAugment()];
 * assert(list[1].kind === "randomCrop" && list[2].kind === "randAugment");
 * ```
 */
export const transforms: Readonly<{
  randomHorizontalFlip: (options?: { p?: number }) => TransformSpec;
  randomCrop: (size: number | readonly [number, number], options?: { padding?: number }) => TransformSpec;
  randAugment: (options?: RandAugmentOptions) => TransformSpec;
}> = Object.freeze({ randomHorizontalFlip, randomCrop, randAugment: randAugmentSpec });

/**
 * Applies one transform. Random choices come from `rng`, drawn in torchvision's order: the flip
 * draws one float (`< p` flips); the crop draws the top then the left offset (none when the padded
 * image already has the crop's size); RandAugment draws as {@linkcode randAugment}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { applyTransform, image, Rng } from "@hqat/data";
 * const img = image(new Uint8Array([1, 2]), [1, 1, 2]);
 * const out = applyTransform(img, { spec: { kind: "randomHorizontalFlip", p: 1 }, rng: Rng.seeded(0) });
 * assert(out.data.join() === "2,1");
 * ```
 */
export function applyTransform(img: Image, step: { spec: TransformSpec; rng: Rng }): Image {
  const { spec, rng } = step;
  switch (spec.kind) {
    case "randomHorizontalFlip":
      return rng.nextFloat() < spec.p ? hflip(img) : img;
    case "randomCrop": {
      const h = img.height + 2 * spec.padding, w = img.width + 2 * spec.padding;
      if (h < spec.height || w < spec.width) {
        throw new RangeError(
          `RandomCrop of ${spec.height}x${spec.width} does not fit a padded image of ${h}x${w}`,
        );
      }
      if (h === spec.height && w === spec.width) {
        return crop(img, { top: -spec.padding, left: -spec.padding, height: h, width: w });
      }
      const i = rng.nextInt(h - spec.height + 1);
      const j = rng.nextInt(w - spec.width + 1);
      return crop(img, {
        top: i - spec.padding,
        left: j - spec.padding,
        height: spec.height,
        width: spec.width,
      });
    }
    case "randAugment":
      return randAugment(img, rng, spec);
    default: {
      const never: never = spec;
      throw new TypeError(`Unknown transform ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Composes transforms into one function of (image, generator), applied in order.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { compose, image, Rng, transforms } from "@hqat/data";
 * const t = compose([transforms.randomHorizontalFlip({ p: 1 }), transforms.randomCrop(1)]);
 * const out = t(image(new Uint8Array([1, 2]), [1, 1, 2]), Rng.seeded(3));
 * assert(out.width === 1);
 * ```
 */
export function compose(specs: readonly TransformSpec[]): (img: Image, rng: Rng) => Image {
  const list = [...specs];
  return (img, rng) => list.reduce((acc, spec) => applyTransform(acc, { spec, rng }), img);
}

/**
 * The [height, width] that `specs` produce from an image of `height × width`; a RangeError when a
 * crop does not fit.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { transformedSize, transforms } from "@hqat/data";
 * assert(transformedSize([transforms.randomCrop(24, { padding: 2 })], [32, 32]).join() === "24,24");
 * ```
 */
export function transformedSize(
  specs: readonly TransformSpec[],
  size: readonly [number, number],
): [number, number] {
  let [h, w] = size;
  for (const s of specs) {
    if (s.kind !== "randomCrop") continue;
    if (h + 2 * s.padding < s.height || w + 2 * s.padding < s.width) {
      throw new RangeError(
        `RandomCrop of ${s.height}x${s.width} does not fit a padded image of ${h + 2 * s.padding}x${
          w + 2 * s.padding
        }`,
      );
    }
    [h, w] = [s.height, s.width];
  }
  return [h, w];
}

/** Options of {@linkcode normalize}: one value per channel, or one for all. */
export interface NormalizeOptions {
  /** Mean subtracted: one per channel, or one for all. */
  mean: number | readonly number[];
  /** Standard deviation divided by: one per channel, or one for all. */
  std: number | readonly number[];
}

/**
 * `Normalize(mean, std)`: `(x − mean[c]) / std[c]` in float32 on data of shape `[..., C, H, W]`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { normalize } from "@hqat/data";
 * const out = normalize(new Int8Array([-128, 64]), [1, 1, 2], { mean: 0, std: 128 });
 * assert(out[0] === -1 && out[1] === 0.5);
 * ```
 */
export function normalize(
  data: ArrayLike<number>,
  shape: readonly number[],
  options: NormalizeOptions,
): Float32Array {
  if (shape.length < 3) {
    throw new RangeError(`normalize expects a shape [..., C, H, W], got [${shape.join(",")}]`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new RangeError(`normalize: shape [${shape.join(",")}] needs ${size} values, got ${data.length}`);
  }
  const channels = shape[shape.length - 3];
  const plane = shape[shape.length - 2] * shape[shape.length - 1];
  const perChannel = (v: number | readonly number[], what: string) => {
    const list = typeof v === "number" ? new Array(channels).fill(v) : [...v];
    if (list.length !== channels) {
      throw new RangeError(`normalize: ${list.length} ${what} values for ${channels} channels`);
    }
    return list.map(Math.fround);
  };
  const mean = perChannel(options.mean, "mean"), std = perChannel(options.std, "std");
  if (std.some((s) => s === 0)) throw new RangeError("normalize: std must not be zero");
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / plane) % channels;
    out[i] = Math.fround(data[i] - mean[c]) / std[c];
  }
  return out;
}

/**
 * RandAugment as torchvision 0.14 defines it for uint8 tensors (`transforms.RandAugment`): its 14
 * operations (`_apply_op`), its magnitude table (`_augmentation_space`, float32 values as torch
 * computes them), `numOps` 2, `magnitude` 9 of 31 bins, a random sign for signed operations,
 * nearest interpolation and zero fill. Only the random draws come from our own {@linkcode Rng}.
 * @module
 */

import { affine, type Image, rotate } from "./geometry.ts";
import {
  adjustBrightness,
  adjustContrast,
  adjustSaturation,
  adjustSharpness,
  autocontrast,
  equalize,
  posterize,
  solarize,
} from "./image_ops.ts";
import type { Rng } from "./random.ts";

/**
 * The operations, in the order of torchvision's `_augmentation_space` (the draw indexes this list).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { RAND_AUGMENT_OPS } from "@hqat/data";
 * assert(RAND_AUGMENT_OPS.length === 14 && RAND_AUGMENT_OPS[0] === "Identity");
 * ```
 */
export const RAND_AUGMENT_OPS = [
  "Identity",
  "ShearX",
  "ShearY",
  "TranslateX",
  "TranslateY",
  "Rotate",
  "Brightness",
  "Color",
  "Contrast",
  "Sharpness",
  "Posterize",
  "Solarize",
  "AutoContrast",
  "Equalize",
] as const;

/** One RandAugment operation name. */
export type RandAugmentOp = typeof RAND_AUGMENT_OPS[number];

const f32 = Math.fround;

/**
 * `torch.linspace(start, end, steps)` in float32, value for value as torch's AVX2 CPU kernel makes
 * it: blocks of 16 computed as `base + i·step` (two 8-wide vectors), the rest as
 * `start + step·i` or `end − step·(steps − i − 1)` with one rounding (fused multiply-add).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { linspaceF32 } from "@hqat/data";
 * const v = linspaceF32([0, 0.9], 31);
 * assert(v[9] === Math.fround(0.26999998092651367) && v[30] === Math.fround(0.9));
 * ```
 */
export function linspaceF32(range: readonly [number, number], steps: number): number[] {
  const [start, end] = range;
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`linspace steps ${steps}: expected a positive integer`);
  }
  const s = f32(start), e = f32(end);
  if (steps === 1) return [s];
  const step = f32(f32(e - s) / (steps - 1));
  const half = Math.floor(steps / 2);
  // The product is exact in float64 and the sum then needs at most ~50 bits, so rounding it once to
  // float32 is the fused multiply-add.
  const fused = (i: number) => (i < half ? f32(s + step * i) : f32(e - step * (steps - i - 1)));
  const vectorEnd = Math.floor(steps / 16) * 16;
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    if (i < vectorEnd) {
      const i0 = i - (i % 8);
      out.push(f32(fused(i0) + f32((i % 8) * step)));
    } else {
      out.push(fused(i));
    }
  }
  return out;
}

/** One entry of the augmentation space: the magnitude per bin (null: no magnitude) and whether signed. */
export interface AugmentationEntry {
  /** The magnitude of each bin, or null for an operation without one. */
  readonly magnitudes: readonly number[] | null;
  /** Whether the magnitude's sign is drawn at random. */
  readonly signed: boolean;
}

/** Options of {@linkcode randAugmentSpace}. */
export interface SpaceOptions {
  /** Number of magnitude bins (default 31). */
  numBins?: number;
  /** Image height (TranslateY's range is 150/331 of it). */
  height: number;
  /** Image width (TranslateX's range is 150/331 of it). */
  width: number;
}

/**
 * torchvision's `RandAugment._augmentation_space(num_bins, (height, width))`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { randAugmentSpace } from "@hqat/data";
 * const space = randAugmentSpace({ height: 32, width: 32 });
 * assert(space.Rotate.magnitudes![9] === 9 && space.Rotate.signed);
 * assert(space.Posterize.magnitudes![9] === 7 && space.Solarize.magnitudes![9] === 178.5);
 * ```
 */
export function randAugmentSpace(options: SpaceOptions): Record<RandAugmentOp, AugmentationEntry> {
  const n = options.numBins ?? 31;
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`numBins ${n}: expected an integer of at least 2`);
  const lin = (end: number) => linspaceF32([0, end], n);
  // 8 - (arange(n) / ((n - 1) / 4)).round().int(); i / ((n-1)/4) is never within float32 error of a tie
  const quarter = (n - 1) / 4;
  const posterizeBits = Array.from({ length: n }, (_, i) => 8 - roundHalfEven(f32(i / f32(quarter))));
  return {
    Identity: { magnitudes: null, signed: false },
    ShearX: { magnitudes: lin(0.3), signed: true },
    ShearY: { magnitudes: lin(0.3), signed: true },
    TranslateX: { magnitudes: lin(150.0 / 331.0 * options.width), signed: true },
    TranslateY: { magnitudes: lin(150.0 / 331.0 * options.height), signed: true },
    Rotate: { magnitudes: lin(30.0), signed: true },
    Brightness: { magnitudes: lin(0.9), signed: true },
    Color: { magnitudes: lin(0.9), signed: true },
    Contrast: { magnitudes: lin(0.9), signed: true },
    Sharpness: { magnitudes: lin(0.9), signed: true },
    Posterize: { magnitudes: posterizeBits, signed: false },
    Solarize: { magnitudes: linspaceF32([255.0, 0.0], n), signed: false },
    AutoContrast: { magnitudes: null, signed: false },
    Equalize: { magnitudes: null, signed: false },
  };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const RAD_TO_DEG = 180.0 / Math.PI;

/**
 * Applies one operation with a magnitude, as torchvision's `_apply_op` (nearest, fill 0).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { applyRandAugmentOp, image } from "@hqat/data";
 * const img = image(new Uint8Array([1, 2, 3]), [1, 1, 3]);
 * assert(applyRandAugmentOp(img, { op: "TranslateX", magnitude: -1.7 }).data.join() === "2,3,0");
 * ```
 */
export function applyRandAugmentOp(img: Image, step: { op: RandAugmentOp; magnitude: number }): Image {
  const m = step.magnitude;
  switch (step.op) {
    case "Identity":
      return img;
    case "ShearX":
      return affine(img, { shear: [Math.atan(m) * RAD_TO_DEG, 0], center: [0, 0] });
    case "ShearY":
      return affine(img, { shear: [0, Math.atan(m) * RAD_TO_DEG], center: [0, 0] });
    case "TranslateX":
      return affine(img, { translate: [Math.trunc(m), 0] });
    case "TranslateY":
      return affine(img, { translate: [0, Math.trunc(m)] });
    case "Rotate":
      return rotate(img, { angle: m });
    case "Brightness":
      return adjustBrightness(img, 1.0 + m);
    case "Color":
      return adjustSaturation(img, 1.0 + m);
    case "Contrast":
      return adjustContrast(img, 1.0 + m);
    case "Sharpness":
      return adjustSharpness(img, 1.0 + m);
    case "Posterize":
      return posterize(img, Math.trunc(m));
    case "Solarize":
      return solarize(img, m);
    case "AutoContrast":
      return autocontrast(img);
    case "Equalize":
      return equalize(img);
    default: {
      const never: never = step.op;
      throw new TypeError(`Unknown RandAugment operation "${never}"`);
    }
  }
}

/** Options of {@linkcode randAugment} (torchvision's defaults). */
export interface RandAugmentOptions {
  /** Operations applied in sequence (default 2). */
  numOps?: number;
  /** The magnitude bin used by every operation (default 9). */
  magnitude?: number;
  /** Number of magnitude bins (default 31). */
  numMagnitudeBins?: number;
}

const spaceCache = new Map<string, Record<RandAugmentOp, AugmentationEntry>>();

function cachedSpace(numBins: number, height: number, width: number) {
  const key = `${numBins},${height},${width}`;
  let space = spaceCache.get(key);
  if (!space) {
    space = randAugmentSpace({ numBins, height, width });
    if (spaceCache.size > 64) spaceCache.clear();
    spaceCache.set(key, space);
  }
  return space;
}

/**
 * RandAugment: `numOps` times, draws one of the 14 operations uniformly, takes its magnitude at bin
 * `magnitude`, negates it with probability 1/2 for signed operations, and applies it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { image, randAugment, Rng } from "@hqat/data";
 * const img = image(new Uint8Array(3 * 32 * 32).map((_, i) => i % 251), [3, 32, 32]);
 * const a = randAugment(img, Rng.seeded(1)), b = randAugment(img, Rng.seeded(1));
 * assert(a.data.every((v, i) => v === b.data[i]));
 * ```
 */
export function randAugment(img: Image, rng: Rng, options: RandAugmentOptions = {}): Image {
  const numOps = options.numOps ?? 2;
  const bin = options.magnitude ?? 9;
  const numBins = options.numMagnitudeBins ?? 31;
  if (!Number.isInteger(bin) || bin < 0 || bin >= numBins) {
    throw new RangeError(`RandAugment magnitude ${bin} must be an integer bin in [0, ${numBins})`);
  }
  const space = cachedSpace(numBins, img.height, img.width);
  let out = img;
  for (let k = 0; k < numOps; k++) {
    const op = RAND_AUGMENT_OPS[rng.nextInt(RAND_AUGMENT_OPS.length)];
    const { magnitudes, signed } = space[op];
    let magnitude = magnitudes ? magnitudes[bin] : 0;
    if (signed && rng.nextInt(2) === 1) magnitude = -magnitude;
    out = applyRandAugmentOp(out, { op, magnitude });
  }
  return out;
}

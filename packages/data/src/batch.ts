/**
 * Batch preparation as a pure function of (dataset, indices, epoch, plan): the same inputs give the
 * same bytes, in the main thread or in a worker. Also the epoch order (seeded shuffle).
 * @module
 */

import { type Swing, writeCenteredYuvFloat } from "./color.ts";
import { grayToRgb32 } from "./color.ts";
import type { Dataset } from "./dataset.ts";
import type { Image } from "./geometry.ts";
import { Rng } from "./random.ts";
import { compose, transformedSize, type TransformSpec } from "./transforms.ts";

/** How a batch of uint8 RGB images becomes floats. */
export type CollateSpec =
  /** The seed's collate: centered YUV (`rgb2centeredYuv`) times `scale` (1/128). */
  | { readonly kind: "centeredYuv"; readonly swing: Swing; readonly scale: number }
  /** Plain `(rgb − mean[c]) / std[c]`, for float-RGB models. */
  | { readonly kind: "normalize"; readonly mean: readonly number[]; readonly std: readonly number[] };

/**
 * The seed's collate: studio-swing centered YUV divided by 128 (`rgb2centered_yuv`, then
 * `Normalize(mean=0, std=128)`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SEED_COLLATE } from "@hqat/data";
 * assert(SEED_COLLATE.kind === "centeredYuv" && SEED_COLLATE.scale === 1 / 128);
 * ```
 */
export const SEED_COLLATE: CollateSpec = Object.freeze({
  kind: "centeredYuv",
  swing: "studio",
  scale: 1 / 128,
});

/** Everything besides the data that decides a batch's contents. */
export interface BatchPlan {
  /** The seed all randomness derives from. */
  readonly seed: number;
  /** Per-image transforms, applied after grayscale images are padded to 32×32 RGB. */
  readonly transforms: readonly TransformSpec[];
  /** Float conversion (default {@linkcode SEED_COLLATE}). */
  readonly collate?: CollateSpec;
}

/** A prepared batch. */
export interface Batch {
  /** Images, `[B, 3, H, W]` float32. */
  readonly x: Float32Array;
  /** The shape of `x`: `[B, 3, H, W]`. */
  readonly shape: readonly [number, number, number, number];
  /** Labels. */
  readonly y: Int32Array;
  /** The batch's position in its epoch. */
  readonly index: number;
}

/** Stream keys separating the shuffle's randomness from the augmentation's. */
const SHUFFLE_STREAM = 1, AUGMENT_STREAM = 2;

/**
 * The per-image size a dataset has in a batch: grayscale images become 3×32×32, RGB images keep
 * their size; then the transforms (crops) apply.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { batchImageShape, FASHION_MNIST_CLASSES } from "@hqat/data";
 * const ds = { images: new Uint8Array(784), labels: new Uint8Array(1), count: 1, channels: 1,
 *   height: 28, width: 28, classes: FASHION_MNIST_CLASSES };
 * assert(batchImageShape(ds, []).join() === "3,32,32");
 * ```
 */
export function batchImageShape(ds: Dataset, specs: readonly TransformSpec[]): [number, number, number] {
  let size: [number, number];
  if (ds.channels === 1) {
    if (ds.height > 32 || ds.width > 32) {
      throw new RangeError(
        `Grayscale images of ${ds.height}x${ds.width} are larger than the 32x32 they are padded to`,
      );
    }
    size = [32, 32];
  } else if (ds.channels === 3) {
    size = [ds.height, ds.width];
  } else {
    throw new RangeError(`Batches need 1- or 3-channel images, the dataset has ${ds.channels} channels`);
  }
  const [h, w] = transformedSize(specs, size);
  return [3, h, w];
}

/**
 * The order of epoch `epoch` over `count` samples: `0..count-1`, shuffled (Fisher–Yates) by a
 * generator keyed by (seed, epoch) when `shuffle` is set. Depends on nothing else.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { epochOrder } from "@hqat/data";
 * const a = epochOrder(5, { seed: 1, epoch: 0, shuffle: true });
 * assert([...a].sort().join() === "0,1,2,3,4");
 * assert(epochOrder(3, { seed: 1, epoch: 0, shuffle: false }).join() === "0,1,2");
 * ```
 */
export function epochOrder(
  count: number,
  options: { seed: number; epoch: number; shuffle: boolean },
): Int32Array {
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (!options.shuffle) return order;
  const rng = Rng.seeded(options.seed, SHUFFLE_STREAM, options.epoch);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Which samples make the batch, and in which epoch (the augmentation depends on it). */
export interface BatchRequest {
  /** Dataset indices of the samples, in batch order. */
  readonly indices: ArrayLike<number>;
  /** The epoch, which seeds the augmentation. */
  readonly epoch: number;
  /** The batch's position in its epoch (default 0). */
  readonly index?: number;
}

/**
 * Prepares one batch: for each sample, its image (grayscale padded to 32×32 and replicated to RGB),
 * the plan's transforms with a generator keyed by (seed, epoch, sample index), and the collate
 * (by default the seed's: centered YUV / 128).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CIFAR10_CLASSES, prepareBatch } from "@hqat/data";
 * const ds = { images: new Uint8Array(2 * 3072).fill(255), labels: new Uint8Array([3, 5]), count: 2,
 *   channels: 3, height: 32, width: 32, classes: CIFAR10_CLASSES };
 * const b = prepareBatch(ds, { indices: [1, 0], epoch: 0 }, { seed: 0, transforms: [] });
 * assert(b.shape.join() === "2,3,32,32" && b.y.join() === "5,3" && b.x[0] === 107 / 128);
 * ```
 */
export function prepareBatch(ds: Dataset, request: BatchRequest, plan: BatchPlan): Batch {
  const [, h, w] = batchImageShape(ds, plan.transforms);
  const n = request.indices.length;
  const per = 3 * h * w;
  const x = new Float32Array(n * per);
  const y = new Int32Array(n);
  const apply = compose(plan.transforms);
  const collate = plan.collate ?? SEED_COLLATE;
  const size = ds.channels * ds.height * ds.width;
  for (let k = 0; k < n; k++) {
    const idx = request.indices[k];
    if (!Number.isInteger(idx) || idx < 0 || idx >= ds.count) {
      throw new RangeError(`Sample index ${idx} is out of range for a dataset of ${ds.count}`);
    }
    const raw = ds.images.subarray(idx * size, (idx + 1) * size);
    let img: Image = ds.channels === 1
      ? { data: grayToRgb32(raw, [1, ds.height, ds.width]), channels: 3, height: 32, width: 32 }
      : { data: raw, channels: 3, height: ds.height, width: ds.width };
    img = apply(img, Rng.seeded(plan.seed, AUGMENT_STREAM, request.epoch, idx));
    writeCollated(img.data, x, k * per, collate);
    y[k] = ds.labels[idx];
  }
  return { x, shape: [n, 3, h, w], y, index: request.index ?? 0 };
}

function writeCollated(src: Uint8Array, dst: Float32Array, offset: number, collate: CollateSpec): void {
  const plane = src.length / 3;
  switch (collate.kind) {
    case "centeredYuv":
      writeCenteredYuvFloat(src, dst, {
        plane,
        dstOffset: offset,
        swing: collate.swing,
        scale: collate.scale,
      });
      return;
    case "normalize":
      for (let c = 0; c < 3; c++) {
        const m = Math.fround(collate.mean[c]), s = Math.fround(collate.std[c]);
        for (let p = 0; p < plane; p++) dst[offset + c * plane + p] = Math.fround(src[c * plane + p] - m) / s;
      }
      return;
    default: {
      const never: never = collate;
      throw new TypeError(`Unknown collate ${JSON.stringify(never)}`);
    }
  }
}

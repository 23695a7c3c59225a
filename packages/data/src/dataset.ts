/**
 * The in-memory dataset record shared by the readers, the transforms and the loader.
 * @module
 */

/**
 * A labelled image dataset held in memory. Images are uint8, stored one after another, each in
 * CHW order (all of channel 0 row by row, then channel 1, …): image `i` starts at
 * `i * channels * height * width`. CIFAR-10's binary release is already CHW; Fashion-MNIST has one
 * channel, so CHW and HWC coincide.
 */
export interface Dataset {
  /** `count × channels × height × width` bytes, CHW per image. */
  readonly images: Uint8Array;
  /** One class index per image, each below `classes.length`. */
  readonly labels: Uint8Array;
  /** Number of images. */
  readonly count: number;
  /** Channels per image (1 for grayscale, 3 for RGB). */
  readonly channels: number;
  /** Image height in pixels. */
  readonly height: number;
  /** Image width in pixels. */
  readonly width: number;
  /** Class names, indexed by label. */
  readonly classes: readonly string[];
}

/**
 * Fashion-MNIST's class names, in label order.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { FASHION_MNIST_CLASSES } from "@hqat/data";
 * assert(FASHION_MNIST_CLASSES[9] === "Ankle boot");
 * ```
 */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
]);

/**
 * CIFAR-10's class names, in label order (as in `batches.meta.txt`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CIFAR10_CLASSES } from "@hqat/data";
 * assert(CIFAR10_CLASSES[0] === "airplane" && CIFAR10_CLASSES.length === 10);
 * ```
 */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
]);

/**
 * Checks that a dataset's arrays agree with its dimensions and that every label names a class;
 * throws a RangeError naming the first problem. Returns the dataset.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { checkDataset } from "@hqat/data";
 * const ds = checkDataset({
 *   images: new Uint8Array(2 * 4), labels: new Uint8Array([0, 1]), count: 2,
 *   channels: 1, height: 2, width: 2, classes: ["a", "b"],
 * });
 * assert(ds.count === 2);
 * ```
 */
export function checkDataset(ds: Dataset): Dataset {
  for (const k of ["count", "channels", "height", "width"] as const) {
    if (!Number.isSafeInteger(ds[k]) || ds[k] < 0) {
      throw new RangeError(`Invalid dataset: ${k} is ${ds[k]}, expected a non-negative integer`);
    }
  }
  const size = ds.count * ds.channels * ds.height * ds.width;
  if (ds.images.length !== size) {
    throw new RangeError(
      `Invalid dataset: ${ds.count} images of ${ds.channels}x${ds.height}x${ds.width} need ${size} bytes, ` +
        `but images has ${ds.images.length}`,
    );
  }
  if (ds.labels.length !== ds.count) {
    throw new RangeError(`Invalid dataset: ${ds.count} images but ${ds.labels.length} labels`);
  }
  for (let i = 0; i < ds.count; i++) {
    if (ds.labels[i] >= ds.classes.length) {
      throw new RangeError(
        `Invalid dataset: label ${ds.labels[i]} of image ${i} is not below ${ds.classes.length} classes`,
      );
    }
  }
  return ds;
}

/**
 * A view (no copy) of image `i` of a dataset, CHW uint8.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { imageAt } from "@hqat/data";
 * const ds = {
 *   images: new Uint8Array([1, 2, 3, 4]), labels: new Uint8Array([0, 0]), count: 2,
 *   channels: 1, height: 1, width: 2, classes: ["a"],
 * };
 * assert(imageAt(ds, 1).join() === "3,4");
 * ```
 */
export function imageAt(ds: Dataset, i: number): Uint8Array {
  if (!Number.isInteger(i) || i < 0 || i >= ds.count) {
    throw new RangeError(`Image index ${i} is out of range for a dataset of ${ds.count} images`);
  }
  const size = ds.channels * ds.height * ds.width;
  return ds.images.subarray(i * size, (i + 1) * size);
}

/**
 * The first `n` images of a dataset (views, no copy).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { takeFirst } from "@hqat/data";
 * const ds = {
 *   images: new Uint8Array([1, 2, 3]), labels: new Uint8Array([0, 1, 0]), count: 3,
 *   channels: 1, height: 1, width: 1, classes: ["a", "b"],
 * };
 * assert(takeFirst(ds, 2).labels.join() === "0,1");
 * ```
 */
export function takeFirst(ds: Dataset, n: number): Dataset {
  if (!Number.isInteger(n) || n < 0 || n > ds.count) {
    throw new RangeError(`Cannot take ${n} images from a dataset of ${ds.count}`);
  }
  const size = ds.channels * ds.height * ds.width;
  return { ...ds, count: n, images: ds.images.subarray(0, n * size), labels: ds.labels.subarray(0, n) };
}

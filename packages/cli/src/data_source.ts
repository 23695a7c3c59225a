/**
 * Data for the commands: the named data sets, the seed's train/eval loaders, and batches as tensors.
 * @module
 */
import {
  CIFAR10_CLASSES,
  createLoader,
  type Dataset,
  FASHION_MNIST_CLASSES,
  loadCifar10,
  type Loader,
  loadFashionMnist,
  transforms,
} from "@hqat/data";
import type { Batch } from "@hqat/nn";
import { fromArray } from "@hqat/tensor";
import { CliError } from "./models.ts";

const DATASET_CLASSES = { "fashion-mnist": FASHION_MNIST_CLASSES, cifar10: CIFAR10_CLASSES };

/** The most classes a head may have (ImageNet-21k has 21,841). */
const MAX_CLASSES = 100_000;

/**
 * Fails unless `n` classes are at most 100,000 and cover the labels of `dataset` (when it is one the
 * commands know).
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { checkNumClasses } from "@hqat/cli";
 * checkNumClasses(10, "fashion-mnist");
 * assertThrows(() => checkNumClasses(2, "fashion-mnist"), Error, "fewer than the 10 classes");
 * ```
 */
export function checkNumClasses(n: number, dataset: string): void {
  if (n > MAX_CLASSES) throw new CliError(`--num-classes ${n} is more than ${MAX_CLASSES}`);
  const classes = DATASET_CLASSES[dataset as keyof typeof DATASET_CLASSES]?.length;
  if (classes !== undefined && n < classes) {
    throw new CliError(
      `--num-classes ${n} is fewer than the ${classes} classes of ${dataset}: labels ${n}..${
        classes - 1
      } would have no output`,
    );
  }
}

/** Data set names the commands accept. */
export const DATASETS = ["fashion-mnist", "cifar10"] as const;

/**
 * Loads a split of a named data set.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { loadDataset } from "@hqat/cli";
 * try { await loadDataset("mnist", "test"); } catch (e) { assert(String(e).includes("Unknown data set")); }
 * ```
 */
export async function loadDataset(
  name: string,
  split: "train" | "test",
  options: { dataDir?: string; download?: boolean } = {},
): Promise<Dataset> {
  if (options.dataDir !== undefined) {
    const info = await Deno.stat(options.dataDir).catch(() => undefined);
    if (!info?.isDirectory) {
      throw new CliError(`--data-dir "${options.dataDir}" is ${info ? "not a folder" : "missing"}`, 1);
    }
  }
  const o = { split, dataDir: options.dataDir, download: options.download };
  let ds: Dataset;
  if (name === "fashion-mnist") ds = await loadFashionMnist(o);
  else if (name === "cifar10") ds = await loadCifar10(o);
  else throw new CliError(`Unknown data set "${name}"; choose one of: ${DATASETS.join(", ")}`);
  if (ds.count === 0) throw new CliError(`The ${split} split of ${name} is empty (no images)`, 1);
  return ds;
}

/** Options of {@linkcode seedLoader}. */
export interface SeedLoaderOptions {
  /** Batch size. */
  batchSize: number;
  /** Training (shuffled, augmented) or evaluation (in order). */
  train: boolean;
  /** Seed of shuffling and augmentation. */
  seed?: number;
  /** Use the first `limit` images. */
  limit?: number;
  /** Add RandAugment to the training transforms (the seed does for CIFAR-10). */
  randAugment?: boolean;
  /** Worker threads (default: the loader's). */
  workers?: number;
}

/**
 * The quick start's loader: random horizontal flip (+ RandAugment) for training, the seed's collate
 * (centered YUV / 128) for both.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { seedLoader } from "@hqat/cli";
 * assert(typeof seedLoader === "function");
 * ```
 */
export function seedLoader(ds: Dataset, options: SeedLoaderOptions): Loader {
  const t = options.train
    ? [
      transforms.randomHorizontalFlip({ p: 0.5 }),
      ...(options.randAugment ? [transforms.randAugment({})] : []),
    ]
    : [];
  return createLoader(ds, {
    batchSize: options.batchSize,
    shuffle: options.train,
    seed: options.seed ?? 0,
    limit: options.limit,
    transforms: t,
    workers: options.workers,
  });
}

/**
 * The batches of one epoch as tensors.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { tensorBatches } from "@hqat/cli";
 * assert(typeof tensorBatches === "function");
 * ```
 */
export async function* tensorBatches(
  loader: Loader,
  epoch: number,
  limitBatches?: number,
): AsyncGenerator<Batch> {
  let i = 0;
  for await (const b of loader.epoch(epoch)) {
    if (limitBatches !== undefined && i++ >= limitBatches) break;
    yield { x: fromArray(b.x, b.shape), y: fromArray(b.y, [b.y.length]) };
  }
}

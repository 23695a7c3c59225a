/**
 * The batching loader: seeded per-epoch shuffling, batching, the seed's collate, and batch
 * preparation in Web Workers that work a few batches ahead of the consumer.
 * @module
 */

import {
  type Batch,
  batchImageShape,
  type BatchPlan,
  type CollateSpec,
  epochOrder,
  prepareBatch,
} from "./batch.ts";
import { checkDataset, type Dataset, takeFirst } from "./dataset.ts";
import type { FromWorker, ToWorker } from "./loader_worker.ts";
import type { TransformSpec } from "./transforms.ts";

/** Options of {@linkcode createLoader}. */
export interface LoaderOptions {
  /** Samples per batch. */
  batchSize: number;
  /** Shuffle each epoch (default false: dataset order). */
  shuffle?: boolean;
  /** The seed of the shuffle and of the augmentation (default 0). */
  seed?: number;
  /** Use only the first `limit` samples. */
  limit?: number;
  /** Per-image transforms (default none). */
  transforms?: readonly TransformSpec[];
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** Worker threads preparing batches; 0 prepares them inline (same results bit for bit). Default:
   * up to 4, one less than the cores, where workers may be started, else 0. */
  workers?: number;
  /** Batches requested ahead of the consumer (default 2 per worker). */
  prefetch?: number;
  /** Float conversion (default the seed's: centered YUV / 128). */
  collate?: CollateSpec;
}

/** A batching loader over a dataset; iterating it runs the next epoch (0, 1, 2, …). */
export interface Loader extends AsyncIterable<Batch> {
  /** Samples per epoch (after `limit`). */
  readonly size: number;
  /** Batches per epoch. */
  readonly batches: number;
  /** Worker threads used (0: inline). */
  readonly workers: number;
  /** The sample order of epoch `k`: a function of the seed and `k` only. */
  order(k: number): Int32Array;
  /** The batches of epoch `k`. */
  epoch(k: number): AsyncIterable<Batch>;
}

const WORKER_URL = new URL("./loader_worker.ts", import.meta.url);

function workersAllowed(): boolean {
  if (WORKER_URL.protocol !== "file:") return true;
  try {
    return Deno.permissions.querySync({ name: "read", path: WORKER_URL }).state === "granted";
  } catch {
    return false;
  }
}

function defaultWorkers(): number {
  if (!workersAllowed()) return 0;
  const cores = navigator.hardwareConcurrency ?? 2;
  return Math.max(1, Math.min(4, cores - 1));
}

/** Copies the images into shared memory once, so every worker reads the same bytes. */
function sharedDataset(ds: Dataset): Dataset {
  if (ds.images.buffer instanceof SharedArrayBuffer) return ds;
  const images = new Uint8Array(new SharedArrayBuffer(ds.images.length));
  images.set(ds.images);
  return { ...ds, images, labels: ds.labels.slice(), classes: [...ds.classes] };
}

interface Pool {
  run(worker: number, msg: ToWorker & { kind: "batch" }): Promise<FromWorker>;
  close(): void;
}

function startPool(n: number, dataset: Dataset, plan: BatchPlan): Pool {
  const workers: Worker[] = [];
  const pending = new Map<number, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>();
  const failAll = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  for (let i = 0; i < n; i++) {
    const w = new Worker(WORKER_URL.href, { type: "module" });
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      const p = pending.get(e.data.id);
      pending.delete(e.data.id);
      p?.resolve(e.data);
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      failAll(new Error(`A loader worker failed: ${e.message}`));
    };
    w.postMessage({ kind: "init", dataset, plan } satisfies ToWorker);
    workers.push(w);
  }
  return {
    run(worker, msg) {
      return new Promise((resolve, reject) => {
        pending.set(msg.id, { resolve, reject });
        workers[worker].postMessage(msg);
      });
    },
    close() {
      for (const w of workers) w.terminate();
      failAll(new Error("The loader's workers were stopped"));
    },
  };
}

/**
 * Creates a loader. Each epoch visits the (first `limit`) samples once in an order that depends only
 * on `seed` and the epoch number, in batches of `batchSize`; each batch is
 * `{ x: Float32Array [B, 3, H, W], shape, y: Int32Array, index }` after the transforms and the
 * collate. With `workers > 0` the batches are prepared in Web Workers (started for each epoch and
 * stopped at its end, also when the consumer stops early), up to `prefetch` batches ahead;
 * `workers: 0` prepares them inline. Both give identical batches.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CIFAR10_CLASSES, createLoader } from "@hqat/data";
 * const ds = { images: new Uint8Array(5 * 3072), labels: new Uint8Array(5), count: 5,
 *   channels: 3, height: 32, width: 32, classes: CIFAR10_CLASSES };
 * const loader = createLoader(ds, { batchSize: 2, shuffle: true, seed: 1, workers: 0 });
 * const sizes = [];
 * for await (const b of loader.epoch(0)) sizes.push(b.shape[0]);
 * assert(sizes.join() === "2,2,1" && loader.batches === 3);
 * ```
 */
export function createLoader(dataset: Dataset, options: LoaderOptions): Loader {
  checkDataset(dataset);
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Loader batchSize ${batchSize} must be a positive integer`);
  }
  const ds = options.limit === undefined
    ? dataset
    : takeFirst(dataset, Math.min(options.limit, dataset.count));
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Loader seed ${seed} must be a safe integer`);
  const shuffle = options.shuffle ?? false;
  const plan: BatchPlan = { seed, transforms: [...(options.transforms ?? [])], collate: options.collate };
  if (
    plan.collate?.kind === "normalize" && (plan.collate.mean.length !== 3 || plan.collate.std.length !== 3)
  ) {
    throw new RangeError("A normalize collate needs three mean and three std values");
  }
  batchImageShape(ds, plan.transforms); // reject unusable shapes now, not in a worker
  const workers = options.workers ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 0) {
    throw new RangeError(`Loader workers ${workers}: expected an integer ≥ 0`);
  }
  if (workers > 0 && !workersAllowed()) {
    throw new Error(
      `Loader workers need read access to ${WORKER_URL.pathname} (--allow-read); or pass workers: 0`,
    );
  }
  const prefetch = options.prefetch ?? 2 * workers;
  const batches = options.dropLast ? Math.floor(ds.count / batchSize) : Math.ceil(ds.count / batchSize);
  let shared: Dataset | undefined;
  let nextEpoch = 0;

  const order = (k: number) => {
    if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`Epoch ${k} must be a non-negative integer`);
    return epochOrder(ds.count, { seed, epoch: k, shuffle });
  };
  const batchIndices = (ord: Int32Array, b: number) =>
    ord.subarray(b * batchSize, Math.min(ds.count, (b + 1) * batchSize));

  async function* inline(k: number): AsyncGenerator<Batch> {
    const ord = order(k);
    for (let b = 0; b < batches; b++) {
      yield prepareBatch(ds, { indices: batchIndices(ord, b), epoch: k, index: b }, plan);
    }
  }

  async function* pooled(k: number): AsyncGenerator<Batch> {
    const ord = order(k);
    shared ??= sharedDataset(ds);
    const [, h, w] = batchImageShape(ds, plan.transforms);
    const poolSize = Math.min(workers, Math.max(1, batches));
    const pool = startPool(poolSize, shared, plan);
    const inFlight = new Map<number, Promise<FromWorker>>();
    let submitted = 0;
    const fill = () => {
      while (submitted < batches && inFlight.size < Math.max(1, prefetch)) {
        const b = submitted++;
        const p = pool.run(b % poolSize, {
          kind: "batch",
          id: b,
          epoch: k,
          indices: batchIndices(ord, b).slice(),
        });
        p.catch(() => {}); // awaited below; this only marks a batch dropped by an early stop as handled
        inFlight.set(b, p);
      }
    };
    try {
      fill();
      for (let b = 0; b < batches; b++) {
        const msg = await inFlight.get(b)!;
        inFlight.delete(b);
        fill();
        if ("error" in msg) throw new Error(`Preparing batch ${b} of epoch ${k} failed: ${msg.error}`);
        yield { x: msg.x, shape: [msg.y.length, 3, h, w], y: msg.y, index: b };
      }
    } finally {
      pool.close();
    }
  }

  const epoch = (k: number): AsyncIterable<Batch> => {
    order(k); // validate k eagerly
    return { [Symbol.asyncIterator]: () => (workers > 0 ? pooled(k) : inline(k)) };
  };

  return {
    size: ds.count,
    batches,
    workers,
    order,
    epoch,
    [Symbol.asyncIterator]: () => epoch(nextEpoch++)[Symbol.asyncIterator](),
  };
}

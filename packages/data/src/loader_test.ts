import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import {
  type Batch,
  CIFAR10_CLASSES,
  createLoader,
  type Dataset,
  FASHION_MNIST_CLASSES,
  type LoaderOptions,
  prepareBatch,
  transforms,
} from "../mod.ts";

function dataset(count: number, channels: 1 | 3): Dataset {
  const size = channels === 1 ? 784 : 3072;
  return {
    images: Uint8Array.from({ length: count * size }, (_, i) => (i * 31 + Math.floor(i / size) * 17) % 256),
    labels: Uint8Array.from({ length: count }, (_, i) => (i * 7) % 10),
    count,
    channels,
    height: channels === 1 ? 28 : 32,
    width: channels === 1 ? 28 : 32,
    classes: channels === 1 ? FASHION_MNIST_CLASSES : CIFAR10_CLASSES,
  };
}

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

const train = [
  transforms.randomHorizontalFlip(),
  transforms.randomCrop(32, { padding: 4 }),
  transforms.randAugment(),
];

Deno.test("createLoader() batches an epoch in order(k), as prepareBatch() would", async () => {
  const ds = dataset(23, 3);
  const loader = createLoader(ds, { batchSize: 5, shuffle: true, seed: 9, transforms: train, workers: 0 });
  assertEquals([loader.size, loader.batches, loader.workers], [23, 5, 0]);
  const batches = await collect(loader.epoch(1));
  const order = loader.order(1);
  assertEquals(batches.map((b) => b.shape[0]), [5, 5, 5, 5, 3]);
  assertEquals(batches.map((b) => b.index), [0, 1, 2, 3, 4]);
  batches.forEach((b, k) => {
    const idx = order.subarray(5 * k, 5 * k + b.shape[0]);
    assertEquals([...b.y], [...idx].map((i) => ds.labels[i]));
    assertEquals(b.x, prepareBatch(ds, { indices: idx, epoch: 1 }, { seed: 9, transforms: train }).x);
  });
});

Deno.test("createLoader() shuffles every index exactly once per epoch, differently each epoch", () => {
  const loader = createLoader(dataset(100, 1), { batchSize: 8, shuffle: true, seed: 1, workers: 0 });
  const orders = [0, 1, 2].map((k) => loader.order(k));
  for (const o of orders) {
    assertEquals(
      [...o].sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
    );
  }
  assertNotEquals(orders[0], orders[1]);
  assertNotEquals(orders[1], orders[2]);
  // the order depends on the seed and the epoch only
  const other = createLoader(dataset(100, 1), {
    batchSize: 3,
    shuffle: true,
    seed: 1,
    workers: 0,
    dropLast: true,
  });
  assertEquals(other.order(2), orders[2]);
  assertEquals(createLoader(dataset(100, 1), { batchSize: 8, workers: 0 }).order(5)[99], 99);
});

Deno.test("createLoader() is deterministic under a seed, and the seed matters", async () => {
  const ds = dataset(12, 1);
  const opts: LoaderOptions = { batchSize: 4, shuffle: true, seed: 77, transforms: train, workers: 0 };
  const a = await collect(createLoader(ds, opts).epoch(0));
  const b = await collect(createLoader(ds, opts).epoch(0));
  assertEquals(a, b);
  const c = await collect(createLoader(ds, { ...opts, seed: 78 }).epoch(0));
  assertNotEquals(a.map((x) => x.x), c.map((x) => x.x));
});

Deno.test("createLoader() with workers gives the inline batches bit for bit", async () => {
  for (const ds of [dataset(37, 3), dataset(21, 1)]) {
    const opts: LoaderOptions = { batchSize: 4, shuffle: true, seed: 5, transforms: train, limit: 30 };
    const inline = await collect(createLoader(ds, { ...opts, workers: 0 }).epoch(3));
    const pooled = createLoader(ds, { ...opts, workers: 2, prefetch: 3 });
    assertEquals(pooled.workers, 2);
    const got = await collect(pooled.epoch(3));
    assertEquals(got.length, inline.length);
    got.forEach((b, k) => {
      assertEquals(b.shape, inline[k].shape);
      assertEquals(b.index, inline[k].index);
      assertEquals(b.y, inline[k].y);
      assertEquals(b.x, inline[k].x);
    });
  }
});

Deno.test("createLoader() stops its workers when the consumer stops early", async () => {
  const loader = createLoader(dataset(64, 3), { batchSize: 4, transforms: train, workers: 2 });
  let seen = 0;
  for await (const b of loader.epoch(0)) {
    seen += b.shape[0];
    if (seen >= 8) break;
  }
  assertEquals(seen, 8);
  // the test sanitizers fail this test if a worker or a pending message were left behind
});

Deno.test("createLoader() takes the first `limit` samples and can drop the last partial batch", async () => {
  const ds = dataset(50, 1);
  const loader = createLoader(ds, {
    batchSize: 8,
    shuffle: true,
    seed: 2,
    limit: 20,
    dropLast: true,
    workers: 0,
  });
  assertEquals([loader.size, loader.batches], [20, 2]);
  const batches = await collect(loader.epoch(0));
  assertEquals(batches.map((b) => b.shape[0]), [8, 8]);
  assert(loader.order(0).every((i) => i < 20));
  assertEquals(createLoader(ds, { batchSize: 8, limit: 500, workers: 0 }).size, 50);
});

Deno.test("createLoader() runs epochs 0, 1, 2, … when iterated directly", async () => {
  const ds = dataset(6, 3);
  const loader = createLoader(ds, { batchSize: 6, shuffle: true, seed: 4, transforms: train, workers: 0 });
  const first = await collect(loader);
  const second = await collect(loader);
  assertEquals(first[0].x, (await collect(loader.epoch(0)))[0].x);
  assertEquals(second[0].x, (await collect(loader.epoch(1)))[0].x);
  assertNotEquals(first[0].x, second[0].x);
});

Deno.test("createLoader() rejects invalid options before any work", () => {
  const ds = dataset(4, 3);
  assertThrows(() => createLoader(ds, { batchSize: 0 }), RangeError, "batchSize");
  assertThrows(() => createLoader(ds, { batchSize: 2, workers: -1 }), RangeError, "workers");
  assertThrows(() => createLoader(ds, { batchSize: 2, limit: -1 }), RangeError);
  assertThrows(() => createLoader(ds, { batchSize: 2, transforms: [transforms.randomCrop(40)] }), RangeError);
  assertThrows(() => createLoader(ds, { batchSize: 2, workers: 0 }).order(-1), RangeError, "Epoch");
  assertThrows(
    () => createLoader(ds, { batchSize: 2, collate: { kind: "normalize", mean: [0], std: [1] } }),
    RangeError,
    "three mean",
  );
});

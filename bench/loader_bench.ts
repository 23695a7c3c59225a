/**
 * Batch preparation throughput: RandAugment + horizontal flip + random crop (padding 4) and the
 * seed's collate, at batch 256 on CIFAR-shaped images. Images per second = 256 × iterations per
 * second for the single-batch cases, 8192 × for the epoch cases.
 */

import {
  CIFAR10_CLASSES,
  createLoader,
  type Dataset,
  prepareBatch,
  transforms,
} from "../packages/data/mod.ts";

const COUNT = 8192;
const BATCH = 256;
const images = new Uint8Array(COUNT * 3072);
for (let i = 0, s = 12345; i < images.length; i++) {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  images[i] = s >>> 24;
}
const ds: Dataset = {
  images,
  labels: Uint8Array.from({ length: COUNT }, (_, i) => i % 10),
  count: COUNT,
  channels: 3,
  height: 32,
  width: 32,
  classes: CIFAR10_CLASSES,
};
const train = [
  transforms.randomHorizontalFlip(),
  transforms.randomCrop(32, { padding: 4 }),
  transforms.randAugment(),
];
const indices = Int32Array.from({ length: BATCH }, (_, i) => (i * 97) % COUNT);
let epoch = 0;

Deno.bench({
  name: "prepareBatch, 256 images, flip + crop + RandAugment, inline",
  group: "batch",
  baseline: true,
  fn: () => {
    prepareBatch(ds, { indices, epoch: epoch++ }, { seed: 1, transforms: train });
  },
});

Deno.bench({
  name: "prepareBatch, 256 images, collate only, inline",
  group: "batch",
  fn: () => {
    prepareBatch(ds, { indices, epoch: 0 }, { seed: 1, transforms: [] });
  },
});

for (const workers of [0, 1, 2, 4]) {
  const loader = createLoader(ds, { batchSize: BATCH, shuffle: true, seed: 1, transforms: train, workers });
  Deno.bench({
    name: `loader epoch of ${COUNT} images, batch ${BATCH}, workers ${workers}`,
    group: "epoch",
    baseline: workers === 0,
    n: 3,
    warmup: 1,
    fn: async () => {
      let n = 0;
      for await (const b of loader) n += b.shape[0];
      if (n !== COUNT) throw new Error(`epoch saw ${n} images`);
    },
  });
}

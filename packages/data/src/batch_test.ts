import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import {
  batchImageShape,
  CIFAR10_CLASSES,
  type Dataset,
  epochOrder,
  FASHION_MNIST_CLASSES,
  grayToRgb32,
  prepareBatch,
  rgb2centeredYuv,
  transforms,
} from "../mod.ts";

const gray: Dataset = {
  images: Uint8Array.from({ length: 6 * 784 }, (_, i) => (i * 13) % 256),
  labels: new Uint8Array([0, 1, 2, 3, 4, 5]),
  count: 6,
  channels: 1,
  height: 28,
  width: 28,
  classes: FASHION_MNIST_CLASSES,
};

const rgb: Dataset = {
  images: Uint8Array.from({ length: 4 * 3072 }, (_, i) => (i * 7 + (i >> 10)) % 256),
  labels: new Uint8Array([9, 8, 7, 6]),
  count: 4,
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

Deno.test("prepareBatch() pads grayscale to 32×32 RGB and applies the seed's collate (centered YUV / 128)", () => {
  const b = prepareBatch(gray, { indices: [4, 1], epoch: 0, index: 7 }, { seed: 0, transforms: [] });
  assertEquals(b.shape, [2, 3, 32, 32]);
  assertEquals([...b.y], [4, 1]);
  assertEquals(b.index, 7);
  const want = rgb2centeredYuv(grayToRgb32(gray.images.subarray(4 * 784, 5 * 784), [1, 28, 28]), [3, 32, 32]);
  assertEquals(b.x.subarray(0, 3072), Float32Array.from(want, (v) => v / 128));
  // padding is black: studio Y 16 → (16 − 128) / 128
  assertEquals(b.x[0], -112 / 128);
});

Deno.test("prepareBatch() augments each sample by (seed, epoch, index), whatever the batch", () => {
  const plan = { seed: 3, transforms: train };
  const a = prepareBatch(rgb, { indices: [0, 1, 2, 3], epoch: 2 }, plan);
  const b = prepareBatch(rgb, { indices: [2], epoch: 2 }, plan);
  assertEquals(a.x.subarray(2 * 3072, 3 * 3072), b.x);
  const c = prepareBatch(rgb, { indices: [0, 1, 2, 3], epoch: 3 }, plan);
  assertNotEquals(a.x, c.x);
  const d = prepareBatch(rgb, { indices: [0, 1, 2, 3], epoch: 2 }, { ...plan, seed: 4 });
  assertNotEquals(a.x, d.x);
  assertEquals(prepareBatch(rgb, { indices: [0, 1, 2, 3], epoch: 2 }, plan).x, a.x);
});

Deno.test("prepareBatch() with a normalize collate gives (rgb − mean) / std", () => {
  const b = prepareBatch(rgb, { indices: [1], epoch: 0 }, {
    seed: 0,
    transforms: [],
    collate: { kind: "normalize", mean: [0, 0, 0], std: [255, 255, 255] },
  });
  assertEquals(b.x[5], Math.fround(rgb.images[3072 + 5] / 255));
});

Deno.test("prepareBatch() rejects out-of-range indices and unusable images", () => {
  assertThrows(
    () => prepareBatch(rgb, { indices: [4], epoch: 0 }, { seed: 0, transforms: [] }),
    RangeError,
    "out of range",
  );
  assertThrows(
    () => batchImageShape({ ...gray, channels: 2, images: new Uint8Array(6 * 2 * 784) }, []),
    RangeError,
  );
  assertEquals(batchImageShape(rgb, [transforms.randomCrop(24)]), [3, 24, 24]);
});

Deno.test("epochOrder() is a permutation that depends only on seed and epoch", () => {
  const a = epochOrder(1000, { seed: 5, epoch: 3, shuffle: true });
  assertEquals([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assertEquals(epochOrder(1000, { seed: 5, epoch: 3, shuffle: true }), a);
  assertNotEquals(epochOrder(1000, { seed: 5, epoch: 4, shuffle: true }), a);
  assertNotEquals(epochOrder(1000, { seed: 6, epoch: 3, shuffle: true }), a);
  // a shuffle moves most elements
  assert(a.filter((v, i) => v === i).length < 20);
});

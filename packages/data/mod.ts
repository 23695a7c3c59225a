/**
 * Data for hqat: Fashion-MNIST and CIFAR-10 readers, the seed's color conversions
 * (`rgb2centeredYuv` …), torchvision-exact transforms (flip, crop, RandAugment), a seeded splittable
 * generator, and a batching loader that prepares batches in workers.
 *
 * Images are uint8 in CHW order throughout; batches are `Float32Array`s of shape `[B, 3, H, W]`.
 * @module
 */

export * from "./src/random.ts";
export * from "./src/dataset.ts";
export * from "./src/gzip.ts";
export * from "./src/idx.ts";
export * from "./src/tar.ts";
export * from "./src/data_dirs.ts";
export * from "./src/download.ts";
export * from "./src/fashion_mnist.ts";
export * from "./src/cifar10.ts";
export * from "./src/color.ts";
export * from "./src/geometry.ts";
export * from "./src/image_ops.ts";
export * from "./src/rand_augment.ts";
export * from "./src/transforms.ts";
export * from "./src/batch.ts";
export * from "./src/loader.ts";

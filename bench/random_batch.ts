/**
 * The random MobileNetV2 batch the speed benchmarks time: normal images of 3×32×32 and labels in 0..9.
 * @module
 */
import { cast, mul, randomKey, randomNormal, randomUniform, type Tensor } from "@hqat/tensor";

/**
 * A batch of `n` random images and labels from `seed` (labels use `seed + 1`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { randomBatch } from "./random_batch.ts";
 * const { x, y } = randomBatch(2, 0);
 * assert(x.shape.join() === "2,3,32,32" && y.dtype === "int32");
 * ```
 */
export function randomBatch(n: number, seed: number): { x: Tensor; y: Tensor } {
  const x = randomNormal(randomKey(seed), [n, 3, 32, 32]);
  const y = cast(mul(randomUniform(randomKey(seed + 1), [n]), 10), "int32");
  return { x, y };
}

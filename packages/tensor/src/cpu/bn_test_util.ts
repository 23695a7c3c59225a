/**
 * Random batch-norm statistics and parameters, for the tests of the fused inference convolutions.
 * @module
 */
import { randomKey, randomNormal, randomUniform } from "@hqat/tensor";

/**
 * A batch norm over `channels` channels with random running statistics and parameters from `seed`: means and
 * γ, β normal, variances uniform in `variance` (default [0.05, 3]), eps 1e-5.
 */
export function randomBatchNorm(channels: number, seed: number, variance = { min: 0.05, max: 3 }) {
  const k = (i: number) => randomKey(seed * 16 + i);
  return {
    mean: randomNormal(k(1), [channels]),
    variance: randomUniform(k(2), [channels], variance),
    gamma: randomNormal(k(3), [channels]),
    beta: randomNormal(k(4), [channels]),
    eps: 1e-5,
  };
}

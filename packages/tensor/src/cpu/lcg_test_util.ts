/**
 * Reproducible data for the CPU kernels' tests and benches.
 * @module
 */

/** `size` floats in [−1, 1) from a linear congruential generator seeded with `seed`. */
export function lcgFloats(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Seeded, splittable randomness. A {@linkcode RandomKey} is a value: the same key always gives the
 * same numbers, and `splitKey` derives independent keys, so results never depend on call order.
 * @module
 */
import { philox } from "./cpu/philox.ts";
import { apply1 } from "./engine.ts";
import { less } from "./math.ts";
import { checkShape, type Shape } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

/** A key for the counter-based generator. */
export interface RandomKey {
  /** First 32-bit word. */
  readonly k0: number;
  /** Second 32-bit word. */
  readonly k1: number;
}

/**
 * A key from an integer seed.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { randomKey } from "@hqat/tensor";
 * const k = randomKey(42);
 * assert(k.k0 === randomKey(42).k0);
 * ```
 */
export function randomKey(seed: number): RandomKey {
  if (!Number.isFinite(seed)) throw new RangeError(`randomKey(): seed must be a finite number, got ${seed}`);
  const out = new Uint32Array(2);
  philox(seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0, 0x2545f491, out);
  return { k0: out[0], k1: out[1] };
}

/**
 * Derives `n` independent keys.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { randomKey, splitKey } from "@hqat/tensor";
 * const [a, b] = splitKey(randomKey(0));
 * assert(a.k0 !== b.k0 || a.k1 !== b.k1);
 * ```
 */
export function splitKey(key: RandomKey, n = 2): RandomKey[] {
  const out = new Uint32Array(2);
  const keys: RandomKey[] = [];
  for (let i = 0; i < n; i++) {
    philox(i, key.k1 ^ 0x9e3779b9, key.k0 ^ 0x85ebca6b, out);
    keys.push({ k0: out[0], k1: out[1] });
  }
  return keys;
}

/**
 * Derives a key from `key` and an integer (an epoch, a step, a layer index).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { foldIn, randomKey } from "@hqat/tensor";
 * assert(foldIn(randomKey(1), 5).k0 === foldIn(randomKey(1), 5).k0);
 * ```
 */
export function foldIn(key: RandomKey, data: number): RandomKey {
  const out = new Uint32Array(2);
  philox(data >>> 0, key.k1, key.k0 ^ 0xc2b2ae35, out);
  return { k0: out[0], k1: out[1] };
}

/**
 * Uniform float32 values in [0, 1) (or [min, max)).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { randomKey, randomUniform } from "@hqat/tensor";
 * const u = randomUniform(randomKey(0), [1000]);
 * assert(u.toArray().every((v) => v >= 0 && v < 1));
 * ```
 */
export function randomUniform(
  key: RandomKey,
  shape: Shape,
  options: { min?: number; max?: number } = {},
): Tensor {
  checkShape(shape);
  const u = apply1("randomUniform", [], { shape: [...shape], k0: key.k0, k1: key.k1 });
  const { min = 0, max = 1 } = options;
  if (min === 0 && max === 1) return u;
  const d = new Float32Array(u.data as Float32Array);
  for (let i = 0; i < d.length; i++) d[i] = min + (max - min) * d[i];
  return new (u.constructor as typeof Tensor)(d, u.shape);
}

/**
 * Standard normal float32 values (times `std`, plus `mean`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const z = randomNormal(randomKey(0), [2, 3]);
 * assert(z.shape.join() === "2,3");
 * ```
 */
export function randomNormal(
  key: RandomKey,
  shape: Shape,
  options: { mean?: number; std?: number } = {},
): Tensor {
  checkShape(shape);
  const z = apply1("randomNormal", [], { shape: [...shape], k0: key.k0, k1: key.k1 });
  const { mean = 0, std = 1 } = options;
  if (mean === 0 && std === 1) return z;
  const d = new Float32Array(z.data as Float32Array);
  for (let i = 0; i < d.length; i++) d[i] = mean + std * d[i];
  return new (z.constructor as typeof Tensor)(d, z.shape);
}

/**
 * A uint8 mask that is 1 with probability `p`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { bernoulli, randomKey } from "@hqat/tensor";
 * const m = bernoulli(randomKey(3), 0.5, [100]);
 * assert(m.dtype === "uint8");
 * ```
 */
export function bernoulli(key: RandomKey, p: number, shape: Shape): Tensor {
  return less(randomUniform(key, shape), p);
}

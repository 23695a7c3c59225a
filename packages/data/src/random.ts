/**
 * A small, fast, seeded and splittable pseudo-random generator (xoshiro128**), so that data order and
 * augmentation are reproducible from one integer seed.
 * @module
 */

/** Mixes one 32-bit word (the finalizer of MurmurHash3); a bijection on uint32. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const GOLDEN = 0x9e3779b9;

/** Splits a non-negative safe integer or any integer-valued number into two 32-bit words. */
function words(n: number, what: string): [number, number] {
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`Invalid ${what} ${n}: expected a safe integer`);
  }
  const lo = n >>> 0;
  const hi = Math.floor(n / 4294967296) >>> 0;
  return [lo, hi];
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * A xoshiro128** generator. It is a stateful object on purpose: each draw advances it. Streams made by
 * {@linkcode Rng.seeded} with different keys, or by {@linkcode Rng.split}, are statistically independent.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Rng } from "@hqat/data";
 * const a = Rng.seeded(7), b = Rng.seeded(7);
 * assert(a.nextUint32() === b.nextUint32());
 * const child = a.split();
 * assert(child.nextInt(10) < 10);
 * ```
 */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  private constructor(s0: number, s1: number, s2: number, s3: number) {
    if ((s0 | s1 | s2 | s3) === 0) s0 = GOLDEN;
    this.#s0 = s0 >>> 0;
    this.#s1 = s1 >>> 0;
    this.#s2 = s2 >>> 0;
    this.#s3 = s3 >>> 0;
  }

  /**
   * A generator for `seed` and an optional stream key: the same seed and key always give the same
   * sequence; different keys give independent sequences (e.g. `Rng.seeded(seed, epoch, index)`).
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Rng } from "@hqat/data";
   * assert(Rng.seeded(1, 2).nextUint32() !== Rng.seeded(1, 3).nextUint32());
   * ```
   */
  static seeded(seed: number, ...key: number[]): Rng {
    let h = 0x3c6ef372;
    const absorb = (w: number) => {
      h = fmix32((h ^ w) + GOLDEN);
      h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
    };
    for (const w of words(seed, "seed")) absorb(w);
    absorb(key.length);
    for (const k of key) for (const w of words(k, "stream key")) absorb(w);
    const s: number[] = [];
    for (let i = 0; i < 4; i++) {
      h = (h + GOLDEN) >>> 0;
      s.push(fmix32(h));
    }
    return new Rng(s[0], s[1], s[2], s[3]);
  }

  /**
   * A generator with the given raw state (four uint32 words, not all zero), as in the reference
   * xoshiro128** code.
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Rng } from "@hqat/data";
   * assert(Rng.fromState([1, 2, 3, 4]).nextUint32() === 11520);
   * ```
   */
  static fromState(state: readonly [number, number, number, number]): Rng {
    for (const w of state) {
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
        throw new RangeError(`Invalid xoshiro128** state [${state.join(",")}]: words must be uint32`);
      }
    }
    if (state.every((w) => w === 0)) {
      throw new RangeError("Invalid xoshiro128** state [0,0,0,0]: it must not be all zero");
    }
    return new Rng(state[0], state[1], state[2], state[3]);
  }

  /**
   * The next uniformly distributed uint32.
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Rng } from "@hqat/data";
   * const u = Rng.seeded(0).nextUint32();
   * assert(Number.isInteger(u) && u >= 0 && u < 2 ** 32);
   * ```
   */
  nextUint32(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    this.#s0 >>>= 0;
    this.#s1 >>>= 0;
    this.#s2 >>>= 0;
    return result;
  }

  /**
   * A uniform float in [0, 1) with 32 random bits.
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Rng } from "@hqat/data";
   * const x = Rng.seeded(3).nextFloat();
   * assert(x >= 0 && x < 1);
   * ```
   */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * A uniform integer in [0, n), without modulo bias (n ≤ 2^32).
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Rng } from "@hqat/data";
   * const k = Rng.seeded(3).nextInt(6);
   * assert(k >= 0 && k < 6);
   * ```
   */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
      throw new RangeError(`Invalid range ${n} for nextInt: expected an integer in [1, 2^32]`);
    }
    // Reject the top partial block of the uint32 range so every residue is equally likely.
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const u = this.nextUint32();
      if (u < limit) return u % n;
    }
  }

  /**
   * A new generator whose stream is independent of this one's; advances this generator.
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Rng } from "@hqat/data";
   * const parent = Rng.seeded(5);
   * const a = parent.split(), b = parent.split();
   * assert(a.nextUint32() !== b.nextUint32());
   * ```
   */
  split(): Rng {
    const s: number[] = [];
    for (let i = 0; i < 4; i++) s.push(fmix32((this.nextUint32() ^ Math.imul(i + 1, GOLDEN)) >>> 0));
    return new Rng(s[0], s[1], s[2], s[3]);
  }

  /**
   * A copy in the same state (both then produce the same sequence).
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { Rng } from "@hqat/data";
   * const a = Rng.seeded(9);
   * assert(a.clone().nextUint32() === a.nextUint32());
   * ```
   */
  clone(): Rng {
    return new Rng(this.#s0, this.#s1, this.#s2, this.#s3);
  }
}

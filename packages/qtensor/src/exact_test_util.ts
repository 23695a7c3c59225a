/**
 * Exact rational arithmetic on BigInt, the independent reference that the tests compare against.
 * Every finite float64 is `num / den` with `den` a power of two.
 * @module
 */

/** An exact rational `num / den` with `den > 0`. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

/** The exact value of a finite float64. */
export function exact(v: number): Rational {
  if (!Number.isFinite(v)) throw new RangeError(`exact(): ${v} is not finite`);
  if (v === 0) return { num: 0n, den: 1n };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & 0xfffffffffffffn;
  let e: number;
  if (biased === 0) {
    e = -1074;
  } else {
    mant |= 1n << 52n;
    e = biased - 1075;
  }
  return e >= 0 ? { num: sign * (mant << BigInt(e)), den: 1n } : { num: sign * mant, den: 1n << BigInt(-e) };
}

/** `a · b`. */
export function mul(a: Rational, b: Rational): Rational {
  return { num: a.num * b.num, den: a.den * b.den };
}

/** `a / b` (b ≠ 0). */
export function div(a: Rational, b: Rational): Rational {
  if (b.num === 0n) throw new RangeError("div(): division by zero");
  const s = b.num < 0n ? -1n : 1n;
  return { num: a.num * b.den * s, den: a.den * b.num * s };
}

/** `a + b`. */
export function add(a: Rational, b: Rational): Rational {
  return { num: a.num * b.den + b.num * a.den, den: a.den * b.den };
}

/** An integer as a rational. */
export function int(n: bigint | number): Rational {
  return { num: BigInt(n), den: 1n };
}

/** `floor(a / b)` for BigInt with b > 0. */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** `floor(r)`. */
export function floorR(r: Rational): bigint {
  return floorDiv(r.num, r.den);
}

/** Round half to even of an exact rational. */
export function roundHalfEvenR(r: Rational): bigint {
  const f = floorDiv(r.num, r.den);
  const rem2 = 2n * (r.num - f * r.den); // 2 · fractional part · den, in [0, 2 den)
  if (rem2 > r.den) return f + 1n;
  if (rem2 < r.den) return f;
  return f % 2n === 0n ? f : f + 1n;
}

/** `floor(r + 1/2)` of an exact rational. */
export function roundHalfUpR(r: Rational): bigint {
  return floorDiv(2n * r.num + r.den, 2n * r.den);
}

/** Compares two rationals: -1, 0 or 1. */
export function cmp(a: Rational, b: Rational): number {
  const l = a.num * b.den, r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** `|a - b|` as a float64 (approximate; for tolerances). */
export function distance(a: Rational, b: Rational): number {
  const d = add(a, { num: -b.num, den: b.den });
  return Math.abs(toNumber(d));
}

/** The nearest float64 of a rational (approximate). */
export function toNumber(r: Rational): number {
  // Scale down large operands so that Number() does not overflow.
  let { num, den } = r;
  while (num > 1n << 1000n || num < -(1n << 1000n) || den > 1n << 1000n) {
    num >>= 64n;
    den >>= 64n;
    if (den === 0n) return num >= 0n ? Infinity : -Infinity;
  }
  return Number(num) / Number(den);
}

/** Clamps a BigInt to `[lo, hi]`. */
export function clampBig(v: bigint, lo: number, hi: number): number {
  return Number(v < BigInt(lo) ? BigInt(lo) : v > BigInt(hi) ? BigInt(hi) : v);
}

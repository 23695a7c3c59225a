/**
 * Bit-exact conversions between float32 and the 16-bit float formats: IEEE binary16 (`F16`) and bfloat16
 * (`BF16`). Narrowing rounds to nearest, ties to even; widening is exact, including subnormals, infinities
 * and NaN payloads (the array forms keep every bit; the scalar forms return a JavaScript number, whose NaN
 * carries no payload).
 * @module
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 bits of a binary16 bit pattern (exact). */
function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: shift the leading one up to the hidden-bit position.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** binary16 bits of float32 bits, rounded to nearest, ties to even. */
function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 0x200 : payload);
  }
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    const rest = mant & 0x1fff;
    let h = sign | ((e + 15) << 10) | (mant >>> 13);
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry may reach infinity: correct
    return h;
  }
  if (e < -25) return sign;
  // Result is subnormal (or rounds up to the smallest normal): units of 2^-24.
  const full = mant | 0x800000;
  const shift = -e - 1; // 14..24
  let h = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++;
  return sign | h;
}

/** bfloat16 bits of float32 bits, rounded to nearest, ties to even; NaN stays NaN. */
function f32BitsToBf16(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
    const top = x >>> 16;
    return (top & 0x7f) === 0 ? top | 0x40 : top;
  }
  return ((x >>> 0) + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

/**
 * The float32 value of a binary16 bit pattern (the low 16 bits of `bits`).
 *
 * @example
 * ```ts
 * import { f16BitsToNumber } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(f16BitsToNumber(0x3c00) === 1);
 * assert(f16BitsToNumber(0x0001) === 2 ** -24); // smallest subnormal
 * assert(f16BitsToNumber(0xfc00) === -Infinity);
 * ```
 */
export function f16BitsToNumber(bits: number): number {
  u32[0] = f16ToF32Bits(bits & 0xffff);
  return f32[0];
}

/**
 * The binary16 bit pattern nearest to `value` (first rounded to float32), ties to even; values beyond
 * 65520 become infinity.
 *
 * @example
 * ```ts
 * import { numberToF16Bits } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(numberToF16Bits(1) === 0x3c00);
 * assert(numberToF16Bits(1 + 2 ** -11) === 0x3c00); // a tie goes to the even neighbour
 * assert(numberToF16Bits(65520) === 0x7c00);
 * ```
 */
export function numberToF16Bits(value: number): number {
  f32[0] = value;
  return f32BitsToF16(u32[0]);
}

/**
 * The float32 value of a bfloat16 bit pattern (the low 16 bits of `bits`).
 *
 * @example
 * ```ts
 * import { bf16BitsToNumber } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(bf16BitsToNumber(0x3f80) === 1);
 * assert(bf16BitsToNumber(0xc020) === -2.5);
 * ```
 */
export function bf16BitsToNumber(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/**
 * The bfloat16 bit pattern nearest to `value` (first rounded to float32), ties to even.
 *
 * @example
 * ```ts
 * import { numberToBf16Bits } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(numberToBf16Bits(1) === 0x3f80);
 * assert(numberToBf16Bits(1 + 2 ** -8) === 0x3f80); // a tie goes to the even neighbour
 * ```
 */
export function numberToBf16Bits(value: number): number {
  f32[0] = value;
  return f32BitsToBf16(u32[0]);
}

/**
 * Widens binary16 bit patterns to float32, bit for bit (NaN payloads kept).
 *
 * @example
 * ```ts
 * import { f16ToFloat32 } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const out = f16ToFloat32(new Uint16Array([0x3c00, 0xc000]));
 * assert(out[0] === 1 && out[1] === -2);
 * ```
 */
export function f16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = f16ToF32Bits(bits[i]);
  return out;
}

/**
 * Narrows float32 values to binary16 bit patterns, rounding to nearest, ties to even.
 *
 * @example
 * ```ts
 * import { float32ToF16 } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const bits = float32ToF16(new Float32Array([1, 70000]));
 * assert(bits[0] === 0x3c00 && bits[1] === 0x7c00);
 * ```
 */
export function float32ToF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const inBits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToF16(inBits[i]);
  return out;
}

/**
 * Widens bfloat16 bit patterns to float32, bit for bit.
 *
 * @example
 * ```ts
 * import { bf16ToFloat32 } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(bf16ToFloat32(new Uint16Array([0x4049]))[0] === 3.140625);
 * ```
 */
export function bf16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
  return out;
}

/**
 * Narrows float32 values to bfloat16 bit patterns, rounding to nearest, ties to even.
 *
 * @example
 * ```ts
 * import { float32ToBf16 } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(float32ToBf16(new Float32Array([Math.PI]))[0] === 0x4049);
 * ```
 */
export function float32ToBf16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const inBits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToBf16(inBits[i]);
  return out;
}

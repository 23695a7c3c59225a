import { assertEquals, assertStrictEquals } from "@std/assert";
import fc from "fast-check";
import {
  bf16BitsToNumber,
  bf16ToFloat32,
  f16BitsToNumber,
  f16ToFloat32,
  float32ToBf16,
  float32ToF16,
  numberToBf16Bits,
  numberToF16Bits,
} from "./float16.ts";

const ALL_16 = Uint16Array.from({ length: 65536 }, (_, i) => i);

function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

function floatOfBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

Deno.test("f16ToFloat32() widens every binary16 pattern to the value Float16Array gives", () => {
  const oracle = new Float16Array(ALL_16.buffer);
  const widened = f16ToFloat32(ALL_16);
  for (let h = 0; h < 65536; h++) {
    if (isNaN16(h)) {
      assertStrictEquals(Number.isNaN(widened[h]), true, `pattern ${h}`);
    } else {
      assertStrictEquals(Object.is(widened[h], oracle[h]), true, `pattern 0x${h.toString(16)}`);
    }
    assertStrictEquals(Object.is(f16BitsToNumber(h), widened[h]) || isNaN16(h), true);
  }
});

Deno.test("f16ToFloat32() keeps NaN payloads and float32ToF16() brings every pattern back", () => {
  const widened = f16ToFloat32(ALL_16);
  const bits = bitsOf(widened);
  for (let h = 0; h < 65536; h++) {
    if (isNaN16(h)) {
      assertStrictEquals(bits[h], (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0);
    }
  }
  assertEquals(float32ToF16(widened), ALL_16);
});

Deno.test("float32ToF16() rounds every tie between neighbours to the even one", () => {
  for (let h = 0; h < 0x7bff; h++) {
    for (const sign of [0, 0x8000]) {
      const lo = f16BitsToNumber(h | sign);
      const hi = f16BitsToNumber((h + 1) | sign);
      const mid = Math.fround((lo + hi) / 2); // exact: 12 significant bits
      const even = (h & 1) === 0 ? h : h + 1;
      assertStrictEquals(numberToF16Bits(mid), even | sign, `tie after 0x${h.toString(16)}`);
      const midBits = bitsOf(new Float32Array([mid]))[0];
      const below = floatOfBits(midBits - 1);
      const above = floatOfBits(midBits + 1);
      const [toLo, toHi] = Math.abs(below) < Math.abs(above) ? [below, above] : [above, below];
      assertStrictEquals(numberToF16Bits(toLo), h | sign);
      assertStrictEquals(numberToF16Bits(toHi), (h + 1) | sign);
    }
  }
  // Past the largest finite value (65504) the tie with 65536 rounds to infinity.
  assertStrictEquals(numberToF16Bits(65519.99), 0x7bff);
  assertStrictEquals(numberToF16Bits(65520), 0x7c00);
  assertStrictEquals(numberToF16Bits(-1e10), 0xfc00);
  assertStrictEquals(numberToF16Bits(2 ** -25), 0);
  assertStrictEquals(numberToF16Bits(-(2 ** -25) * 1.0000001), 0x8001);
});

Deno.test("float32ToF16() agrees with Math.f16round on random float32 values", () => {
  fc.assert(
    fc.property(fc.float({ noNaN: true }), (x) => {
      const viaArray = f16ToFloat32(float32ToF16(new Float32Array([x])))[0];
      return Object.is(viaArray, Math.f16round(x)) &&
        Object.is(f16BitsToNumber(numberToF16Bits(x)), viaArray);
    }),
    { seed: 42, numRuns: 5000 },
  );
});

Deno.test("float32ToBf16() rounds to the nearest bfloat16, ties to even", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
      const x = floatOfBits(bits);
      const b = numberToBf16Bits(x);
      const r = bf16BitsToNumber(b);
      if (Number.isNaN(x)) return Number.isNaN(r) && (b & 0x8000) === (bits >>> 16 & 0x8000);
      if (!Number.isFinite(x)) return r === x;
      // The candidates are the truncation and the next pattern away from zero.
      const down = bf16BitsToNumber(bits >>> 16);
      const up = bf16BitsToNumber((bits >>> 16) + 1);
      const upValue = Number.isFinite(up) ? up : Math.sign(x) * 2 ** 128; // unbounded exponent
      const dDown = Math.abs(x - down);
      const dUp = Math.abs(upValue - x);
      const expected = dDown < dUp ? down : dUp < dDown ? up : ((bits >>> 16) & 1) === 0 ? down : up;
      return Object.is(r, expected);
    }),
    { seed: 42, numRuns: 5000 },
  );
  assertStrictEquals(numberToBf16Bits(3.4028234663852886e38), 0x7f80); // rounds past the largest bfloat16
  assertStrictEquals(numberToBf16Bits(floatOfBits(0x7f7f8000)), 0x7f80); // a tie with 2^128: to even
  assertStrictEquals(numberToBf16Bits(floatOfBits(0x7f7e8000)), 0x7f7e);
  assertStrictEquals(numberToBf16Bits(floatOfBits(0x7fc00001)), 0x7fc0); // NaN stays NaN
  assertStrictEquals(numberToBf16Bits(floatOfBits(0xff800001)), 0xffc0);
});

Deno.test("bf16ToFloat32() widens exactly and float32ToBf16() brings every pattern back", () => {
  const widened = bf16ToFloat32(ALL_16);
  const bits = bitsOf(widened);
  for (let b = 0; b < 65536; b++) assertStrictEquals(bits[b], (b << 16) >>> 0);
  assertEquals(float32ToBf16(widened), ALL_16);
});

Deno.test("float32ToF16() and float32ToBf16() match PyTorch's conversions", async () => {
  const golden = JSON.parse(
    await Deno.readTextFile(new URL("../testdata/conversions.json", import.meta.url)),
  );
  const input = new Float32Array(new Uint32Array(golden.f32_bits).buffer);
  const f16 = float32ToF16(input);
  const bf16 = float32ToBf16(input);
  for (let i = 0; i < input.length; i++) {
    if (Number.isNaN(input[i])) {
      assertStrictEquals(isNaN16(f16[i]), true);
      assertStrictEquals(Number.isNaN(bf16BitsToNumber(bf16[i])), true);
    } else {
      assertStrictEquals(f16[i], golden.f16_bits[i], `float16 of 0x${golden.f32_bits[i].toString(16)}`);
      assertStrictEquals(bf16[i], golden.bf16_bits[i], `bfloat16 of 0x${golden.f32_bits[i].toString(16)}`);
    }
  }
});

Deno.test("float32ToF16() reads a Float32Array that is a view at an offset", () => {
  const backing = new Float32Array([9, 1, -2, 9]);
  assertEquals(float32ToF16(backing.subarray(1, 3)), new Uint16Array([0x3c00, 0xc000]));
  assertEquals(float32ToBf16(backing.subarray(1, 3)), new Uint16Array([0x3f80, 0xc000]));
});

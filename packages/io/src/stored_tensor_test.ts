import { assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  checkStoredTensor,
  fromFloat32,
  isStoredDType,
  shapeSize,
  STORED_DTYPES,
  type StoredDType,
  type StoredTensor,
  toFloat32,
} from "./stored_tensor.ts";

const DTYPES = Object.keys(STORED_DTYPES) as StoredDType[];

Deno.test("shapeSize() multiplies dimensions and refuses bad or overflowing shapes", () => {
  assertStrictEquals(shapeSize([4, 3, 3, 3]), 108);
  assertStrictEquals(shapeSize([0, 5]), 0);
  assertStrictEquals(shapeSize([]), 1);
  assertStrictEquals(shapeSize([-1, 2]), undefined);
  assertStrictEquals(shapeSize([1.5]), undefined);
  assertStrictEquals(shapeSize(["3"]), undefined);
  assertStrictEquals(shapeSize([2 ** 26, 2 ** 26]), 2 ** 52);
  assertStrictEquals(shapeSize([2 ** 26, 2 ** 26], 4), undefined); // 2^54 bytes
  assertStrictEquals(shapeSize([2 ** 30, 2 ** 30, 0]), undefined); // overflow is caught before the zero
});

Deno.test("isStoredDType() accepts exactly the ten stored dtypes", () => {
  for (const d of DTYPES) assertStrictEquals(isStoredDType(d), true);
  for (const d of ["U16", "U32", "f32", "", "toString", "__proto__", 3, null]) {
    assertStrictEquals(isStoredDType(d), false);
  }
});

Deno.test("checkStoredTensor() rejects a wrong array type, a bad shape and a size mismatch", () => {
  assertThrows(
    () => checkStoredTensor({ dtype: "F16", shape: [1], data: new Float32Array(1) }, "w"),
    TypeError,
    "w has dtype F16, whose data must be a Uint16Array",
  );
  assertThrows(
    () => checkStoredTensor({ dtype: "X" as StoredDType, shape: [1], data: new Float32Array(1) }),
    TypeError,
    'unknown dtype "X"',
  );
  assertThrows(
    () => checkStoredTensor({ dtype: "U8", shape: [-1], data: new Uint8Array(1) }),
    RangeError,
    "dimensions must be non-negative integers",
  );
  assertThrows(
    () => checkStoredTensor({ dtype: "U8", shape: [2, 2], data: new Uint8Array(3) }),
    RangeError,
    "shape [2,2] of 4 elements but 3 values",
  );
});

Deno.test("toFloat32() converts every dtype to float32 values", () => {
  const cases: [StoredTensor, number[]][] = [
    [{ dtype: "F32", shape: [2], data: new Float32Array([1.5, -0]) }, [1.5, -0]],
    [{ dtype: "F64", shape: [2], data: new Float64Array([1 / 3, 1e300]) }, [Math.fround(1 / 3), Infinity]],
    [{ dtype: "F16", shape: [3], data: new Uint16Array([0x0001, 0x7bff, 0xfc00]) }, [
      2 ** -24,
      65504,
      -Infinity,
    ]],
    [{ dtype: "BF16", shape: [2], data: new Uint16Array([0x0001, 0xc020]) }, [2 ** -133, -2.5]],
    [{ dtype: "I32", shape: [2], data: new Int32Array([16777217, -5]) }, [16777216, -5]],
    [{ dtype: "I16", shape: [1], data: new Int16Array([-32768]) }, [-32768]],
    [{ dtype: "I8", shape: [1], data: new Int8Array([-128]) }, [-128]],
    [{ dtype: "U8", shape: [1], data: new Uint8Array([255]) }, [255]],
    [{ dtype: "BOOL", shape: [3], data: new Uint8Array([0, 1, 2]) }, [0, 1, 1]],
    // 2^60 + 2^36 + 1 lies just above a float32 tie: a double rounding (via float64) would go down.
    [
      {
        dtype: "I64",
        shape: [4],
        data: new BigInt64Array([2n ** 60n + 2n ** 36n + 1n, -(2n ** 63n), 7n, -1n]),
      },
      [2 ** 60 + 2 ** 37, -(2 ** 63), 7, -1],
    ],
  ];
  for (const [stored, expected] of cases) {
    assertEquals([...toFloat32(stored)], expected, stored.dtype);
  }
});

Deno.test("toFloat32() returns a copy, never the stored array", () => {
  const data = new Float32Array([1, 2]);
  const out = toFloat32({ dtype: "F32", shape: [2], data });
  out[0] = 9;
  assertStrictEquals(data[0], 1);
});

const intRange: Record<string, [number, number]> = {
  I64: [-(2 ** 63), 2 ** 62],
  I32: [-(2 ** 31), 2 ** 31 - 128],
  I16: [-32768, 32767],
  I8: [-128, 127],
  U8: [0, 255],
  BOOL: [0, 1],
};

Deno.test("fromFloat32() round-trips through toFloat32() for every dtype", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...DTYPES),
      fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
      fc.infiniteStream(fc.float({ noNaN: true })),
      (dtype, shape, stream) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const source = [...stream.take(n)];
        const values = new Float32Array(source.map((v) => {
          const range = intRange[dtype];
          if (range === undefined) return v;
          return Math.fround(Math.min(range[1], Math.max(range[0], Math.round(v)))) + 0; // no -0 in integers
        }));
        const stored = fromFloat32(values, shape, { dtype });
        checkStoredTensor(stored);
        const back = toFloat32(stored);
        for (let i = 0; i < n; i++) {
          if (dtype === "BF16") {
            // Within half a bfloat16 step (8 significant bits; subnormal below 2^-126), or overflowed.
            const exponent = Math.max(-126, Math.floor(Math.log2(Math.abs(values[i]) || 1)));
            const ok = Math.abs(back[i] - values[i]) <= 2 ** (exponent - 8) ||
              (!Number.isFinite(back[i]) && Math.abs(values[i]) > 3.38e38);
            if (!ok || Math.sign(back[i]) !== Math.sign(values[i]) && back[i] !== 0) return false;
            continue;
          }
          const expected = dtype === "F16" ? Math.f16round(values[i]) : values[i];
          if (!Object.is(back[i], expected)) return false;
        }
        assertEquals(stored.shape, shape);
        return true;
      },
    ),
    { seed: 42, numRuns: 1000 },
  );
});

Deno.test("fromFloat32() refuses non-integers and out-of-range values for integer dtypes", () => {
  assertThrows(
    () => fromFloat32(new Float32Array([1, 2.5]), [2], { dtype: "I32" }),
    RangeError,
    "value 2.5 at index 1 as I32",
  );
  assertThrows(() => fromFloat32(new Float32Array([256]), [1], { dtype: "U8" }), RangeError, "[0, 255]");
  assertThrows(() => fromFloat32(new Float32Array([-129]), [1], { dtype: "I8" }), RangeError);
  assertThrows(() => fromFloat32(new Float32Array([2 ** 31]), [1], { dtype: "I32" }), RangeError);
  assertThrows(() => fromFloat32(new Float32Array([2 ** 63]), [1], { dtype: "I64" }), RangeError);
  assertThrows(() => fromFloat32(new Float32Array([NaN]), [1], { dtype: "I16" }), RangeError);
  assertThrows(() => fromFloat32(new Float32Array([2]), [1], { dtype: "BOOL" }), RangeError);
  assertThrows(() => fromFloat32(new Float32Array(3), [2, 2]), RangeError, "3 values with shape [2,2]");
  assertEquals(
    fromFloat32(new Float32Array([-(2 ** 63)]), [1], { dtype: "I64" }).data,
    new BigInt64Array([-(2n ** 63n)]),
  );
});

Deno.test("fromFloat32() copies its input and defaults to F32", () => {
  const values = new Float32Array([1, 2]);
  const stored = fromFloat32(values, [1, 2]);
  values[0] = 7;
  assertEquals(stored, { dtype: "F32", shape: [1, 2], data: new Float32Array([1, 2]) });
});

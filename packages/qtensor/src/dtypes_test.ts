import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  allocForRange,
  normalizeAxis,
  QDTYPE_RANGES,
  qdtypeOfArray,
  qrange,
  qtensor,
  resolveRange,
  shapeSize,
  toScaleArray,
} from "./dtypes.ts";

Deno.test("QDTYPE_RANGES and qrange() give the SPEC.md ranges", () => {
  assertEquals(QDTYPE_RANGES.qint8, { qmin: -128, qmax: 127 });
  assertEquals(QDTYPE_RANGES.qint16, { qmin: -32768, qmax: 32767 });
  assertEquals(qrange("qint32"), { qmin: -(2 ** 31), qmax: 2 ** 31 - 1 });
  assertThrows(() => qrange("int8" as "qint8"), TypeError, "Unknown quantized dtype");
});

Deno.test("resolveRange() accepts a dtype or a custom range and rejects invalid ones", () => {
  assertEquals(resolveRange({}), { qmin: -128, qmax: 127 });
  assertEquals(resolveRange({ dtype: "qint16" }), { qmin: -32768, qmax: 32767 });
  assertEquals(resolveRange({ qmin: -8, qmax: 7, dtype: "qint8" }), { qmin: -8, qmax: 7 });
  assertThrows(() => resolveRange({ qmin: -8 }), TypeError, "both");
  assertThrows(() => resolveRange({ qmin: 1, qmax: 7 }), RangeError);
  assertThrows(() => resolveRange({ qmin: -1.5, qmax: 7 }), RangeError);
  assertThrows(() => resolveRange({ qmin: -(2 ** 32), qmax: 7 }), RangeError, "int32");
});

Deno.test("allocForRange() and qdtypeOfArray() pick the storage of a range", () => {
  assert(allocForRange({ qmin: -8, qmax: 7 }, 1) instanceof Int8Array);
  assert(allocForRange({ qmin: 0, qmax: 255 }, 1) instanceof Int16Array);
  assert(allocForRange({ qmin: -40000, qmax: 7 }, 1) instanceof Int32Array);
  assertEquals(qdtypeOfArray(new Int32Array(1)), "qint32");
  assertThrows(() => qdtypeOfArray(new Float32Array(1) as unknown as Int8Array), TypeError, "Float32Array");
});

Deno.test("qtensor() builds a frozen QTensor and validates data, shape, scale and axis", () => {
  const q = qtensor(Int8Array.of(1, 2, 3, 4, 5, 6), { shape: [2, 3], scale: [0.5, 0.25, 2], axis: -1 });
  assertEquals([q.dtype, q.axis, q.shape], ["qint8", 1, [2, 3]]);
  assert(Object.isFrozen(q) && Object.isFrozen(q.shape));
  assertEquals(qtensor(new Int16Array(2), { shape: [2], scale: 0.1 }).scale[0], Math.fround(0.1));
  assertThrows(() => qtensor(new Int8Array(5), { shape: [2, 3], scale: 1 }), RangeError, "needs 6");
  assertThrows(
    () => qtensor(new Int8Array(6), { shape: [2, 3], scale: [1, 2] }),
    RangeError,
    "needs a channel axis",
  );
  assertThrows(
    () => qtensor(new Int8Array(6), { shape: [2, 3], scale: [1, 2], axis: 1 }),
    RangeError,
    "dimension 1",
  );
  assertThrows(
    () => qtensor(new Int8Array(6), { shape: [2, 3], scale: 1, axis: 2 }),
    RangeError,
    "out of range",
  );
  assertThrows(
    () => qtensor(new Int8Array(6), { shape: [2, 3], scale: 1, dtype: "qint16" }),
    TypeError,
    "does not match",
  );
  assertThrows(() => qtensor(new Int8Array(1), { shape: [1], scale: -1 }), RangeError, "positive");
  assertThrows(() => qtensor(new Int8Array(1), { shape: [1], scale: NaN }), RangeError);
  assertThrows(() => qtensor(new Int8Array(1), { shape: [1.5], scale: 1 }), RangeError, "shape");
});

Deno.test("normalizeAxis(), shapeSize() and toScaleArray() check their inputs", () => {
  assertEquals(normalizeAxis(-4, 4), 0);
  assertThrows(() => normalizeAxis(4, 4), RangeError);
  assertEquals(shapeSize([]), 1);
  assertThrows(() => shapeSize([-1]), RangeError);
  assertThrows(() => toScaleArray([]), RangeError, "empty");
  assertThrows(() => toScaleArray(1e39), RangeError); // not a finite float32
});

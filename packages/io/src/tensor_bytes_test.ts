import { assertEquals, assertStrictEquals } from "@std/assert";
import { littleEndianBytes, readElements } from "./tensor_bytes.ts";

Deno.test("readElements() copies unaligned little-endian bytes into an aligned array", () => {
  const bytes = new Uint8Array([0xaa, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
  const out = readElements(bytes, 1, "F32", 2);
  assertEquals([...out], [1, -2]);
  assertStrictEquals(out.byteOffset, 0);
  bytes[4] = 0;
  assertStrictEquals(out[0], 1); // a copy, not a view
  const longs = readElements(
    new Uint8Array([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    1,
    "I64",
    1,
  );
  assertStrictEquals(longs[0], 2n ** 63n - 1n);
});

Deno.test("littleEndianBytes() gives the element bytes of a typed array view", () => {
  const data = new Int16Array([1, -2, 3]).subarray(1);
  assertEquals(littleEndianBytes(data), new Uint8Array([0xfe, 0xff, 3, 0]));
});

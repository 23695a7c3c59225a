import { assertEquals, assertThrows } from "@std/assert";
import { gzipSync } from "node:zlib";
import {
  encodeIdx,
  gunzipIfNeeded,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  parseIdx,
  parseIdxImages,
  parseIdxLabels,
} from "../mod.ts";

const images = () => encodeIdx(Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => i), [3, 4, 5]);

Deno.test("parseIdxImages() reads a small generated idx3 file", () => {
  const img = parseIdxImages(images(), { name: "small-images" });
  assertEquals([img.count, img.height, img.width], [3, 4, 5]);
  assertEquals(img.data[0], 0);
  assertEquals(img.data[59], 59);
  assertEquals(img.data.length, 60);
});

Deno.test("parseIdxLabels() reads a small generated idx1 file, also through gzip", () => {
  const bytes = encodeIdx(new Uint8Array([9, 0, 4]), [3]);
  assertEquals([...parseIdxLabels(bytes)], [9, 0, 4]);
  const z = new Uint8Array(gzipSync(bytes));
  assertEquals([...parseIdxLabels(gunzipIfNeeded(z, { name: "l.gz" }))], [9, 0, 4]);
});

Deno.test("parseIdx() rejects a wrong magic, naming the file and both magics", () => {
  assertThrows(
    () => parseIdxImages(encodeIdx(new Uint8Array(2), [2]), { name: "labels-as-images" }),
    SyntaxError,
    'Cannot read "labels-as-images": wrong magic 0x00000801, expected 0x00000803',
  );
  const bad = images();
  bad[2] = 0x09; // signed bytes
  assertThrows(
    () => parseIdx(bad, IDX_IMAGES_MAGIC, { name: "x.idx" }),
    SyntaxError,
    "wrong magic 0x00000903",
  );
});

Deno.test("parseIdx() rejects truncated headers and data", () => {
  assertThrows(
    () => parseIdx(new Uint8Array([0, 0, 8]), IDX_LABELS_MAGIC, { name: "t1" }),
    SyntaxError,
    '"t1": truncated header',
  );
  assertThrows(
    () => parseIdxImages(images().subarray(0, 10), { name: "t2" }),
    SyntaxError,
    '"t2": truncated header: 3 dimensions need 16 bytes but the file has 10',
  );
  assertThrows(
    () => parseIdxImages(images().subarray(0, 40), { name: "t3" }),
    SyntaxError,
    '"t3": header says 3 images of 4x5 (60 bytes) but the file has 24 bytes of data',
  );
});

Deno.test("parseIdx() rejects an oversized header without allocating for it", () => {
  const bytes = images();
  new DataView(bytes.buffer).setUint32(4, 0xffffffff);
  assertThrows(
    () => parseIdxImages(bytes, { name: "huge" }),
    SyntaxError,
    '"huge": header says 4294967295 images of 4x5 (85899345900 bytes) but the file has 60 bytes of data',
  );
  const labels = encodeIdx(new Uint8Array(2), [2]);
  new DataView(labels.buffer).setUint32(4, 60000);
  assertThrows(() => parseIdxLabels(labels, { name: "l" }), SyntaxError, "header says 60000 labels");
});

Deno.test("parseIdx() rejects bytes after the data", () => {
  const bytes = new Uint8Array([...images(), 1, 2]);
  assertThrows(() => parseIdxImages(bytes, { name: "long" }), SyntaxError, "the file has 2 bytes more");
});

Deno.test("gunzipIfNeeded() names the file on corrupt or oversized streams", () => {
  const z = new Uint8Array(gzipSync(new Uint8Array(10000)));
  assertThrows(
    () => gunzipIfNeeded(z.subarray(0, 20), { name: "cut.gz" }),
    SyntaxError,
    '"cut.gz": corrupt or truncated gzip',
  );
  assertThrows(
    () => gunzipIfNeeded(z, { name: "big.gz", maxBytes: 100 }),
    SyntaxError,
    "more than 100 bytes",
  );
  assertEquals(gunzipIfNeeded(z).length, 10000);
});

Deno.test("encodeIdx() rejects dimensions that do not match the data", () => {
  assertThrows(() => encodeIdx(new Uint8Array(3), [2]), RangeError, "need 2 bytes");
});

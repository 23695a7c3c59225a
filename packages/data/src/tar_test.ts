import { assertEquals, assertThrows } from "@std/assert";
import { readTar, writeTar } from "../mod.ts";

const entries = [
  {
    name: "cifar-10-batches-bin/data_batch_1.bin",
    data: Uint8Array.from({ length: 700 }, (_, i) => i % 256),
  },
  { name: "cifar-10-batches-bin/readme.html", data: new Uint8Array(0) },
  { name: "x", data: new Uint8Array([7]) },
];

Deno.test("readTar() lists the regular files that writeTar() wrote", () => {
  const tar = writeTar(entries);
  const got = readTar(tar, { name: "a.tar" });
  assertEquals(got.map((e) => e.name), entries.map((e) => e.name));
  assertEquals(got.map((e) => [...e.data]), entries.map((e) => [...e.data]));
});

/** Edits a header block in place and recomputes its checksum. */
function editHeader(tar: Uint8Array, offset: number, edit: (h: Uint8Array) => void): void {
  const h = tar.subarray(offset, offset + 512);
  edit(h);
  h.fill(32, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  h.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
}

Deno.test("readTar() skips directories and reads ustar prefixes and GNU long names", () => {
  const tar = writeTar([{ name: "dir/", data: new Uint8Array(0) }, { name: "f", data: new Uint8Array([1]) }]);
  editHeader(tar, 0, (h) => (h[156] = 53)); // '5': directory
  editHeader(tar, 512, (h) => h.set(new TextEncoder().encode("some/prefix"), 345));
  assertEquals(readTar(tar).map((e) => e.name), ["some/prefix/f"]);

  const long = "a/".repeat(80) + "file.bin";
  const gnu = writeTar([
    { name: "././@LongLink", data: new TextEncoder().encode(long + "\0") },
    { name: "short", data: new Uint8Array([5]) },
  ]);
  editHeader(gnu, 0, (h) => (h[156] = 76)); // 'L': the next entry's long name
  const got = readTar(gnu);
  assertEquals(got.map((e) => e.name), [long]);
  assertEquals([...got[0].data], [5]);
});

Deno.test("readTar() rejects a truncated archive, an overlong size and a bad checksum, naming the archive", () => {
  const tar = writeTar(entries);
  assertThrows(
    () => readTar(tar.subarray(0, 512 + 100), { name: "cut.tar" }),
    SyntaxError,
    '"cut.tar": entry at byte 0 says 700 bytes but only 100 remain',
  );
  assertThrows(() => readTar(tar.subarray(0, 1000), { name: "cut2.tar" }), SyntaxError, "only 488 remain");
  const odd = new Uint8Array([...writeTar([entries[2]]).subarray(0, 1024), 1, 2, 3]);
  assertThrows(
    () => readTar(odd, { name: "tail.tar" }),
    SyntaxError,
    "truncated: 3 bytes after the last full block",
  );
  const bad = tar.slice();
  bad[10] ^= 1;
  assertThrows(
    () => readTar(bad, { name: "bad.tar" }),
    SyntaxError,
    '"bad.tar": header at byte 0 has a bad checksum',
  );
  const huge = writeTar([entries[2]]);
  editHeader(huge, 0, (h) => h.set(new TextEncoder().encode("77777777777\0"), 124));
  assertThrows(() => readTar(huge, { name: "huge.tar" }), SyntaxError, "says 8589934591 bytes");
});

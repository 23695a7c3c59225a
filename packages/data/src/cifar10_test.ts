import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { gzipSync } from "node:zlib";
import {
  CIFAR10_ARCHIVE,
  CIFAR10_CLASSES,
  CIFAR10_SOURCE,
  concatDatasets,
  DatasetUnavailableError,
  loadCifar10,
  md5Hex,
  parseCifarBatch,
  writeTar,
} from "../mod.ts";

/** `count` records whose label is (tag + i) % 10 and whose R, G, B planes hold tag, i, 255 − i. */
function batchFile(count: number, tag: number): Uint8Array {
  const out = new Uint8Array(count * 3073);
  for (let i = 0; i < count; i++) {
    const r = out.subarray(i * 3073, (i + 1) * 3073);
    r[0] = (tag + i) % 10;
    r.fill(tag, 1, 1025);
    r.fill(i, 1025, 2049);
    r.fill(255 - i, 2049, 3073);
  }
  return out;
}

const noFetch = () => Promise.reject(new TypeError("network is unreachable"));

Deno.test("parseCifarBatch() reads records as CHW images and labels", () => {
  const ds = parseCifarBatch(batchFile(3, 4), { name: "b.bin" });
  assertEquals([ds.count, ds.channels, ds.height, ds.width], [3, 3, 32, 32]);
  assertEquals([...ds.labels], [4, 5, 6]);
  const img2 = ds.images.subarray(2 * 3072, 3 * 3072);
  assertEquals([img2[0], img2[1024], img2[2048], img2[3071]], [4, 2, 253, 253]);
  assertEquals(ds.classes, CIFAR10_CLASSES);
});

Deno.test("parseCifarBatch() rejects empty and truncated files and bad labels, naming the file", () => {
  assertThrows(
    () => parseCifarBatch(new Uint8Array(0), { name: "e.bin" }),
    SyntaxError,
    '"e.bin": the file is empty',
  );
  assertThrows(
    () => parseCifarBatch(batchFile(2, 0).subarray(0, 3073 + 100), { name: "t.bin" }),
    SyntaxError,
    '"t.bin": truncated: 3173 bytes is 1 records of 3073 plus 100 bytes',
  );
  const bad = batchFile(2, 0);
  bad[3073] = 10;
  assertThrows(() => parseCifarBatch(bad, { name: "l.bin" }), SyntaxError, '"l.bin": record 1 has label 10');
});

Deno.test("concatDatasets() joins batches in order and rejects different shapes", () => {
  const all = concatDatasets([parseCifarBatch(batchFile(2, 1)), parseCifarBatch(batchFile(1, 7))]);
  assertEquals([...all.labels], [1, 2, 7]);
  assertEquals(all.images[2 * 3072], 7);
  const gray = { ...parseCifarBatch(batchFile(1, 0)), channels: 1, height: 1, width: 3072 };
  assertThrows(() => concatDatasets([all, gray]), RangeError, "Cannot concatenate");
});

async function writeRelease(dir: string, perBatch: number) {
  await Deno.mkdir(dir, { recursive: true });
  for (let i = 1; i <= 5; i++) await Deno.writeFile(`${dir}/data_batch_${i}.bin`, batchFile(perBatch, i));
  await Deno.writeFile(`${dir}/test_batch.bin`, batchFile(perBatch, 0));
}

Deno.test("loadCifar10() reads the five training batches and the test batch from dataDir", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeRelease(`${root}/cifar-10-batches-bin`, 3);
    const env = () => undefined;
    const train = await loadCifar10({ dataDir: root, env, fetch: noFetch });
    assertEquals(train.count, 15);
    assertEquals([...train.labels.subarray(0, 4)], [1, 2, 3, 2]);
    const test = await loadCifar10({
      dataDir: `${root}/cifar-10-batches-bin`,
      env,
      split: "test",
      fetch: noFetch,
    });
    assertEquals(test.count, 3);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadCifar10() fails clearly when nothing is found and the download fails", async () => {
  const root = await Deno.makeTempDir();
  try {
    const err = await assertRejects(
      () => loadCifar10({ env: () => undefined, cacheDir: `${root}/cache`, fetch: noFetch }),
      DatasetUnavailableError,
    );
    assert(err.message.includes("CIFAR-10 (train) was not found in"), err.message);
    assert(err.message.includes(`${root}/cache/cifar-10-batches-bin`), err.message);
    assert(err.message.includes(CIFAR10_SOURCE.baseUrl + CIFAR10_ARCHIVE), err.message);
    assert(err.message.includes("network is unreachable"), err.message);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadCifar10() downloads, checks and extracts the archive into the cache", async () => {
  const root = await Deno.makeTempDir();
  try {
    const names = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`).concat([
      "test_batch.bin",
      "batches.meta.txt",
    ]);
    const tar = writeTar(names.map((n, i) => ({
      name: `cifar-10-batches-bin/${n}`,
      data: n.endsWith(".txt") ? new TextEncoder().encode(CIFAR10_CLASSES.join("\n")) : batchFile(2, i),
    })));
    const archive = new Uint8Array(gzipSync(tar));
    const source = { baseUrl: "https://mirror.test/", md5: { [CIFAR10_ARCHIVE]: md5Hex(archive) } };
    let calls = 0;
    const fetch = (() => (calls++, Promise.resolve(new Response(archive)))) as typeof globalThis.fetch;
    const opts = { env: () => undefined, cacheDir: `${root}/cache`, source, fetch };
    const test = await loadCifar10({ ...opts, split: "test" });
    assertEquals([test.count, calls], [2, 1]);
    assertEquals(test.labels[0], 5);
    const train = await loadCifar10({ ...opts, fetch: noFetch }); // extracted files are reused
    assertEquals(train.count, 10);
    // the published checksum refuses a different archive
    await assertRejects(
      () => loadCifar10({ env: () => undefined, cacheDir: `${root}/other`, fetch }),
      DatasetUnavailableError,
      "the published checksum is c32a1d4ab5d03f1284b67883e8d87530",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * Fixed-seed fuzzing of the data set readers on mutated real files: idx images and labels (the
 * Fashion-MNIST test set Debian installs, cut to its first images, or the same format written here when
 * it is absent), their gzip files, a tar archive of CIFAR-10 batches, and CIFAR-10 batch files. Each
 * mutated file is read or refused with the reader's own error (a SyntaxError naming the file); nothing
 * the readers return is larger than the file itself (gzip: than its cap); no case takes long.
 * @module
 */
import { assert, assertEquals, assertGreater } from "@std/assert";
import fc from "fast-check";
import { gzipSync } from "node:zlib";
import {
  encodeIdx,
  gunzipIfNeeded,
  parseCifarBatch,
  parseIdxImages,
  parseIdxLabels,
  readTar,
  writeTar,
} from "../mod.ts";

const CASES = 1500;
const SYSTEM = "/usr/share/datasets/fashion-mnist";

function systemFile(name: string): Uint8Array | undefined {
  try {
    return Deno.readFileSync(`${SYSTEM}/${name}`);
  } catch {
    return undefined;
  }
}

/** The real test-set labels, and the real first 64 test images with the header's count set to 64. */
function realIdx(): { labels: Uint8Array; images: Uint8Array } {
  const labelsGz = systemFile("t10k-labels-idx1-ubyte.gz"),
    imagesGz = systemFile("t10k-images-idx3-ubyte.gz");
  if (labelsGz && imagesGz) {
    const images = gunzipIfNeeded(imagesGz).slice(0, 16 + 64 * 28 * 28);
    new DataView(images.buffer).setUint32(4, 64);
    return { labels: gunzipIfNeeded(labelsGz), images };
  }
  const r = (i: number) => (i * 2654435761) >>> 24;
  return {
    labels: encodeIdx(Uint8Array.from({ length: 1000 }, (_, i) => r(i) % 10), [1000]),
    images: encodeIdx(Uint8Array.from({ length: 64 * 28 * 28 }, (_, i) => r(i)), [64, 28, 28]),
  };
}

function cifarBatch(count: number, seed: number): Uint8Array {
  const b = new Uint8Array(count * 3073);
  for (let i = 0; i < count; i++) {
    b[i * 3073] = (i + seed) % 10;
    for (let j = 1; j < 3073; j++) b[i * 3073 + j] = (i * 31 + j * 7 + seed) & 255;
  }
  return b;
}

const idx = realIdx();
const cifar = cifarBatch(12, 3);
const FILES = {
  labels: idx.labels,
  images: idx.images,
  gzip: systemFile("t10k-labels-idx1-ubyte.gz") ?? new Uint8Array(gzipSync(idx.labels)),
  tar: writeTar([
    { name: "cifar-10-batches-bin/data_batch_1.bin", data: cifar },
    { name: "cifar-10-batches-bin/batches.meta.txt", data: new TextEncoder().encode("airplane\n") },
  ]),
  cifar,
};
type Kind = keyof typeof FILES;
const KINDS = Object.keys(FILES) as Kind[];
const GZIP_CAP = 1 << 20;

/** Reads `bytes` as `kind`; returns the bytes the reader handed back. */
function read(kind: Kind, bytes: Uint8Array): number {
  const name = `case.${kind}`;
  switch (kind) {
    case "labels":
      return parseIdxLabels(bytes, { name }).byteLength;
    case "images":
      return parseIdxImages(bytes, { name }).data.byteLength;
    case "gzip":
      return gunzipIfNeeded(bytes, { name, maxBytes: GZIP_CAP }).byteLength;
    case "tar":
      return readTar(bytes, { name }).reduce((s, e) => s + e.data.byteLength, 0);
    case "cifar":
      return parseCifarBatch(bytes, { name }).images.byteLength;
  }
}

const mutation = fc.noBias(fc.record({
  kind: fc.constantFrom(...KINDS),
  how: fc.constantFrom("flip", "truncate", "word", "extend"),
  edits: fc.array(fc.record({ at: fc.nat({ max: 2 ** 24 }), value: fc.nat({ max: 2 ** 32 - 1 }) }), {
    minLength: 1,
    maxLength: 4,
  }),
}));

Deno.test(`idx, gzip, tar and CIFAR-10 readers on ${CASES} mutated real files: their own errors only, bounded output, no hang`, () => {
  for (const kind of KINDS) assertGreater(read(kind, FILES[kind]), 0, kind);
  const counts = { read: 0, refused: 0 };
  let slowest = 0;
  fc.assert(
    fc.property(mutation, (m) => {
      const good = FILES[m.kind];
      let bytes = good.slice();
      const at = (e: { at: number }) => e.at % bytes.length;
      if (m.how === "truncate") bytes = good.slice(0, at(m.edits[0]));
      else if (m.how === "extend") {
        bytes = new Uint8Array([...good, ...new Uint8Array(m.edits[0].value % 4096)]);
      }
      for (const e of m.edits) {
        if (m.how === "flip") bytes[at(e)] ^= 1 + (e.value % 255);
        if (m.how === "word" && bytes.length >= 4) {
          new DataView(bytes.buffer).setUint32(Math.min(at(e) & ~3, bytes.length - 4), e.value);
        }
      }
      const t0 = performance.now();
      try {
        const out = read(m.kind, bytes);
        assert(
          out <= (m.kind === "gzip" ? GZIP_CAP : bytes.length),
          `${m.kind}: ${out} bytes from ${bytes.length}`,
        );
        counts.read++;
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e;
        assert(e.message.startsWith(`Cannot read "case.${m.kind}"`), e.message);
        counts.refused++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }),
    { seed: 17, numRuns: CASES },
  );
  assertEquals(counts.read + counts.refused, CASES);
  assertGreater(counts.refused, CASES / 4);
  assert(slowest < 2000, `a case took ${slowest} ms`);
  console.log(`data reader fuzz: ${JSON.stringify(counts)}, slowest ${slowest.toFixed(1)} ms`);
});

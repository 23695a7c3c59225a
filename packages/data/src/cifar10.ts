/**
 * CIFAR-10 from its binary release (`cifar-10-batches-bin`), found locally or downloaded, checked
 * and extracted.
 * @module
 */

import { checkDataset, CIFAR10_CLASSES, type Dataset } from "./dataset.ts";
import { type DataLocationOptions, dataSearchPath, findFile, hqatCacheDir } from "./data_dirs.ts";
import { DatasetUnavailableError, type DataSource, downloadVerified, writeFileAtomic } from "./download.ts";
import { readFileCapped } from "@hqat/io";
import { gunzipIfNeeded } from "./gzip.ts";
import { readTar } from "./tar.ts";

/** Bytes of one CIFAR-10 record: a label byte, then 32×32 red, green and blue planes. */
export const CIFAR10_RECORD_BYTES: number = 1 + 3 * 32 * 32;

/** The binary release's archive name. */
export const CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz";

/**
 * CIFAR-10's published location and MD5 checksum.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CIFAR10_ARCHIVE, CIFAR10_SOURCE } from "@hqat/data";
 * assert(CIFAR10_SOURCE.md5[CIFAR10_ARCHIVE] === "c32a1d4ab5d03f1284b67883e8d87530");
 * ```
 */
export const CIFAR10_SOURCE: DataSource = Object.freeze({
  baseUrl: "https://www.cs.toronto.edu/~kriz/",
  md5: Object.freeze({ [CIFAR10_ARCHIVE]: "c32a1d4ab5d03f1284b67883e8d87530" }),
});

const TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const TEST_FILES = ["test_batch.bin"];
const MAX_BATCH_BYTES = 64 * 1024 * 1024;

/** Options of {@linkcode parseCifarBatch}. */
export interface CifarBatchOptions {
  /** The file name used in error messages. */
  name?: string;
}

/**
 * Parses one CIFAR-10 binary batch file: whole records of 1 label byte + 3072 image bytes (CHW,
 * already the dataset layout). An empty file, a partial record or a label ≥ 10 is a SyntaxError
 * naming the file.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseCifarBatch } from "@hqat/data";
 * const bytes = new Uint8Array(2 * 3073);
 * bytes[3073] = 7;
 * const batch = parseCifarBatch(bytes);
 * assert(batch.count === 2 && batch.labels[1] === 7 && batch.images.length === 2 * 3072);
 * ```
 */
export function parseCifarBatch(bytes: Uint8Array, options: CifarBatchOptions = {}): Dataset {
  const name = options.name ?? "<cifar batch>";
  const fail = (problem: string) => new SyntaxError(`Cannot read "${name}": ${problem}`);
  if (bytes.length === 0) throw fail("the file is empty");
  const count = Math.floor(bytes.length / CIFAR10_RECORD_BYTES);
  const rest = bytes.length - count * CIFAR10_RECORD_BYTES;
  if (rest !== 0) {
    throw fail(
      `truncated: ${bytes.length} bytes is ${count} records of ${CIFAR10_RECORD_BYTES} plus ${rest} bytes`,
    );
  }
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * CIFAR10_RECORD_BYTES;
    const label = bytes[at];
    if (label >= CIFAR10_CLASSES.length) throw fail(`record ${i} has label ${label}, not below 10`);
    labels[i] = label;
    images.set(bytes.subarray(at + 1, at + CIFAR10_RECORD_BYTES), i * 3072);
  }
  return { images, labels, count, channels: 3, height: 32, width: 32, classes: CIFAR10_CLASSES };
}

/**
 * Concatenates datasets of the same image shape and classes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { concatDatasets, parseCifarBatch } from "@hqat/data";
 * const a = parseCifarBatch(new Uint8Array(3073));
 * assert(concatDatasets([a, a]).count === 2);
 * ```
 */
export function concatDatasets(parts: readonly Dataset[]): Dataset {
  if (parts.length === 0) throw new RangeError("Cannot concatenate zero datasets");
  const [first] = parts;
  let count = 0;
  for (const p of parts) {
    if (p.channels !== first.channels || p.height !== first.height || p.width !== first.width) {
      throw new RangeError(
        `Cannot concatenate ${p.channels}x${p.height}x${p.width} images with ` +
          `${first.channels}x${first.height}x${first.width} images`,
      );
    }
    count += p.count;
  }
  const images = new Uint8Array(parts.reduce((n, p) => n + p.images.length, 0));
  const labels = new Uint8Array(count);
  let at = 0;
  let li = 0;
  for (const p of parts) {
    images.set(p.images, at);
    labels.set(p.labels, li);
    at += p.images.length;
    li += p.count;
  }
  return checkDataset({ ...first, images, labels, count });
}

async function readBatchFile(path: string): Promise<Dataset> {
  const bytes = await readFileCapped(path, { maxBytes: MAX_BATCH_BYTES, what: "a CIFAR-10 batch file" });
  return parseCifarBatch(bytes, { name: path });
}

/** Options of {@linkcode loadCifar10}. */
export interface Cifar10Options extends DataLocationOptions {
  /** Which split (default "train": data_batch_1..5, 50000 images; "test": test_batch, 10000). */
  split?: "train" | "test";
  /** Where to download from (default {@linkcode CIFAR10_SOURCE}, e.g. a mirror). */
  source?: DataSource;
}

/**
 * Loads a CIFAR-10 split as 3×32×32 uint8 CHW images. The `.bin` files are looked for in
 * `dataDir`, `$HQAT_DATA` and the user cache (each folder or its `cifar-10-batches-bin` subfolder).
 * When none has them, `cifar-10-binary.tar.gz` is downloaded over https, checked against its published
 * MD5 (the only digest its publisher gives) and
 * extracted into `<cache>/cifar-10-batches-bin`; when that fails, a
 * {@linkcode DatasetUnavailableError} lists the folders searched and the reason.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { DatasetUnavailableError, loadCifar10 } from "@hqat/data";
 * try {
 *   const test = await loadCifar10({ split: "test", download: false });
 *   assert(test.count === 10000);
 * } catch (e) {
 *   if (!(e instanceof DatasetUnavailableError)) throw e; // not installed here
 * }
 * ```
 */
export async function loadCifar10(options: Cifar10Options = {}): Promise<Dataset> {
  const split = options.split ?? "train";
  const files = split === "train" ? TRAIN_FILES : TEST_FILES;
  const dirs = dataSearchPath("cifar-10-batches-bin", undefined, options);
  for (const dir of dirs) {
    const paths = files.map((f) => findFile(dir, [f]));
    if (paths.every((p) => p !== undefined)) {
      return concatDatasets(await Promise.all(paths.map((p) => readBatchFile(p!))));
    }
  }
  const what = `CIFAR-10 (${split})`;
  const searched = dirs.length ? dirs.join(", ") : "no folder (no dataDir, HQAT_DATA or HOME)";
  const cache = hqatCacheDir(options);
  const advice =
    "Put the cifar-10-batches-bin files in one of those folders, set HQAT_DATA, or pass dataDir.";
  if (options.download === false || !cache) {
    throw new DatasetUnavailableError(
      `${what} was not found in ${searched}` +
        (cache ? " and downloading is off" : " and there is no cache folder to download into") +
        `. ${advice}`,
    );
  }
  const source = options.source ?? CIFAR10_SOURCE;
  const md5 = source.md5[CIFAR10_ARCHIVE];
  if (!md5) throw new TypeError(`The data source ${source.baseUrl} has no checksum for ${CIFAR10_ARCHIVE}`);
  const url = source.baseUrl + CIFAR10_ARCHIVE;
  let archive: Uint8Array;
  try {
    archive = await downloadVerified(url, md5, { fetch: options.fetch, maxBytes: 256 * 1024 * 1024 });
  } catch (e) {
    throw new DatasetUnavailableError(
      `${what} was not found in ${searched}, and downloading it failed: ${(e as Error).message}. ${advice}`,
      { cause: e },
    );
  }
  const tar = gunzipIfNeeded(archive, { name: url, maxBytes: 512 * 1024 * 1024 });
  const target = `${cache}/cifar-10-batches-bin`;
  const wanted = new Set([...TRAIN_FILES, ...TEST_FILES, "batches.meta.txt"]);
  const written = new Set<string>();
  for (const entry of readTar(tar, { name: url })) {
    const base = entry.name.slice(entry.name.lastIndexOf("/") + 1);
    if (!wanted.has(base)) continue;
    await writeFileAtomic(`${target}/${base}`, entry.data);
    written.add(base);
  }
  const missing = files.filter((f) => !written.has(f));
  if (missing.length) {
    throw new SyntaxError(`Cannot read "${url}": the archive has no ${missing.join(", ")}`);
  }
  return concatDatasets(await Promise.all(files.map((f) => readBatchFile(`${target}/${f}`))));
}

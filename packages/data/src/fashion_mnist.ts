/**
 * Fashion-MNIST from its idx files (gzip or plain), found locally or downloaded and checked.
 * @module
 */

import { checkDataset, type Dataset, FASHION_MNIST_CLASSES } from "./dataset.ts";
import { type DataLocationOptions, dataSearchPath, findFile, hqatCacheDir } from "./data_dirs.ts";
import {
  checkContentSha256,
  DatasetUnavailableError,
  type DataSource,
  downloadVerified,
  writeFileAtomic,
} from "./download.ts";
import { FILE_CAPS, readFileCapped } from "@hqat/io";
import { gunzipIfNeeded } from "./gzip.ts";
import { parseIdxImages, parseIdxLabels } from "./idx.ts";

const IDX_READ = { maxBytes: FILE_CAPS.dataset, what: "an idx file" } as const;

/**
 * Fashion-MNIST's published location (Zalando's repository, over https) and checksums: the MD5 of each
 * `.gz` as Zalando publishes it, and the SHA-256 of each file's decompressed content, computed from
 * Debian's `dataset-fashion-mnist` package (which recompressed the same files, so its `.gz` digests
 * differ while their content does not). A download must match both.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { FASHION_MNIST_SOURCE } from "@hqat/data";
 * assert(Object.keys(FASHION_MNIST_SOURCE.md5).length === 4);
 * ```
 */
export const FASHION_MNIST_SOURCE: DataSource = Object.freeze({
  baseUrl: "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
  md5: Object.freeze({
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
  }),
  contentSha256: Object.freeze({
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
  }),
});

/** Where Debian's `dataset-fashion-mnist` package installs the files. */
export const FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist";

/** Options of {@linkcode loadFashionMnist}. */
export interface FashionMnistOptions extends DataLocationOptions {
  /** Which split (default "train": 60000 images; "test": 10000). */
  split?: "train" | "test";
  /** The system folder searched last (default {@linkcode FASHION_MNIST_SYSTEM_DIR}; null skips it). */
  systemDir?: string | null;
  /** Where to download from (default {@linkcode FASHION_MNIST_SOURCE}, e.g. a mirror). */
  source?: DataSource;
}

/**
 * Reads a Fashion-MNIST-style pair of idx files (each gzip or plain) into a dataset of 1-channel
 * images. The files' counts must agree and every label must name one of `classes` (default the ten
 * Fashion-MNIST classes).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { encodeIdx, readIdxDataset } from "@hqat/data";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/i`, encodeIdx(new Uint8Array(2 * 4), [2, 2, 2]));
 * await Deno.writeFile(`${dir}/l`, encodeIdx(new Uint8Array([3, 9]), [2]));
 * const ds = await readIdxDataset(`${dir}/i`, `${dir}/l`);
 * assert(ds.count === 2 && ds.height === 2 && ds.labels[1] === 9);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readIdxDataset(
  imagesPath: string,
  labelsPath: string,
  options: { classes?: readonly string[] } = {},
): Promise<Dataset> {
  const classes = options.classes ?? FASHION_MNIST_CLASSES;
  const imageBytes = gunzipIfNeeded(await readFileCapped(imagesPath, IDX_READ), { name: imagesPath });
  const images = parseIdxImages(imageBytes, { name: imagesPath });
  const labelBytes = gunzipIfNeeded(await readFileCapped(labelsPath, IDX_READ), { name: labelsPath });
  const labels = parseIdxLabels(labelBytes, { name: labelsPath });
  if (labels.length !== images.count) {
    throw new SyntaxError(
      `Cannot use "${imagesPath}" with "${labelsPath}": ${images.count} images but ${labels.length} labels`,
    );
  }
  const bad = labels.findIndex((l) => l >= classes.length);
  if (bad >= 0) {
    throw new SyntaxError(
      `Cannot read "${labelsPath}": label ${labels[bad]} at index ${bad} is not below ${classes.length}`,
    );
  }
  return checkDataset({
    images: images.data,
    labels,
    count: images.count,
    channels: 1,
    height: images.height,
    width: images.width,
    classes,
  });
}

function fileStems(split: "train" | "test"): [string, string] {
  const prefix = split === "train" ? "train" : "t10k";
  return [`${prefix}-images-idx3-ubyte`, `${prefix}-labels-idx1-ubyte`];
}

/**
 * Loads a Fashion-MNIST split as 1×28×28 uint8 images with labels 0..9. The files
 * (`train-images-idx3-ubyte[.gz]` …) are looked for in `dataDir`, `$HQAT_DATA`, the user cache and
 * `/usr/share/datasets/fashion-mnist`, each folder or its `fashion-mnist` subfolder. When none has
 * them they are downloaded into `<cache>/fashion-mnist` and checked against the published MD5s and the SHA-256 of their content; when
 * that fails too, a {@linkcode DatasetUnavailableError} lists the folders searched and the reason.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { DatasetUnavailableError, loadFashionMnist } from "@hqat/data";
 * try {
 *   const test = await loadFashionMnist({ split: "test", download: false });
 *   assert(test.count === 10000 && test.height === 28);
 * } catch (e) {
 *   if (!(e instanceof DatasetUnavailableError)) throw e; // not installed here
 * }
 * ```
 */
export async function loadFashionMnist(options: FashionMnistOptions = {}): Promise<Dataset> {
  const split = options.split ?? "train";
  const stems = fileStems(split);
  const systemDir = options.systemDir === null ? undefined : options.systemDir ?? FASHION_MNIST_SYSTEM_DIR;
  const dirs = dataSearchPath("fashion-mnist", systemDir, options);
  for (const dir of dirs) {
    const images = findFile(dir, [stems[0], `${stems[0]}.gz`]);
    const labels = findFile(dir, [stems[1], `${stems[1]}.gz`]);
    if (images && labels) return await readIdxDataset(images, labels);
  }
  const what = `Fashion-MNIST (${split})`;
  const searched = dirs.length ? dirs.join(", ") : "no folder (no dataDir, HQAT_DATA or HOME)";
  const cache = hqatCacheDir(options);
  if (options.download === false || !cache) {
    throw new DatasetUnavailableError(
      `${what} was not found in ${searched}` +
        (cache ? " and downloading is off" : " and there is no cache folder to download into") +
        `. Put the idx files in one of those folders, set HQAT_DATA, or pass dataDir.`,
    );
  }
  const source = options.source ?? FASHION_MNIST_SOURCE;
  const target = `${cache}/fashion-mnist`;
  const paths: string[] = [];
  for (const stem of stems) {
    const file = `${stem}.gz`;
    const url = source.baseUrl + file;
    const md5 = source.md5[file];
    if (!md5) throw new TypeError(`The data source ${source.baseUrl} has no checksum for ${file}`);
    let bytes: Uint8Array;
    try {
      bytes = await downloadVerified(url, md5, { fetch: options.fetch, maxBytes: 64 * 1024 * 1024 });
      const sha = source.contentSha256?.[file];
      if (sha) checkContentSha256(url, gunzipIfNeeded(bytes, { name: url }), sha);
    } catch (e) {
      throw new DatasetUnavailableError(
        `${what} was not found in ${searched}, and downloading it failed: ${(e as Error).message}. ` +
          `Put the idx files in one of those folders, set HQAT_DATA, or pass dataDir.`,
        { cause: e },
      );
    }
    const path = `${target}/${file}`;
    await writeFileAtomic(path, bytes);
    paths.push(path);
  }
  return await readIdxDataset(paths[0], paths[1]);
}

/**
 * Reading a whole file with a size cap: only a regular file is read (a FIFO, a device such as
 * `/dev/zero` or a folder is refused before any read), and a file larger than the cap is refused
 * from its size before anything is allocated. Every reader of the project goes through it.
 * @module
 */

/**
 * The caps of the readers, in bytes: each names the largest file of its kind that hqat reads.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { FILE_CAPS } from "@hqat/io";
 * assert(FILE_CAPS.npy === 2 ** 32 && FILE_CAPS.program === 2 ** 31);
 * ```
 */
export const FILE_CAPS = {
  /** A NumPy `.npy` array (an input batch, a saved output). */
  npy: 2 ** 32,
  /** A safetensors file (a checkpoint). */
  safetensors: 2 ** 32,
  /** A program file: an `int_model` or a `.hbm`. */
  program: 2 ** 31,
  /** A data set file (an idx file, gzip-compressed or not, a tar archive, a CIFAR-10 batch). */
  dataset: 2 ** 30,
} as const;

/**
 * A file refused before it is read: not a regular file, or larger than its cap. The message names
 * the file and the problem.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { FileReadError } from "@hqat/io";
 * const e = new FileReadError("x.npy", "not a regular file");
 * assert(e.message === 'Cannot read "x.npy": not a regular file' && e instanceof RangeError);
 * ```
 */
export class FileReadError extends RangeError {
  /** Creates the error for `file`. */
  constructor(readonly file: string, problem: string) {
    super(`Cannot read "${file}": ${problem}`);
    this.name = "FileReadError";
  }
}

/** Options of {@linkcode readFileCapped}. */
export interface ReadCappedOptions {
  /** The largest size accepted, in bytes. */
  readonly maxBytes: number;
  /** What the file is, for the message ("an int model", "a checkpoint"). */
  readonly what?: string;
}

function pathText(path: string | URL): string {
  return path instanceof URL
    ? (path.protocol === "file:" ? decodeURIComponent(path.pathname) : path.href)
    : path;
}

function describe(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a folder";
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/**
 * Reads the whole file at `path` when it is a regular file of at most `maxBytes`; otherwise throws a
 * {@linkcode FileReadError} naming the file (a missing file or a refused permission too). Never
 * reads more than `maxBytes`, even when the file grows while it is read.
 *
 * @example
 * ```ts
 * import { assert, assertRejects } from "@std/assert";
 * import { FileReadError, readFileCapped } from "@hqat/io";
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array(10));
 * assert((await readFileCapped(path, { maxBytes: 10 })).length === 10);
 * await assertRejects(() => readFileCapped(path, { maxBytes: 9, what: "a test file" }), FileReadError, "more than");
 * await Deno.remove(path);
 * ```
 */
export async function readFileCapped(path: string | URL, options: ReadCappedOptions): Promise<Uint8Array> {
  const name = pathText(path);
  const what = options.what ?? "a file of this kind";
  let file: Deno.FsFile | undefined;
  try {
    // Opening a FIFO blocks until a writer comes, so the kind is checked before the file is opened.
    const info = await Deno.stat(path);
    if (!info.isFile) throw new FileReadError(name, `${describe(info)}, not a regular file`);
    if (info.size > options.maxBytes) {
      throw new FileReadError(
        name,
        `${info.size} bytes is more than the ${options.maxBytes} bytes ${what} may have`,
      );
    }
    file = await Deno.open(path, { read: true });
    const bytes = new Uint8Array(info.size);
    let done = 0;
    while (done < bytes.length) {
      const n = await file.read(bytes.subarray(done));
      if (n === null) break;
      done += n;
    }
    if (done < bytes.length) throw new FileReadError(name, `the file shrank while it was read`);
    if (await file.read(new Uint8Array(1)) !== null) {
      throw new FileReadError(name, "the file grew while it was read");
    }
    return bytes;
  } catch (e) {
    if (e instanceof FileReadError) throw e;
    throw new FileReadError(name, e instanceof Error ? e.message : String(e));
  } finally {
    file?.close();
  }
}

/**
 * Atomic file replacement: write a temporary file beside the target, flush it to disk, rename it over the
 * target. Readers see either the old file or the complete new one, never a partial write.
 * @module
 */

import { onRunEnd } from "./cleanup.ts";

/**
 * The name of the temporary file a write of `base` uses: hidden, beside the target, carrying the
 * writer's process id (so a later run can tell a dead run's leftovers from a live run's work).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseTempName, tempName } from "@hqat/io";
 * assert(parseTempName(tempName("a.bin", 42))?.pid === 42);
 * ```
 */
export function tempName(base: string, pid: number = Deno.pid): string {
  return `.${base}.${pid}-${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/**
 * The target name and process id in a temporary file's name (see {@linkcode tempName}); `undefined`
 * for any other name.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseTempName } from "@hqat/io";
 * assert(parseTempName(".int_model.123-0a1b2c3d.tmp")?.base === "int_model");
 * assert(parseTempName("notes.tmp") === undefined);
 * ```
 */
export function parseTempName(name: string): { base: string; pid: number } | undefined {
  const m = /^\.(.+)\.(\d+)-[0-9a-f]{8}\.tmp$/.exec(name);
  return m ? { base: m[1], pid: Number(m[2]) } : undefined;
}

/** What {@linkcode atomicWriteFile} writes: bytes, or chunks of bytes produced on the fly. */
export type WriteSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Options of {@linkcode atomicWriteFile}. */
export interface AtomicWriteOptions {
  /** Permission bits of the new file (default: those of the file it replaces, else 0o666 less the umask). */
  mode?: number;
}

function splitPath(path: string): [dir: string, base: string] {
  const cut = Math.max(path.lastIndexOf("/"), Deno.build.os === "windows" ? path.lastIndexOf("\\") : -1);
  if (cut < 0) return [".", path];
  return [path.slice(0, cut + 1), path.slice(cut + 1)];
}

function toPath(path: string | URL): string {
  if (typeof path === "string") return path;
  if (path.protocol !== "file:") throw new TypeError(`Cannot write "${path.href}": not a file URL`);
  const decoded = decodeURIComponent(path.pathname);
  return Deno.build.os === "windows"
    ? decoded.replace(/^\/([A-Za-z]:)/, "$1").replaceAll("/", "\\")
    : decoded;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

async function existingMode(path: string): Promise<number | undefined> {
  try {
    const mode = (await Deno.stat(path)).mode;
    return mode === null ? undefined : mode & 0o7777;
  } catch {
    return undefined;
  }
}

/**
 * Replaces the file at `path` with `data` atomically: the bytes go to a temporary file in the same folder,
 * which is synced to disk and then renamed over `path`. If anything fails — the data source throws, the disk
 * fills, the rename is refused — the temporary file is removed, the old file is left as it was, and the
 * error is rethrown.
 *
 * @example
 * ```ts
 * import { atomicWriteFile } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const dir = await Deno.makeTempDir();
 * await atomicWriteFile(`${dir}/a.bin`, new Uint8Array([1, 2, 3]));
 * assert((await Deno.readFile(`${dir}/a.bin`)).length === 3);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function atomicWriteFile(
  path: string | URL,
  data: WriteSource,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const target = toPath(path);
  const [dir, base] = splitPath(target);
  if (base === "") throw new TypeError(`Cannot write "${target}": the path names a folder`);
  const isBytes = data instanceof Uint8Array;
  if (!isBytes && !(Symbol.iterator in Object(data)) && !(Symbol.asyncIterator in Object(data))) {
    throw new TypeError(`Cannot write "${target}": data must be a Uint8Array or an iterable of Uint8Array`);
  }
  const mode = options.mode ?? await existingMode(target);
  const temp = `${dir === "." ? "" : dir}${tempName(base)}`;
  let file: Deno.FsFile | undefined;
  let created = false;
  // An interrupted run (SIGINT, SIGTERM) removes the temporary file; a killed one leaves it to the next run.
  const forget = onRunEnd(() => Deno.removeSync(temp));
  try {
    file = await Deno.open(temp, { write: true, createNew: true, ...(mode === undefined ? {} : { mode }) });
    created = true;
    if (isBytes) {
      await writeAll(file, data);
    } else {
      for await (const chunk of data) {
        if (!(chunk instanceof Uint8Array)) {
          throw new TypeError(
            `Cannot write "${target}": the data source yielded a ${typeof chunk}, not bytes`,
          );
        }
        await writeAll(file, chunk);
      }
    }
    await file.sync();
    file.close();
    file = undefined;
    if (mode !== undefined && Deno.build.os !== "windows") await Deno.chmod(temp, mode);
    await Deno.rename(temp, target);
  } catch (error) {
    file?.close();
    if (created) await Deno.remove(temp).catch(() => {});
    throw error;
  } finally {
    forget();
  }
  await syncFolder(dir);
}

/** Flushes the folder entry of the rename where the platform allows it (best effort). */
async function syncFolder(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  let folder: Deno.FsFile | undefined;
  try {
    folder = await Deno.open(dir, { read: true });
    await folder.sync();
  } catch {
    // Some file systems refuse to sync a folder; the rename itself has already happened.
  } finally {
    folder?.close();
  }
}

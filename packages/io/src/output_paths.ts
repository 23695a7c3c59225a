/**
 * Output locations checked before the work that fills them: an output is never one of the run's
 * inputs, its folder is created when missing and must take a new file, and what stands at its path
 * must be a file. A command runs these checks first, so a long run never fails at its last step.
 * @module
 */

import { parseTempName } from "./atomic_write.ts";

/**
 * An output location that cannot be used; the message names the path and the problem.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { OutputPathError } from "@hqat/io";
 * assert(new OutputPathError("a.hbm", "is a folder").message === 'Cannot write "a.hbm": is a folder');
 * ```
 */
export class OutputPathError extends Error {
  /** Creates the error for `path`. */
  constructor(readonly path: string, problem: string) {
    super(`Cannot write "${path}": ${problem}`);
    this.name = "OutputPathError";
  }
}

// Small path helpers (this package is also bundled for the browser, where node:path is not whole).
function dirname(path: string): string {
  const cut = path.replace(/\/+$/, "").lastIndexOf("/");
  return cut < 0 ? "." : cut === 0 ? "/" : path.slice(0, cut);
}

function basename(path: string): string {
  const p = path.replace(/\/+$/, "");
  return p.slice(p.lastIndexOf("/") + 1);
}

function resolve(path: string): string {
  const parts: string[] = [];
  for (const part of (path.startsWith("/") ? path : `${Deno.cwd()}/${path}`).split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "" && part !== ".") parts.push(part);
  }
  return "/" + parts.join("/");
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return undefined;
    throw e;
  }
}

/**
 * Whether `a` and `b` name the same file: the same device and inode when both exist (links, `./`,
 * `..` and symlinks see through), else the same absolute path.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { samePath } from "@hqat/io";
 * assert(await samePath("model/./int_model", "model/int_model"));
 * assert(!(await samePath("a.npy", "b.npy")));
 * ```
 */
export async function samePath(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  const [x, y] = await Promise.all([statOrUndefined(a), statOrUndefined(b)]);
  if (!x || !y || x.ino === null || y.ino === null) return false;
  return x.dev === y.dev && x.ino === y.ino;
}

/**
 * Makes `dir` (and its parents) when missing and checks that a new file can be created in it, by
 * creating and removing a probe file. Throws an {@linkcode OutputPathError} naming the folder.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { prepareOutputFolder } from "@hqat/io";
 * const dir = await Deno.makeTempDir();
 * await prepareOutputFolder(`${dir}/a/b`);
 * assert((await Deno.stat(`${dir}/a/b`)).isDirectory);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function prepareOutputFolder(dir: string): Promise<void> {
  const info = await statOrUndefined(dir).catch(() => undefined);
  if (info && !info.isDirectory) throw new OutputPathError(dir, "it is a file, not a folder");
  try {
    if (!info) await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    const why = e instanceof Deno.errors.AlreadyExists || e instanceof Deno.errors.NotADirectory
      ? "a file stands where a folder of the path should be"
      : (e as Error).message;
    throw new OutputPathError(dir, `cannot create the folder (${why})`);
  }
  const probe = `${dir}/.hqat-write-check.${Deno.pid}.tmp`;
  try {
    (await Deno.open(probe, { write: true, createNew: true })).close();
  } catch (e) {
    throw new OutputPathError(dir, `the folder does not take new files (${(e as Error).message})`);
  }
  await Deno.remove(probe).catch(() => {});
}

/** Options of {@linkcode checkOutputs}. */
export interface CheckOutputsOptions {
  /** The files the run reads; no output may be one of them. */
  readonly inputs?: readonly (string | undefined)[];
}

/**
 * Checks, before any work, the files a run will write: none is one of `options.inputs` (nor another
 * output), none is a folder, and the folder of each exists (created when missing) and takes new
 * files. Throws an {@linkcode OutputPathError} naming the first path that fails. Temporary files that
 * a killed earlier write of the same output left beside it are removed.
 *
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { checkOutputs, OutputPathError } from "@hqat/io";
 * await assertRejects(
 *   () => checkOutputs(["model.hbm"], { inputs: ["./model.hbm"] }),
 *   OutputPathError,
 *   "it is also an input",
 * );
 * ```
 */
export async function checkOutputs(
  outputs: readonly string[],
  options: CheckOutputsOptions = {},
): Promise<void> {
  const inputs = (options.inputs ?? []).filter((p): p is string => p !== undefined);
  for (const [i, out] of outputs.entries()) {
    for (const input of inputs) {
      if (await samePath(out, input)) {
        throw new OutputPathError(
          out,
          `it is also an input of this run ("${input}"); writing would destroy it`,
        );
      }
    }
    for (const other of outputs.slice(0, i)) {
      if (await samePath(out, other)) {
        throw new OutputPathError(out, `two outputs of this run are the same file`);
      }
    }
  }
  for (const out of outputs) {
    const info = await statOrUndefined(out).catch(() => undefined);
    if (info?.isDirectory) throw new OutputPathError(out, "it is a folder; give a file name");
    if (info && !info.isFile) throw new OutputPathError(out, "it is not a regular file");
    try {
      await prepareOutputFolder(dirname(out));
    } catch (e) {
      throw new OutputPathError(out, (e as Error).message.replace(/^Cannot write /, "its folder "));
    }
    await removeOwnStaleTemps(out);
  }
}

/** Removes the temporary files an earlier, killed write of `out` left beside it (another process's). */
async function removeOwnStaleTemps(out: string): Promise<void> {
  const dir = dirname(out), base = basename(out);
  try {
    for await (const e of Deno.readDir(dir)) {
      const t = e.isFile ? parseTempName(e.name) : undefined;
      if (t && t.base === base && t.pid !== Deno.pid) await Deno.remove(`${dir}/${e.name}`).catch(() => {});
    }
  } catch {
    // Nothing to remove where the folder cannot be listed.
  }
}

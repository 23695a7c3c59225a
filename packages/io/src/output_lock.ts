/**
 * One run per output folder: an exclusive operating-system lock on the folder's `.hqat.lock`, which
 * holds the run's process id so that a second run on the same folder can name it, and the removal of
 * the temporary files dead runs left there. The lock file stays (empty) after the run: removing it
 * would let two later runs lock two different files of the same name.
 * @module
 */

import { parseTempName } from "./atomic_write.ts";
import { onRunEnd } from "./cleanup.ts";
import { OutputPathError, prepareOutputFolder } from "./output_paths.ts";

/** The lock file's name inside the folder. */
export const LOCK_FILE = ".hqat.lock";

/** A held lock; `release` lets it go (it also goes when the run ends, or the process dies). */
export interface OutputLock {
  /** The lock file's path. */
  readonly path: string;
  /** Releases the lock. */
  release(): void;
}

/**
 * Removes the temporary files that other processes' atomic writes left in `dir` (call it while
 * holding the folder's lock: no other run writes there then; a killed run leaves one); returns their
 * names.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { removeStaleTemps } from "@hqat/io";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/.int_model.999999999-0a1b2c3d.tmp`, new Uint8Array(1));
 * assert((await removeStaleTemps(dir)).length === 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const t = e.isFile ? parseTempName(e.name) : undefined;
      if (t && t.pid !== Deno.pid) {
        await Deno.remove(`${dir}/${e.name}`).catch(() => {});
        removed.push(e.name);
      }
    }
  } catch {
    // A folder that cannot be listed has nothing we could remove.
  }
  return removed;
}

/**
 * Takes `dir` for this run: creates it when missing, checks it takes new files, takes the exclusive
 * operating-system lock of its lock file (the kernel drops it when the process ends, even on
 * `kill -9`), writes the run's process id into it, and removes the temporary files dead runs left. A
 * folder another run holds is an {@linkcode OutputPathError} naming that run's process id.
 *
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { lockOutputFolder, OutputPathError } from "@hqat/io";
 * const dir = await Deno.makeTempDir();
 * const lock = await lockOutputFolder(dir, { command: "hqat train" });
 * await assertRejects(() => lockOutputFolder(dir, { command: "hqat qat" }), OutputPathError, `PID ${Deno.pid}`);
 * lock.release();
 * (await lockOutputFolder(dir, { command: "hqat qat" })).release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lockOutputFolder(
  dir: string,
  options: { readonly command: string },
): Promise<OutputLock> {
  await prepareOutputFolder(dir);
  const path = `${dir}/${LOCK_FILE}`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, create: true });
  } catch (e) {
    throw new OutputPathError(dir, `cannot open the lock file ${LOCK_FILE} (${(e as Error).message})`);
  }
  let locked = false;
  try {
    locked = await file.tryLock(true);
  } catch (e) {
    file.close();
    throw new OutputPathError(dir, `cannot lock ${path} (${(e as Error).message})`);
  }
  if (!locked) {
    file.close();
    let other: { pid?: number; command?: string; started?: string } = {};
    try {
      other = JSON.parse(await Deno.readTextFile(path));
    } catch {
      // Being written this very moment: the run is still named below, without its details.
    }
    throw new OutputPathError(
      dir,
      `another run uses this folder (PID ${other.pid ?? "unknown"}, "${other.command ?? "?"}", started ${
        other.started ?? "?"
      }); wait for it to end or choose another --out`,
    );
  }
  const body = JSON.stringify({ pid: Deno.pid, command: options.command, started: new Date().toISOString() });
  await file.truncate(0);
  await file.write(new TextEncoder().encode(body + "\n"));
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    try {
      file.truncateSync(0);
      file.unlockSync();
    } finally {
      file.close();
    }
  };
  const forget = onRunEnd(release);
  await removeStaleTemps(dir);
  return {
    path,
    release() {
      forget();
      release();
    },
  };
}

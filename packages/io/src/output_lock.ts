/**
 * One run per output folder: an exclusive lock file (`.hqat.lock`, created with `createNew`, holding
 * the run's process id) that a second run on the same folder meets and reports, and the removal of
 * the temporary files dead runs left there.
 * @module
 */

import { parseTempName } from "./atomic_write.ts";
import { onRunEnd } from "./cleanup.ts";
import { OutputPathError, prepareOutputFolder } from "./output_paths.ts";

/** The lock file's name inside the folder. */
export const LOCK_FILE = ".hqat.lock";

/** A held lock; `release` removes the lock file (it also goes when the run ends). */
export interface OutputLock {
  /** The lock file's path. */
  readonly path: string;
  /** Removes the lock file. */
  release(): void;
}

/** Whether a process `pid` is alive: `/proc` on Linux; elsewhere every pid counts as alive. */
function alive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  if (Deno.build.os !== "linux") return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the temporary files of atomic writes in `dir` whose writer is no longer running (a run
 * killed mid-write leaves one); returns their names.
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
      if (t && !alive(t.pid)) {
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
 * Takes `dir` for this run: creates it when missing, checks it takes new files, creates the lock
 * file exclusively, and removes dead runs' temporary files. A live run's lock is an
 * {@linkcode OutputPathError} naming its process id; a dead run's lock is taken over. The lock goes
 * when `release` is called or the run ends.
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
  const body = JSON.stringify({ pid: Deno.pid, command: options.command, started: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(path, body + "\n", { createNew: true });
      let held = true;
      const forget = onRunEnd(() => {
        if (held) Deno.removeSync(path);
      });
      await removeStaleTemps(dir);
      return {
        path,
        release() {
          if (!held) return;
          held = false;
          forget();
          try {
            Deno.removeSync(path);
          } catch {
            // Already removed.
          }
        },
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw new OutputPathError(dir, `cannot create the lock file ${LOCK_FILE} (${(e as Error).message})`);
      }
    }
    let other: { pid?: number; command?: string; started?: string } = {};
    try {
      other = JSON.parse(await Deno.readTextFile(path));
    } catch {
      // Unreadable or half-written: treated as held, below, unless its writer is known to be gone.
    }
    if (typeof other.pid === "number" && !alive(other.pid)) {
      await Deno.remove(path).catch(() => {});
      continue;
    }
    throw new OutputPathError(
      dir,
      `another run uses this folder (PID ${other.pid ?? "unknown"}, "${other.command ?? "?"}", started ${
        other.started ?? "?"
      }); wait for it to end, choose another --out, or remove ${path} if no such run exists`,
    );
  }
  throw new OutputPathError(dir, `the lock file ${path} keeps coming back`);
}

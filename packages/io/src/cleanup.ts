/**
 * What a run removes when it ends, however it ends: the temporary files of writes still in flight and
 * the lock files it holds. A normal end, an error and SIGINT / SIGTERM run the same list; a `kill -9`
 * runs nothing, so the next run removes what it left (see `removeStaleTemps`, `lockOutputFolder`).
 * @module
 */

const pending = new Map<number, () => void>();
let nextId = 0;
let installed = false;

/**
 * Registers `remove` (synchronous, best effort) to run at the end of the run; the returned function
 * unregisters it (call it when the thing is gone by other means).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { onRunEnd, runEndNow } from "@hqat/io";
 * let ran = 0;
 * const done = onRunEnd(() => ran++);
 * onRunEnd(() => ran += 10);
 * done();
 * runEndNow();
 * assert(ran === 10);
 * ```
 */
export function onRunEnd(remove: () => void): () => void {
  const id = nextId++;
  pending.set(id, remove);
  return () => {
    pending.delete(id);
  };
}

/**
 * Runs and forgets every registered removal now (errors are ignored: the run is ending).
 *
 * @example
 * ```ts
 * import { runEndNow } from "@hqat/io";
 * runEndNow();
 * ```
 */
export function runEndNow(): void {
  const all = [...pending.values()];
  pending.clear();
  for (const f of all) {
    try {
      f();
    } catch {
      // Already gone, or not ours to remove any more.
    }
  }
}

/**
 * Makes SIGINT and SIGTERM run the registered removals before the process exits (with 130 or 143,
 * as a shell reports those signals). Call once, from a program's entry point.
 *
 * @example
 * ```ts
 * import { cleanUpOnSignals } from "@hqat/io";
 * cleanUpOnSignals();
 * ```
 */
export function cleanUpOnSignals(): void {
  if (installed || Deno.build.os === "windows") return;
  installed = true;
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    try {
      Deno.addSignalListener(signal, () => {
        runEndNow();
        Deno.exit(code);
      });
    } catch {
      // Signals cannot be listened to here; the next run removes what this one leaves.
    }
  }
}

/**
 * Layout of the shared control block (an Int32Array) between the main thread and one kernel worker.
 * @module
 */

/** Int32 slots of the control block. */
export const CONTROL = {
  /** Bumped by the main thread to post a part. */
  seq: 0,
  /** Set by the worker to the `seq` it finished. */
  done: 1,
  /** 1 once the worker has instantiated the kernels. */
  ready: 2,
  /** 1 once a kernel failed (or the worker could not start). */
  failed: 3,
  /** Index of the kernel to run. */
  kernel: 4,
  /** How many int32 arguments follow. */
  argCount: 5,
  /**
   * Who has the posted job: its `seq` while the worker has not started it, `-seq` once the worker took it,
   * 0 once the main thread took it back (every part was done before the worker woke up).
   */
  claim: 6,
  /** Microseconds the worker spins on `seq` before it sleeps (see `setKernelSpin`). */
  spin: 7,
  /** First argument slot. */
  args: 8,
  /** Most arguments a part can carry. */
  maxArgs: 24,
} as const;

/** Bytes of one control block. */
export const CONTROL_BYTES: number = (CONTROL.args + CONTROL.maxArgs) * 4;

/**
 * Int32 slots before the parts in a job table (in the kernel memory): the next part to take, the
 * number of parts, the arguments per part, and whether a thread's scratch address is appended.
 */
export const JOB_HEADER = 4;

/**
 * How long, by default, a thread spins on the control block before it sleeps in `Atomics.wait`, in
 * microseconds: a futex wake costs tens of microseconds here, and kernels follow each other closely in a
 * training step or a model run.
 */
export const DEFAULT_SPIN_MICROS = 100;

/**
 * Spins while `busy()` holds, for at most `micros` microseconds (the caller then sleeps if it still holds).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { spinWhile } from "./thread_pool_control.ts";
 * let n = 0;
 * spinWhile(() => ++n < 10, 1000);
 * assert(n === 10);
 * ```
 */
export function spinWhile(busy: () => boolean, micros: number): void {
  if (micros === 0 || !busy()) return;
  const end = performance.now() + micros / 1000;
  for (let k = 1; busy(); k++) if ((k & 255) === 0 && performance.now() > end) return;
}

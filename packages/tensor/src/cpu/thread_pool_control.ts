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

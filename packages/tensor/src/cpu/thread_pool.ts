/**
 * Worker threads for the WebAssembly kernels. Every worker instantiates the same module on the same
 * shared memory; the calling thread posts one part of a kernel call to each ready worker through a
 * shared control block, runs its own part, and blocks in `Atomics.wait` until the others are done, so
 * the kernels stay synchronous. Workers do not keep the process alive.
 * @module
 */
import { Worker } from "node:worker_threads";
import { CONTROL, CONTROL_BYTES, DEFAULT_SPIN_MICROS, JOB_HEADER, spinWhile } from "./thread_pool_control.ts";

/** A kernel export: int32 arguments, no result. */
export type KernelFn = (...args: number[]) => void;

/** What the workers run: the compiled module, its shared memory, and the kernels by index. */
export interface KernelPoolTarget {
  /** The compiled kernels. */
  readonly module: WebAssembly.Module;
  /** The shared memory every instance uses. */
  readonly memory: WebAssembly.Memory;
  /** Export names, indexed as `kernels`. */
  readonly names: readonly string[];
  /** The calling thread's exports, indexed as `names`. */
  readonly kernels: readonly KernelFn[];
  /** Byte address of `ints` fresh int32 slots in `memory`, valid until the current operation ends. */
  readonly alloc: (ints: number) => number;
  /** An Int32Array over the whole of `memory` (current after growth). */
  readonly ints: () => Int32Array;
}

interface PoolWorker {
  readonly control: Int32Array;
  readonly worker: Worker;
  seq: number;
  dead: boolean;
}

let target: KernelPoolTarget | undefined;
const workers: PoolWorker[] = [];
let wanted = defaultThreads();
let spinMicros = DEFAULT_SPIN_MICROS;

function defaultThreads(): number {
  const cores =
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(4, cores));
}

/**
 * Sets how many threads (the calling one included) the CPU kernels may use; 1 keeps them on the
 * calling thread. Workers beyond the count stay idle (blocked, using no CPU) until it is raised again.
 * The default is the number of cores, at most 4.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { getKernelThreads, setKernelThreads } from "./thread_pool.ts";
 * const before = getKernelThreads();
 * setKernelThreads(1);
 * assert(getKernelThreads() === 1);
 * setKernelThreads(before);
 * ```
 */
export function setKernelThreads(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new RangeError(`Invalid kernel thread count ${count}: expected an integer from 1 to 64`);
  }
  wanted = count;
  spawn();
}

/**
 * Sets how long a waiting thread spins before it sleeps, in microseconds (0 to 10,000; default 100): the
 * calling thread waiting for a worker's part, and a worker waiting for the next kernel. Spinning saves a
 * futex wake-up (tens of microseconds) per kernel when kernels come close together, at the price of that
 * much CPU time when they do not; 0 never spins.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { getKernelSpin, setKernelSpin } from "./thread_pool.ts";
 * const before = getKernelSpin();
 * setKernelSpin(0);
 * assert(getKernelSpin() === 0);
 * setKernelSpin(before);
 * ```
 */
export function setKernelSpin(micros: number): void {
  if (!Number.isInteger(micros) || micros < 0 || micros > 10_000) {
    throw new RangeError(`Invalid kernel spin time ${micros}: expected an integer from 0 to 10000 µs`);
  }
  spinMicros = micros;
  for (const w of workers) Atomics.store(w.control, CONTROL.spin, micros);
}

/**
 * How long a waiting kernel thread spins before it sleeps, in microseconds (see `setKernelSpin`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { getKernelSpin } from "./thread_pool.ts";
 * assert(getKernelSpin() >= 0);
 * ```
 */
export function getKernelSpin(): number {
  return spinMicros;
}

/**
 * How many threads the CPU kernels may use (see `setKernelThreads`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { getKernelThreads } from "./thread_pool.ts";
 * assert(getKernelThreads() >= 1);
 * ```
 */
export function getKernelThreads(): number {
  return wanted;
}

/**
 * Hands the pool the kernels its workers run, and starts the workers (they become ready a few
 * milliseconds later; until then the calling thread runs every part itself).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { bindKernelPool, readyThreads } from "./thread_pool.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * kernelRuntime(); // binds the pool to the WebAssembly kernels
 * assert(typeof bindKernelPool === "function" && readyThreads() >= 1);
 * ```
 */
export function bindKernelPool(t: KernelPoolTarget): void {
  target = t;
  spawn();
}

/**
 * How many threads can run a part right now, the calling one included.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { readyThreads } from "./thread_pool.ts";
 * assert(readyThreads() >= 1);
 * ```
 */
export function readyThreads(): number {
  let n = 1;
  for (const w of workers) if (isReady(w)) n++;
  return Math.min(n, wanted);
}

/**
 * Runs kernel number `kernel` once per part, with that part's arguments (plus, when `scratch` is
 * given, the running thread's scratch address `scratch[thread]` as a last argument). The calling
 * thread and every ready worker take parts from a shared counter until none is left, so a thread
 * that is slowed down (the cores are shared) simply takes fewer. Returns when every part is done;
 * throws if a part failed.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { runParts } from "./thread_pool.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime()!;
 * rt.reset();
 * const y = rt.put(new Float32Array([1, 2, 3, 4]));
 * const bias = rt.put(new Float32Array([10, 20]));
 * // add_bias(y, bias, n = 1, co = 2, p = 2), as one part
 * runParts(rt.kernelIndex("add_bias"), [[y, bias, 1, 2, 2]]);
 * assert(rt.take(y, 4).join() === "11,12,23,24");
 * ```
 */
export function runParts(
  kernel: number,
  parts: readonly (readonly number[])[],
  scratch?: readonly number[],
): void {
  if (!target) throw new TypeError("runParts() needs bindKernelPool() first");
  const fn = target.kernels[kernel];
  if (parts.length === 1 || readyThreads() === 1) {
    for (const part of parts) fn(...part, ...(scratch ? [scratch[0]] : []));
    return;
  }
  const argc = parts[0].length;
  const table = target.alloc(JOB_HEADER + parts.length * argc);
  const t = table >> 2;
  let view = target.ints();
  view.set([0, parts.length, argc, scratch ? 1 : 0], t);
  for (let i = 0; i < parts.length; i++) view.set(parts[i], t + JOB_HEADER + i * argc);
  const posted: PoolWorker[] = [];
  for (const w of workers) {
    if (posted.length + 1 >= Math.min(wanted, parts.length, scratch ? scratch.length : Infinity)) break;
    if (!isReady(w)) continue;
    post(w, kernel, [table, scratch ? scratch[posted.length + 1] : 0]);
    posted.push(w);
  }
  let error: unknown;
  try {
    const args = new Array<number>(argc + (scratch ? 1 : 0));
    if (scratch) args[argc] = scratch[0];
    for (;;) {
      const i = Atomics.add(view, t, 1);
      if (i >= parts.length) break;
      for (let j = 0; j < argc; j++) args[j] = parts[i][j];
      fn(...args);
      view = target.ints();
    }
  } catch (e) {
    error = e;
    Atomics.store(target.ints(), t, parts.length);
  }
  let failed = false;
  for (const w of posted) {
    // A worker that has not woken up yet gets its post taken back: no part is left for it, and waiting for
    // its wake-up would cost more than the parts.
    if (Atomics.compareExchange(w.control, CONTROL.claim, w.seq, 0) === w.seq) continue;
    spinWhile(() => Atomics.load(w.control, CONTROL.done) !== w.seq, spinMicros);
    for (
      let d = Atomics.load(w.control, CONTROL.done);
      d !== w.seq;
      d = Atomics.load(w.control, CONTROL.done)
    ) {
      Atomics.wait(w.control, CONTROL.done, d);
    }
    if (Atomics.load(w.control, CONTROL.failed) !== 0) {
      failed = true;
      w.dead = true;
    }
  }
  if (error !== undefined) throw error;
  if (failed) throw new Error(`Kernel ${target.names[kernel]} failed on a worker thread`);
}

function isReady(w: PoolWorker): boolean {
  return !w.dead && Atomics.load(w.control, CONTROL.ready) === 1 &&
    Atomics.load(w.control, CONTROL.failed) === 0;
}

function post(w: PoolWorker, kernel: number, args: readonly number[]): void {
  if (args.length > CONTROL.maxArgs) {
    throw new RangeError(`A kernel part takes at most ${CONTROL.maxArgs} arguments`);
  }
  const c = w.control;
  c[CONTROL.kernel] = kernel;
  c[CONTROL.argCount] = args.length;
  for (let i = 0; i < args.length; i++) c[CONTROL.args + i] = args[i];
  w.seq++;
  Atomics.store(c, CONTROL.claim, w.seq);
  Atomics.store(c, CONTROL.seq, w.seq);
  Atomics.notify(c, CONTROL.seq);
}

function workerUrl(): URL | undefined {
  const url = new URL("./wasm_worker.ts", import.meta.url);
  const deno = (globalThis as {
    Deno?: { permissions?: { querySync?: (d: { name: "read"; path: URL }) => { state: string } } };
  }).Deno;
  if (url.protocol !== "file:" || !deno?.permissions?.querySync) return undefined;
  return deno.permissions.querySync({ name: "read", path: url }).state === "granted" ? url : undefined;
}

function spawn(): void {
  if (!target) return;
  for (let i = workers.length - 1; i >= 0; i--) {
    if (workers[i].dead || Atomics.load(workers[i].control, CONTROL.failed) !== 0) {
      workers[i].worker.terminate();
      workers.splice(i, 1);
    }
  }
  if (workers.length >= wanted - 1) return;
  const url = workerUrl();
  if (!url) return;
  while (workers.length < wanted - 1) {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const worker = new Worker(url);
    const w: PoolWorker = { control: new Int32Array(control), worker, seq: 0, dead: false };
    w.control[CONTROL.spin] = spinMicros;
    worker.unref();
    worker.on("error", () => (w.dead = true));
    worker.on("exit", () => (w.dead = true));
    worker.postMessage({ module: target.module, memory: target.memory, control, names: target.names });
    workers.push(w);
  }
}

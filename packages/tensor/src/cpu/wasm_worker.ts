/**
 * The worker side of the kernel thread pool: instantiates the WebAssembly kernels on the shared memory
 * it is sent, then runs the parts the main thread posts through the shared control block, forever.
 * @module
 */
import { parentPort } from "node:worker_threads";
import { CONTROL, JOB_HEADER, spinWhile } from "./thread_pool_control.ts";

interface StartMessage {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  names: string[];
}

type Kernel = (...args: number[]) => void;

parentPort?.once("message", (message: StartMessage) => {
  const control = new Int32Array(message.control);
  let kernels: Kernel[];
  try {
    const instance = new WebAssembly.Instance(message.module, { env: { memory: message.memory } });
    const exports = instance.exports as Record<string, unknown>;
    kernels = message.names.map((name) => exports[name] as Kernel);
  } catch {
    Atomics.store(control, CONTROL.failed, 1);
    Atomics.notify(control, CONTROL.ready);
    return;
  }
  Atomics.store(control, CONTROL.ready, 1);
  Atomics.notify(control, CONTROL.ready);
  let seen = 0;
  let view = new Int32Array(message.memory.buffer);
  // Another thread may have grown the shared memory; `grow(0)` makes this thread's `buffer` cover the
  // current size (a stale buffer would read the job table past its end as undefined).
  const refresh = () => {
    message.memory.grow(0);
    if (view.byteLength !== message.memory.buffer.byteLength) view = new Int32Array(message.memory.buffer);
  };
  for (;;) {
    // Spin a little before sleeping: the next kernel usually comes within microseconds.
    spinWhile(() => Atomics.load(control, CONTROL.seq) === seen, Atomics.load(control, CONTROL.spin));
    Atomics.wait(control, CONTROL.seq, seen);
    const seq = Atomics.load(control, CONTROL.seq);
    if (seq === seen) continue;
    seen = seq;
    // The main thread may have taken the post back (it did every part itself): then the job is not ours.
    if (Atomics.compareExchange(control, CONTROL.claim, seq, -seq) !== seq) continue;
    // Any failure, reading the job included, is reported through the control block: the main thread
    // is blocked waiting for this part and cannot see a worker's error event.
    let t = -1, count = 0;
    try {
      refresh();
      const fn = kernels[control[CONTROL.kernel]];
      t = control[CONTROL.args] >> 2;
      const scratch = control[CONTROL.args + 1];
      count = view[t + 1];
      const argc = view[t + 2];
      const args = new Array<number>(argc + view[t + 3]);
      if (view[t + 3]) args[argc] = scratch;
      for (;;) {
        const i = Atomics.add(view, t, 1);
        if (i >= count) break;
        for (let j = 0; j < argc; j++) args[j] = view[t + JOB_HEADER + i * argc + j];
        fn(...args);
        refresh();
      }
    } catch {
      Atomics.store(control, CONTROL.failed, 1);
      if (t >= 0 && t < view.length) Atomics.store(view, t, count);
    }
    Atomics.store(control, CONTROL.done, seq);
    Atomics.notify(control, CONTROL.done);
  }
});

/**
 * `node:worker_threads` for the browser bundle. The CPU kernels' thread pool starts workers only
 * where the worker module is a readable local file (under Deno); in a page it never does, so the
 * kernels run on the page's thread and nothing here is called.
 * @module
 */

/** A worker that cannot start: the pool never constructs one in a page. */
export class Worker {
  /** Refuses, naming why. */
  constructor(_url: URL) {
    throw new Error("hqat.js: kernel worker threads are not available in a browser page");
  }
}

/** No parent port: this is never a worker thread. */
export const parentPort = null;

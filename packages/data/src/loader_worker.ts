/**
 * The worker side of the loader: receives the dataset (shared memory) and the plan once, then
 * prepares the batches it is asked for and transfers them back.
 * @module
 */

import { type BatchPlan, prepareBatch } from "./batch.ts";
import type { Dataset } from "./dataset.ts";

/** Messages the loader sends. */
export type ToWorker =
  | { readonly kind: "init"; readonly dataset: Dataset; readonly plan: BatchPlan }
  | { readonly kind: "batch"; readonly id: number; readonly epoch: number; readonly indices: Int32Array };

/** Messages the worker answers with. */
export type FromWorker =
  | { readonly id: number; readonly x: Float32Array; readonly y: Int32Array }
  | { readonly id: number; readonly error: string };

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;
let state: { dataset: Dataset; plan: BatchPlan } | undefined;

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg.kind === "init") {
    state = { dataset: msg.dataset, plan: msg.plan };
    return;
  }
  try {
    if (!state) throw new Error("the worker got a batch before its dataset");
    const batch = prepareBatch(
      state.dataset,
      { indices: msg.indices, epoch: msg.epoch, index: msg.id },
      state.plan,
    );
    scope.postMessage({ id: msg.id, x: batch.x, y: batch.y }, [
      batch.x.buffer as ArrayBuffer,
      batch.y.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    scope.postMessage({
      id: msg.id,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
  }
};

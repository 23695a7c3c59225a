/**
 * The bits of training states, for the tests that hold an optimized training step to the plain one.
 * @module
 */
import type { Tensor } from "@hqat/tensor";
import type { TrainState } from "./train_step.ts";

/** The bits of a float32 tensor's elements, as int32 (copied, so later writes to the tensor do not show). */
export function bits(t: Tensor): number[] {
  return Array.from(new Int32Array(Float32Array.from(t.data as Float32Array).buffer));
}

/** The bits of every float32 array of a training state, optimizer slots included. */
export function stateBits(ts: TrainState): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries({ ...ts.params, ...ts.buffers })) {
    if (v.dtype === "float32") out[k] = bits(v);
  }
  for (const [slot, buffers] of Object.entries(ts.opt.slots)) {
    for (const [k, v] of Object.entries(buffers)) out[`${slot}.${k}`] = bits(v);
  }
  return out;
}

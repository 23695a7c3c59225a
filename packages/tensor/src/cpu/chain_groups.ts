/**
 * Runs consecutive layers of a chain by groups of images (`wasm/chain_groups.c`): each thread takes the next group
 * and runs every layer on it, so that a layer reads what the previous one wrote while it is still in that core's
 * cache, and the threads meet once for all the layers instead of after each.
 * @module
 */
import type { KernelRuntime } from "./wasm_runtime.ts";

/** Int32 slots of one step of the program (`STEP_INTS` in chain_groups.c). */
const STEP_INTS = 8;
/** The im2col step's kind, and the floats before a lane's columns (`STEP_IM2COL`, `LANE_HEADER` there). */
const STEP_IM2COL = 3, LANE_HEADER = 32;
/**
 * Bytes of one group's working set, its images' input and output of one layer: one core's L2 cache here. Over
 * MobileNetV2's grouped layers (batch 256, one thread) a budget of 128 KiB took 22.8 ms, 256 KiB 21.8, 512 KiB
 * 21.1, 1 MiB 20.3 and 2 MiB 20.4, against 21.1–21.9 for the same layers one at a time over the batch.
 */
export const GROUP_BYTES = 1024 * 1024;
/** Groups per thread at the least, so that a thread slowed by other work takes fewer. */
const GROUPS_PER_THREAD = 4;

/**
 * Images per group: as many as keep `bytesPerImage` (the largest working set of one image over the layers) within
 * `budget` bytes, but at most a quarter of each thread's share of the batch.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { groupImages } from "./chain_groups.ts";
 * assert(groupImages(256, 2, 128 * 1024) === 8);
 * assert(groupImages(8, 2, 1024) === 1);
 * ```
 */
export function groupImages(
  images: number,
  threads: number,
  bytesPerImage: number,
  budget = GROUP_BYTES,
): number {
  const byCache = Math.floor(budget / Math.max(1, bytesPerImage));
  const byThreads = Math.ceil(images / (GROUPS_PER_THREAD * Math.max(1, threads)));
  return Math.max(1, Math.min(byCache, byThreads));
}

/**
 * Runs `steps` (from `groupStep`: [kind, units per image, args...]) on `images` images, `group` at a time, one
 * group per thread at once; `scratch` is the 3×3 depthwise scratch floats the steps need.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { runChainGroups } from "./chain_groups.ts";
 * import { groupStep } from "./conv2d_wasm.ts";
 * import { convDims } from "./conv2d_shapes.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime()!;
 * rt.reset();
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * const d = convDims([3, 1, 1, 1], [1, 1, 1, 1], geo, "conv2d");
 * const x = rt.put(Float32Array.of(1, 2, 3)), w = rt.put(Float32Array.of(2)), y = rt.alloc(3);
 * const ep = { scale: rt.put(Float32Array.of(1)), shift: rt.put(Float32Array.of(0.5)), clamp: rt.put(Float32Array.of(0, 6)) };
 * runChainGroups(rt, [groupStep(rt, d, x, w, y, ep)!.ints], 3, 2, 0);
 * assert(rt.take(y, 3).join() === "2.5,4.5,6");
 * ```
 */
export function runChainGroups(
  rt: KernelRuntime,
  steps: readonly (readonly number[])[],
  images: number,
  group: number,
  scratch: number,
): void {
  const gemm = rt.gemmScratch();
  const lanes = Math.max(1, Math.min(rt.threads(), gemm.length, Math.ceil(images / group)));
  const ints = [steps.length, images, group, lanes];
  for (const s of steps) {
    if (s.length > STEP_INTS) {
      throw new RangeError(`runChainGroups(): a step has ${s.length} ints, over ${STEP_INTS}`);
    }
    ints.push(...s, ...new Array<number>(STEP_INTS - s.length).fill(0));
  }
  const program = rt.putInts(ints), next = rt.putInts([0]);
  // A lane holds a GEMM descriptor and one group's im2col columns (rows · positions per image · images).
  let columns = 0;
  for (const s of steps) if (s[0] === STEP_IM2COL) columns = Math.max(columns, s[5] * s[1] * group);
  const depthwise = rt.threadScratch(Math.max(16, scratch)), lane = rt.threadScratch(LANE_HEADER + columns);
  const parts: number[][] = [];
  for (let t = 0; t < lanes; t++) parts.push([program, next, gemm[t], depthwise[t], lane[t]]);
  rt.run("chain_groups_run", parts);
}

/**
 * What the data-movement kinds (`transpose`, `slice`, `pad`) share: integer arrays in the container, the
 * checks that keep the batch axis and a per-channel scale in place, and the kernels — the kind's index
 * map over one frame (computed once per instruction and frame shape), applied frame by frame with
 * `@hqat/qtensor`'s `gatherFrames` on the CPU and the resident gather on WebGPU.
 * @module
 */

import { gatherFrames, type QArray } from "@hqat/qtensor";
import { gatherResident } from "@hqat/tensor";
import type { FieldReader, FieldWriter } from "../fields.ts";
import type { GpuMain, GpuPrepareContext } from "../gpu_types.ts";
import type { InferContext, Instr } from "../instr.ts";
import { GPU_STORAGE } from "../stage_gpu.ts";
import type { IntValue, ValueInfo } from "../value.ts";
import { integerInput, perFrame } from "./checks.ts";

/** A frame's index map: per output element, the input element it copies (−1: the fill). */
export interface FrameMap {
  /** The map. */
  readonly index: Int32Array;
  /** The output shape of one frame, dimension 0 being 1. */
  readonly shape: readonly number[];
}

/**
 * Writes an integer array as an int32 reference.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { writeInts } from "./moves.ts";
 * let got: Int32Array | undefined;
 * writeInts({ ref: (d: Int32Array) => (got = d) } as never, [0, 2, 1]);
 * assert(got!.join() === "0,2,1");
 * ```
 */
export function writeInts(w: FieldWriter, v: readonly number[]): void {
  w.ref(Int32Array.from(v));
}

/**
 * Reads an integer array written by {@linkcode writeInts}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { readInts } from "./moves.ts";
 * assert(readInts({ i32s: () => Int32Array.of(3, 4) } as never, "x").join() === "3,4");
 * ```
 */
export function readInts(r: FieldReader, what: string): number[] {
  return Array.from(r.i32s(what));
}

/**
 * Checks a movement's input (an integer buffer, `count` per-axis entries) and whether its batch axis
 * and channel axis stay: a per-channel scale moves only with axis 1 untouched.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { checkMove } from "./moves.ts";
 * const ctx = { where: "t", fail: (m: string) => { throw new Error(m); } } as never;
 * const x = { dtype: "qint8" as const, shape: [1, 2, 3], scale: Float32Array.of(1, 2) };
 * assertThrows(() => checkMove(ctx, x, 3, { batchKept: true, channelsKept: false }), Error, "per-channel");
 * ```
 */
export function checkMove(
  ctx: InferContext,
  x: ValueInfo,
  count: number,
  kept: { readonly batchKept: boolean; readonly channelsKept: boolean },
): void {
  integerInput(ctx, x, "the input");
  if (count !== x.shape.length) {
    ctx.fail(`${ctx.where}: ${count} per-axis entries for the ${x.shape.length} axes of [${x.shape}]`);
  }
  if (!kept.batchKept) ctx.fail(`${ctx.where}: moves the batch axis (axis 0 must stay as it is)`);
  if (x.scale.length > 1 && !kept.channelsKept) {
    ctx.fail(`${ctx.where}: moves a per-channel value [${x.shape}] off its channel axis`);
  }
}

const maps = new WeakMap<Instr, Map<string, FrameMap>>();

/** The frame map of `instr` for input frames of `shape`, computed once. */
function frameMap(instr: Instr, shape: readonly number[], make: (frame: number[]) => FrameMap): FrameMap {
  const frame = [1, ...shape.slice(1)], key = frame.join();
  let m = maps.get(instr);
  if (!m) maps.set(instr, m = new Map());
  let f = m.get(key);
  if (!f) m.set(key, f = make(frame));
  return f;
}

/**
 * The CPU kernel of a movement: its frame map applied to every frame of `x`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { cpuMove } from "./moves.ts";
 * const x = { data: Int8Array.of(1, 2, 3, 4), dtype: "qint8" as const, shape: [2, 2], scale: Float32Array.of(1) };
 * const i = { op: "move", name: "m", inputs: [0], output: 1, epilogue: [] } as const;
 * const y = cpuMove(i, x, () => ({ index: Int32Array.of(1, 0, -1), shape: [1, 3] }), 7);
 * assert(y.data.join() === "2,1,7,4,3,7" && y.shape.join() === "2,3");
 * ```
 */
export function cpuMove(
  instr: Instr,
  x: IntValue,
  make: (frame: number[]) => FrameMap,
  fill = 0,
): IntValue {
  const f = frameMap(instr, x.shape, make), n = x.shape[0];
  const data = gatherFrames(x.data as QArray, {
    frames: n,
    inFrame: perFrame(x.shape),
    index: f.index,
    fill,
  });
  return { ...x, data, shape: [n, ...f.shape.slice(1)] };
}

/**
 * The WebGPU kernel of a movement: its frame map uploaded once, the resident gather per run.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gpuMove } from "./moves.ts";
 * const ctx = { ins: [{ name: "x", shape: [1, 3], dtype: "qint8", scale: Float32Array.of(1) }], u: { up: () => ({}) } } as never;
 * const i = { op: "move", name: "m", inputs: [0], output: 1, epilogue: [] } as const;
 * assert(typeof gpuMove(i, ctx, () => ({ index: Int32Array.of(0), shape: [1, 1] })) === "function");
 * ```
 */
export function gpuMove(
  instr: Instr,
  ctx: GpuPrepareContext,
  make: (frame: number[]) => FrameMap,
  fill = 0,
): GpuMain {
  const x = ctx.ins[0], f = frameMap(instr, x.shape, make);
  const index = ctx.u.up(f.index, [f.index.length]);
  const inFrame = perFrame(x.shape), out = GPU_STORAGE[x.dtype as "qint8"];
  return (dev, [t]) => ({
    t: gatherResident(dev, t, { index, inFrame, shape: [t.shape[0], ...f.shape.slice(1)], out, fill }),
  });
}

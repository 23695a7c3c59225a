/**
 * `slice`: a strided slice — per axis, the indices `starts[i] + k · steps[i]` before `ends[i]`
 * (normalized: 0 ≤ start ≤ end ≤ size for a positive step, −1 ≤ end ≤ start < size for a negative one),
 * on integers of any dtype; dtype and scale are kept. The batch axis is taken whole at any batch: its
 * start is 0 and its step 1, and its end is not read (the program may run at another batch).
 * @module
 */

import { sliceIndex, sliceOutShape } from "@hqat/qtensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { perFrame } from "./checks.ts";
import { checkMove, cpuMove, gpuMove, readInts, writeInts } from "./moves.ts";

/**
 * A `slice` instruction: per axis, the first index, the end and the step.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { SliceInstr } from "@hqat/program";
 * const s: SliceInstr = { op: "slice", name: "half", inputs: [0], output: 1, epilogue: [], starts: [0, 0], ends: [1, 4], steps: [1, 2] };
 * assert(s.steps[1] === 2);
 * ```
 */
export interface SliceInstr extends InstrBase {
  /** The kind. */
  readonly op: "slice";
  /** First index per axis. */
  readonly starts: readonly number[];
  /** End per axis (exclusive; −1 for a negative step through index 0); axis 0's is not read. */
  readonly ends: readonly number[];
  /** Step per axis (non-zero; negative runs backwards). */
  readonly steps: readonly number[];
}

const whole = (i: SliceInstr, axis: number, size: number) =>
  i.starts[axis] === 0 && i.ends[axis] === size && i.steps[axis] === 1;

/** The slice of one frame: the batch axis taken as its one index. */
const frameSpec = (i: SliceInstr) => ({
  starts: [0, ...i.starts.slice(1)],
  ends: [1, ...i.ends.slice(1)],
  steps: [1, ...i.steps.slice(1)],
});

/**
 * The table entry of `slice`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SLICE } from "@hqat/program";
 * assert(SLICE.code === 14 && SLICE.arity.join() === "1,1");
 * ```
 */
export const SLICE: InstrDef<SliceInstr> = {
  code: 14,
  arity: [1, 1],
  encode: (i, w) => {
    writeInts(w, i.starts);
    writeInts(w, i.ends);
    writeInts(w, i.steps);
  },
  decode: (r, base, where) => ({
    ...base,
    starts: readInts(r, `the starts of ${where}`),
    ends: readInts(r, `the ends of ${where}`),
    steps: readInts(r, `the steps of ${where}`),
  }),
  infer: (i, [x], ctx) => {
    const rank = x.shape.length;
    if (i.ends.length !== rank || i.steps.length !== rank) {
      ctx.fail(`${ctx.where}: starts, ends and steps need ${rank} entries each`);
    }
    checkMove(ctx, x, i.starts.length, {
      batchKept: i.starts[0] === 0 && i.steps[0] === 1,
      channelsKept: rank < 2 || whole(i, 1, x.shape[1]),
    });
    let shape: number[] = [];
    try {
      shape = sliceOutShape(x.shape, { ...i, ends: [x.shape[0], ...i.ends.slice(1)] });
    } catch (e) {
      ctx.fail(`${ctx.where}: ${(e as Error).message}`);
    }
    if (shape.some((d) => d < 1)) ctx.fail(`${ctx.where}: the slice of [${x.shape}] is empty`);
    return { ...x, shape };
  },
  cpu: (i, [x]) => cpuMove(i, x, (frame) => sliceIndex(frame, frameSpec(i))),
  gpu: (i, ctx) => gpuMove(i, ctx, (frame) => sliceIndex(frame, frameSpec(i))),
  layer: () => ({ op: "slice", attrs: {} }),
  cost: (_i, { out }) => ({ vector: { elements: perFrame(out.shape), work: 1 } }),
  label: (i, { ins }) => {
    const axes = i.starts.flatMap((b, a) =>
      a === 0 || whole(i, a, ins[0].shape[a])
        ? []
        : [`${a}:${b}:${i.ends[a]}${i.steps[a] === 1 ? "" : `:${i.steps[a]}`}`]
    );
    return ["slice", ...axes].join(" ");
  },
};

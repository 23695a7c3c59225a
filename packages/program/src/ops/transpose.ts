/**
 * `transpose`: output axis `i` is input axis `perm[i]` (a channel shuffle, an NHWC view), on integers of
 * any dtype; the values move, dtype and scale are kept. The batch axis stays first.
 * @module
 */

import { transposeIndex } from "@hqat/qtensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { perFrame } from "./checks.ts";
import { checkMove, cpuMove, gpuMove, readInts, writeInts } from "./moves.ts";

/**
 * A `transpose` instruction: the permutation of the axes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { TransposeInstr } from "@hqat/program";
 * const t: TransposeInstr = { op: "transpose", name: "shuffle", inputs: [0], output: 1, epilogue: [], perm: [0, 2, 1, 3, 4] };
 * assert(t.perm[0] === 0);
 * ```
 */
export interface TransposeInstr extends InstrBase {
  /** The kind. */
  readonly op: "transpose";
  /** Output axis `i` is input axis `perm[i]`; `perm[0]` is 0. */
  readonly perm: readonly number[];
}

const isPerm = (p: readonly number[]) => [...p].sort((a, b) => a - b).every((v, i) => v === i);

/**
 * The table entry of `transpose`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { TRANSPOSE } from "@hqat/program";
 * assert(TRANSPOSE.code === 13 && TRANSPOSE.arity.join() === "1,1");
 * ```
 */
export const TRANSPOSE: InstrDef<TransposeInstr> = {
  code: 13,
  arity: [1, 1],
  encode: (i, w) => writeInts(w, i.perm),
  decode: (r, base, where) => ({ ...base, perm: readInts(r, `the permutation of ${where}`) }),
  infer: (i, [x], ctx) => {
    checkMove(ctx, x, i.perm.length, { batchKept: i.perm[0] === 0, channelsKept: i.perm[1] === 1 });
    if (!isPerm(i.perm)) ctx.fail(`${ctx.where}: [${i.perm}] is not a permutation of the axes`);
    return { ...x, shape: i.perm.map((p) => x.shape[p]) };
  },
  cpu: (i, [x]) => cpuMove(i, x, (frame) => transposeIndex(frame, i.perm)),
  gpu: (i, ctx) => gpuMove(i, ctx, (frame) => transposeIndex(frame, i.perm)),
  layer: () => ({ op: "transpose", attrs: {} }),
  cost: (_i, { out }) => ({ vector: { elements: perFrame(out.shape), work: 1 } }),
  label: (i) => `transpose ${i.perm.join(",")}`,
};

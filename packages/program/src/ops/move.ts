/**
 * `move`: the input as it is, reshaped to the output buffer — an identity, a flatten, or with stages a
 * standalone requantization or activation. The lowering turns a stage-less move into a view (an
 * identity; a flatten read only by kinds that read their input flat), and folds a move's stages into
 * its producer.
 * @module
 */

import type { InstrBase, InstrDef } from "../instr.ts";
import { elementCount } from "../program.ts";
import { integerInput, perFrame } from "./checks.ts";

/**
 * A `move` instruction (no fields).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { MoveInstr } from "@hqat/program";
 * const m: MoveInstr = { op: "move", name: "relu", inputs: [0], output: 1, epilogue: [{ kind: "relu" }] };
 * assert(m.epilogue.length === 1);
 * ```
 */
export interface MoveInstr extends InstrBase {
  /** The kind. */
  readonly op: "move";
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** The op a move stands for: its activation, a reshape, or an identity. */
function moveOp(i: MoveInstr, reshapes: boolean): string {
  const s = i.epilogue.find((x) => x.kind === "relu" || x.kind === "relu6" || x.kind === "requant");
  if (s?.kind === "relu" || s?.kind === "relu6") return s.kind;
  if (s?.kind === "requant") return s.act === "none" ? "requantize" : s.act;
  return reshapes ? "flatten" : "identity";
}

/**
 * The table entry of `move`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MOVE } from "@hqat/program";
 * const b = { name: "r", shape: [1, 8], dtype: "qint8", scale: Float32Array.of(0.1) } as const;
 * const relu6 = { op: "move", name: "r", inputs: [0], output: 1, epilogue: [{ kind: "relu6" }] } as const;
 * assert(MOVE.code === 7 && MOVE.label(relu6, { ins: [b], out: b }) === "relu6");
 * ```
 */
export const MOVE: InstrDef<MoveInstr> = {
  code: 7,
  arity: [1, 1],
  reshapes: true,
  encode: () => {},
  decode: (_r, base) => ({ ...base }),
  infer: (_i, [x], ctx) => {
    integerInput(ctx, x, "the input");
    if (elementCount(x.shape) !== elementCount(ctx.out.shape)) {
      ctx.fail(`${ctx.where}: moves [${x.shape}] into the buffer [${ctx.out.shape}] of another size`);
    }
    if (x.scale.length > 1 && x.shape[1] !== ctx.out.shape[1]) {
      ctx.fail(`${ctx.where}: reshapes a per-channel value [${x.shape}] across its channels`);
    }
    return { ...x, shape: ctx.out.shape };
  },
  cpu: (_i, [x], ctx) => ({ ...x, shape: ctx.out.shape }),
  gpu: (_i, ctx) => (_dev, [x]) => ({ t: { ...x, shape: [x.shape[0], ...ctx.out.shape.slice(1)] } }),
  layer: (i, { ins, out }) => ({ op: moveOp(i, !sameShape(ins[0].shape, out.shape)), attrs: {} }),
  cost: (_i, { out }) => ({ vector: { elements: perFrame(out.shape), work: 1 } }),
  label: (i, { ins, out }) => moveOp(i, !sameShape(ins[0].shape, out.shape)),
  fold: (i, _operand, { ins, out }) => (sameShape(ins[0].shape, out.shape) ? i.epilogue : undefined),
};

/**
 * `lut`: a table-lookup activation — each int8/int16 input integer `q` becomes `table[q − qmin]`, a table
 * over the input's whole grid (256 entries for qint8, 65536 for qint16) built by `lutTable` from the
 * float function and the output scale. The output dtype is the table's, the scale the output buffer's.
 * `activation` names the float function (the BAYES op it is checked as, and the drawing).
 * @module
 */

import { intLut, type QArray } from "@hqat/qtensor";
import { lutResident } from "@hqat/tensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { activationInput, perFrame } from "./checks.ts";

/**
 * A `lut` instruction: the float function it tabulates and the table.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { LutInstr } from "@hqat/program";
 * const l: LutInstr = { op: "lut", name: "act", inputs: [0], output: 1, epilogue: [], activation: "sigmoid", table: new Int8Array(256) };
 * assert(l.table.length === 256);
 * ```
 */
export interface LutInstr extends InstrBase {
  /** The kind. */
  readonly op: "lut";
  /** The float function tabulated: `sigmoid`, `hardswish`, `silu`, `tanh`, `hardsigmoid`, `leaky_relu`, `clip`, `exp`, … */
  readonly activation: string;
  /** The output integer of each input integer `q`, at `q − qmin`; int8 or int16 (the output dtype). */
  readonly table: Int8Array | Int16Array;
}

const NAME = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The table entry of `lut`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { LUT } from "@hqat/program";
 * assert(LUT.code === 12 && LUT.arity.join() === "1,1");
 * ```
 */
export const LUT: InstrDef<LutInstr> = {
  code: 12,
  arity: [1, 1],
  encode: (i, w) => {
    w.u8(i.table instanceof Int16Array ? 1 : 0);
    w.u8(0);
    w.u16(0);
    w.ref(new TextEncoder().encode(i.activation));
    w.ref(i.table);
  },
  decode: (r, base, where) => {
    const wide = r.u8(`the table dtype of ${where}`);
    r.u8(where);
    r.u16(where);
    if (wide > 1) r.fail(`the table dtype of ${where} has unknown code ${wide}`);
    let activation = "";
    try {
      activation = new TextDecoder("utf-8", { fatal: true }).decode(r.u8s(`the activation of ${where}`));
    } catch {
      r.fail(`the activation of ${where} is not valid UTF-8`);
    }
    const table = wide ? r.i16s(`the table of ${where}`) : r.i8s(`the table of ${where}`);
    return { ...base, activation, table };
  },
  infer: (i, [x], ctx) => {
    activationInput(ctx, x, "the input");
    if (!NAME.test(i.activation)) {
      ctx.fail(`${ctx.where}: the activation "${i.activation.slice(0, 70)}" is not a lower-case name`);
    }
    const entries = x.dtype === "qint8" ? 256 : 65536;
    if (i.table.length !== entries) {
      ctx.fail(`${ctx.where}: a ${i.table.length}-entry table for a ${x.dtype} input (needs ${entries})`);
    }
    const dtype = i.table instanceof Int16Array ? "qint16" : "qint8";
    if (ctx.out.dtype !== dtype || ctx.out.scale.length !== 1) {
      ctx.fail(
        `${ctx.where}: a ${dtype} table writes a ${ctx.out.dtype} buffer of ${ctx.out.scale.length} scales`,
      );
    }
    return { dtype, shape: x.shape, scale: ctx.out.scale };
  },
  cpu: (i, [x], ctx) => ({
    data: intLut(x.data as QArray, i.table),
    shape: x.shape,
    dtype: i.table instanceof Int16Array ? "qint16" : "qint8",
    scale: ctx.out.scale,
  }),
  gpu: (i, ctx) => {
    const table = ctx.u.up(Int32Array.from(i.table), [i.table.length]);
    const out = i.table instanceof Int16Array ? "int16" : "int8";
    return (dev, [x]) => ({ t: lutResident(dev, x, { table, out }) });
  },
  layer: (i) => ({ op: i.activation, attrs: {} }),
  cost: (_i, { out }) => ({ vector: { elements: perFrame(out.shape), work: 1 } }),
  label: (i) => `${i.activation} (lut)`,
};

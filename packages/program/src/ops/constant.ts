/**
 * `constant`: a value of the model that no input changes (a constant operand of an add, sub or mul,
 * quantized once by the converter with its own scale): the integers of one frame, written repeated over
 * the batch, with the output buffer's dtype and scale. It reads no buffer and is not a transfer.
 * @module
 */

import { gatherFrames } from "@hqat/qtensor";
import { gatherResident } from "@hqat/tensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { isActivationDtype, perFrame } from "./checks.ts";

/**
 * A `constant` instruction: the integers of one frame, of the output buffer's dtype.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { ConstantInstr } from "@hqat/program";
 * const c: ConstantInstr = { op: "constant", name: "bias", inputs: [], output: 3, epilogue: [], data: Int8Array.of(4, -2) };
 * assert(c.data.length === 2);
 * ```
 */
export interface ConstantInstr extends InstrBase {
  /** The kind. */
  readonly op: "constant";
  /** One frame's integers (int8 or int16, the output buffer's dtype), row-major. */
  readonly data: Int8Array | Int16Array;
}

const identity = new Map<number, Int32Array>();

/**
 * The table entry of `constant`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CONSTANT } from "@hqat/program";
 * assert(CONSTANT.code === 11 && CONSTANT.arity.join() === "0,0" && CONSTANT.boundary === undefined);
 * ```
 */
export const CONSTANT: InstrDef<ConstantInstr> = {
  code: 11,
  arity: [0, 0],
  encode: (i, w) => {
    w.u8(i.data instanceof Int16Array ? 1 : 0);
    w.u8(0);
    w.u16(0);
    w.ref(i.data);
  },
  decode: (r, base, where) => {
    const wide = r.u8(`the dtype of ${where}`);
    r.u8(where);
    r.u16(where);
    if (wide > 1) r.fail(`the dtype of ${where} has unknown code ${wide}`);
    const data = wide ? r.i16s(`the values of ${where}`) : r.i8s(`the values of ${where}`);
    return { ...base, data };
  },
  infer: (i, _ins, ctx) => {
    const out = ctx.out, dtype = i.data instanceof Int16Array ? "qint16" : "qint8";
    if (!isActivationDtype(out.dtype) || out.dtype !== dtype) {
      ctx.fail(`${ctx.where}: holds ${dtype} values for a ${out.dtype} buffer`);
    }
    if (i.data.length !== perFrame(out.shape)) {
      ctx.fail(`${ctx.where}: ${i.data.length} values for a frame of [${out.shape.slice(1)}]`);
    }
    return { dtype: out.dtype, shape: out.shape, scale: out.scale };
  },
  cpu: (i, _ins, ctx) => {
    const frame = Int32Array.from({ length: i.data.length }, (_, k) => k);
    const data = gatherFrames(i.data, { frames: ctx.out.shape[0], inFrame: 0, index: frame });
    return { data, shape: ctx.out.shape, dtype: ctx.out.dtype, scale: ctx.out.scale };
  },
  gpu: (i, ctx) => {
    const n = i.data.length;
    const values = ctx.u.up(Int32Array.from(i.data), [n]);
    if (!identity.has(n)) identity.set(n, Int32Array.from({ length: n }, (_, k) => k));
    const index = ctx.u.up(identity.get(n)!, [n]);
    const out = i.data instanceof Int16Array ? "int16" : "int8";
    return (dev, _ins, x) => ({
      t: gatherResident(dev, values, {
        index,
        inFrame: 0,
        shape: [x.shape[0], ...ctx.out.shape.slice(1)],
        out,
      }),
    });
  },
  layer: () => ({ op: "constant", attrs: {} }),
  cost: () => ({}),
  label: (i) => `constant ×${i.data.length}`,
};

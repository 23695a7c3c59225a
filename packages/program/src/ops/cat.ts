/**
 * `cat`: each input requantized to the one output scale (SPEC.md), then concatenated along `axis`.
 * @module
 */

import { catResident, releaseTensor, requantResident } from "@hqat/tensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { elementCount } from "../program.ts";
import type { Requant } from "../stage.ts";
import { checkRequant, readRequant, requantValue, writeRequant } from "../stage_rules.ts";
import { GPU_STORAGE, requantPlanOf } from "../stage_gpu.ts";
import { innerOfAxis1 } from "../value.ts";
import { isActivationDtype, perFrame } from "./checks.ts";

/**
 * A `cat` instruction: the axis, and one requantization per input (all to the same dtype and scale,
 * without activation).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { CatInstr } from "@hqat/program";
 * const c = { op: "cat", name: "cat", inputs: [0, 1], output: 2, epilogue: [], axis: 1, requants: [] } as CatInstr;
 * assert(c.axis === 1);
 * ```
 */
export interface CatInstr extends InstrBase {
  /** The kind. */
  readonly op: "cat";
  /** The axis joined along. */
  readonly axis: number;
  /** One requantization per input. */
  readonly requants: readonly Requant[];
}

/**
 * The table entry of `cat`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CAT } from "@hqat/program";
 * assert(CAT.code === 6 && CAT.arity[0] === 1);
 * ```
 */
export const CAT: InstrDef<CatInstr> = {
  code: 6,
  arity: [1, 255],
  encode: (i, w) => {
    w.u32(i.axis);
    for (const r of i.requants) writeRequant(w, r);
  },
  decode: (r, base, where) => {
    const axis = r.u32(`the axis of ${where}`);
    const requants = base.inputs.map((_, k) => readRequant(r, `requantization ${k} of ${where}`));
    return { ...base, axis, requants };
  },
  infer: (i, ins, ctx) => {
    const x = ins[0], rank = x.shape.length;
    if (!(i.axis < rank)) ctx.fail(`${ctx.where}: axis ${i.axis} is out of range for rank ${rank}`);
    if (i.requants.length !== ins.length) {
      ctx.fail(`${ctx.where}: ${i.requants.length} requantizations for ${ins.length} inputs`);
    }
    const shape = [...x.shape];
    shape[i.axis] = 0;
    const r0 = i.requants[0];
    ins.forEach((t, k) => {
      if (
        t.dtype === "float32" || t.shape.length !== rank ||
        t.shape.some((d, j) => j !== i.axis && d !== x.shape[j])
      ) {
        ctx.fail(`${ctx.where}: input ${k} [${t.shape}] does not match [${x.shape}] off axis ${i.axis}`);
      }
      shape[i.axis] += t.shape[i.axis];
      const r = i.requants[k];
      checkRequant(r, t, { where: `${ctx.where}, requantization ${k}`, fail: ctx.fail });
      if (
        !isActivationDtype(r.dtype) || r.act !== "none" || r.scale.length !== 1 || r.dtype !== r0.dtype ||
        r.scale[0] !== r0.scale[0]
      ) {
        ctx.fail(
          `${ctx.where}: requantization ${k} must give the one qint8/qint16 output scale, without activation`,
        );
      }
    });
    return { dtype: r0.dtype, shape, scale: r0.scale };
  },
  cpu: (i, ins) => {
    const parts = ins.map((t, k) => requantValue(t, i.requants[k]));
    const shape = [...ins[0].shape];
    shape[i.axis] = ins.reduce((s, t) => s + t.shape[i.axis], 0);
    const inner = elementCount(shape.slice(i.axis + 1)), outer = elementCount(shape.slice(0, i.axis));
    const out = new (parts[0].data.constructor as Int8ArrayConstructor)(elementCount(shape));
    let at = 0;
    for (let r = 0; r < outer; r++) {
      for (const [k, p] of parts.entries()) {
        const len = ins[k].shape[i.axis] * inner;
        out.set((p.data as Int8Array).subarray(r * len, (r + 1) * len), at);
        at += len;
      }
    }
    return { data: out, shape, dtype: parts[0].dtype, scale: parts[0].scale };
  },
  gpu: (i, ctx) => {
    const parts = i.requants.map((r) => ({ requant: ctx.u.rq(requantPlanOf(r)), out: GPU_STORAGE[r.dtype] }));
    return (dev, xs) => {
      const ts = xs.map((x, k) =>
        requantResident(dev, x, {
          requant: parts[k].requant,
          inner: innerOfAxis1(x.shape),
          out: parts[k].out,
        })
      );
      try {
        return { t: catResident(dev, ts, { axis: i.axis }) };
      } finally {
        for (const p of ts) releaseTensor(dev, p);
      }
    };
  },
  layer: () => ({ op: "cat", attrs: {} }),
  cost: (_i, { out }) => ({ vector: { elements: perFrame(out.shape), work: 1 } }),
  label: (i) => `cat axis ${i.axis}`,
};

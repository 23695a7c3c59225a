/**
 * `quantize`: the model's QuantStub — the float input of the run to the output buffer's dtype with
 * `scale` (`clamp(round_half_even(x / scale))`, SPEC.md). The model input transfer: not a BPU step. The
 * CPU kernel is `@hqat/tensor`'s `quantizeFast` (WebAssembly); `@hqat/qtensor`'s `quantStub` is the reference.
 * @module
 */

import { quantStub, toScaleArray } from "@hqat/qtensor";
import { quantizeFast, quantizeResident } from "@hqat/tensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { isActivationDtype } from "./checks.ts";

/**
 * A `quantize` instruction: no inputs (it reads the model input), the QuantStub's scale.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { QuantizeInstr } from "@hqat/program";
 * const q: QuantizeInstr = { op: "quantize", name: "quant", inputs: [], output: 0, epilogue: [], scale: 1 / 128 };
 * assert(q.scale === 0.0078125);
 * ```
 */
export interface QuantizeInstr extends InstrBase {
  /** The kind. */
  readonly op: "quantize";
  /** The QuantStub scale. */
  readonly scale: number;
}

/**
 * The table entry of `quantize`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { QUANTIZE } from "@hqat/program";
 * assert(QUANTIZE.code === 0 && QUANTIZE.boundary === true);
 * ```
 */
export const QUANTIZE: InstrDef<QuantizeInstr> = {
  code: 0,
  arity: [0, 0],
  boundary: true,
  encode: (i, w) => w.f32(i.scale),
  decode: (r, base, where) => ({ ...base, scale: r.f32(`the scale of ${where}`) }),
  infer: (i, _ins, ctx) => {
    if (!(i.scale > 0 && i.scale < Infinity)) {
      ctx.fail(`${ctx.where}: scale ${i.scale} is not positive and finite`);
    }
    if (!isActivationDtype(ctx.out.dtype)) {
      ctx.fail(`${ctx.where}: quantizes to ${ctx.out.dtype}, not qint8/qint16`);
    }
    return { dtype: ctx.out.dtype, shape: ctx.inputShape, scale: Float32Array.of(i.scale) };
  },
  cpu: (i, _ins, ctx) => {
    const dtype = ctx.out.dtype as "qint8" | "qint16";
    return {
      data: quantizeFast(ctx.input, i.scale, { dtype }),
      shape: ctx.inputShape,
      dtype,
      scale: toScaleArray(i.scale),
    };
  },
  reference: (i, _ins, ctx) => {
    const dtype = ctx.out.dtype as "qint8" | "qint16";
    const q = quantStub(ctx.input, { shape: ctx.inputShape, scale: i.scale, dtype });
    return { data: q.data, shape: q.shape, dtype, scale: q.scale };
  },
  gpu: (i, ctx) => {
    const dtype = ctx.out.dtype;
    if (!isActivationDtype(dtype)) return ctx.fail(`quantize "${i.name}" writes a ${dtype} buffer`);
    const scale = ctx.u.up(Float32Array.of(toScaleArray(i.scale)[0]), [1]);
    return (dev, _ins, x) => ({ t: quantizeResident(dev, x, { scale, dtype }) });
  },
  layer: () => ({ op: "quant", attrs: {} }),
  cost: () => ({}),
  label: () => "quantize",
};

/**
 * `linear`: the exact int32 accumulator `[N, O]` of a quantized fully connected layer (int8 weights
 * per output channel, the input read as `[N, K]`).
 * @module
 */

import { intLinear, qtensor } from "@hqat/qtensor";
import { intLinearAccumulateFast, linearAccResident } from "@hqat/tensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { elementCount } from "../program.ts";
import { asQTensor, type IntValue } from "../value.ts";
import { accumulatorScale, activationInput, checkWeights } from "./checks.ts";

/**
 * A `linear` instruction: weights `[O, K]` with one scale per output, an optional int32 bias.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { LinearInstr } from "@hqat/program";
 * const l: LinearInstr = {
 *   op: "linear", name: "fc", inputs: [0], output: 1, epilogue: [], weight: new Int8Array(6), weightShape: [2, 3],
 *   weightScale: Float32Array.of(0.1, 0.1),
 * };
 * assert(l.weightShape[1] === 3);
 * ```
 */
export interface LinearInstr extends InstrBase {
  /** The kind. */
  readonly op: "linear";
  /** The int8 weights. */
  readonly weight: Int8Array;
  /** `[O, K]`. */
  readonly weightShape: readonly [number, number];
  /** One scale per output. */
  readonly weightScale: Float32Array;
  /** The int32 bias, one per output. */
  readonly bias?: Int32Array;
}

/** `x` read as `[N, K]`. */
const flat = (x: IntValue, k: number): IntValue => ({ ...x, shape: [x.shape[0], k] });

/**
 * The table entry of `linear`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { LINEAR } from "@hqat/program";
 * assert(LINEAR.code === 2 && LINEAR.readsFlat === true);
 * ```
 */
export const LINEAR: InstrDef<LinearInstr> = {
  code: 2,
  arity: [1, 1],
  readsFlat: true,
  encode: (i, w) => {
    for (const d of i.weightShape) w.u32(d);
    w.ref(i.weight);
    w.ref(i.weightScale);
    w.ref(i.bias);
  },
  decode: (r, base, where) => {
    const weightShape = [
      r.u32(`the weight shape of ${where}`),
      r.u32(`the weight shape of ${where}`),
    ] as const;
    const weight = r.i8s(`the weights of ${where}`), weightScale = r.f32s(`the weight scales of ${where}`);
    const b = r.i32s(`the bias of ${where}`);
    return { ...base, weightShape, weight, weightScale, ...(b.length > 0 ? { bias: b } : {}) };
  },
  infer: (i, [x], ctx) => {
    activationInput(ctx, x, "the input");
    const [o, k] = i.weightShape;
    if (elementCount(x.shape) !== x.shape[0] * k) {
      ctx.fail(`${ctx.where}: the input [${x.shape}] does not hold ${k} features per frame`);
    }
    checkWeights(ctx, i, x);
    return { dtype: "qint32", shape: [x.shape[0], o], scale: accumulatorScale(x.scale[0], i.weightScale) };
  },
  cpu: (i, [x]) => {
    const [o, k] = i.weightShape, n = x.shape[0];
    const data = intLinearAccumulateFast(
      x.data as Int8Array | Int16Array,
      [n, k],
      i.weight,
      i.weightShape,
      i.bias,
    );
    return { data, shape: [n, o], dtype: "qint32", scale: accumulatorScale(x.scale[0], i.weightScale) };
  },
  reference: (i, [x]) => {
    const w = qtensor(i.weight, { shape: i.weightShape, scale: i.weightScale, axis: 0, dtype: "qint8" });
    const y = intLinear(asQTensor(flat(x, i.weightShape[1])), w, {
      quantizedBias: i.bias,
      output: { dtype: "qint32" },
    });
    return {
      data: y.data,
      shape: y.shape,
      dtype: "qint32",
      scale: accumulatorScale(x.scale[0], i.weightScale),
    };
  },
  gpu: (i, ctx) => {
    const weight = ctx.u.up(i.weight, i.weightShape);
    const bias = i.bias && ctx.u.up(i.bias, [i.bias.length]);
    const k = i.weightShape[1];
    return (dev, [x]) => {
      if (elementCount(x.shape) !== x.shape[0] * k) {
        ctx.fail(`a linear layer of ${k} input features reads [${x.shape}]`);
      }
      const t = linearAccResident(dev, { ...x, shape: [x.shape[0], k] }, { weight });
      return { t, bias: bias && { tensor: bias, inner: 1 } };
    };
  },
  layer: (i) => ({ op: "linear", attrs: { inFeatures: i.weightShape[1], outFeatures: i.weightShape[0] } }),
  cost: (i) => ({ gemm: { m: 1, n: i.weightShape[0], k: i.weightShape[1], groups: 1 } }),
  label: () => "linear",
};

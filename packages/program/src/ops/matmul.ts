/**
 * `matmul`: the product of two int8/int16 activations, `[N, ..., m, k] × [N, ..., k, n]` with the batch
 * dimensions after N broadcast (each pair equal or one of them 1, equal ranks): the exact int32
 * accumulator `Σ_k a · b` with scale `sa · sb`, which the epilogue requantizes. The verifier refuses a
 * product whose worst case `k · |a|max · |b|max` leaves int32.
 * @module
 */

import { intMatmul, matmulShape, type QArray, QDTYPE_RANGES } from "@hqat/qtensor";
import { matmulResident } from "@hqat/tensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { activationInput } from "./checks.ts";

/**
 * A `matmul` instruction (no fields: the product's scale follows from its operands).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { MatmulInstr } from "@hqat/program";
 * const m: MatmulInstr = { op: "matmul", name: "attn", inputs: [3, 4], output: 5, epilogue: [] };
 * assert(m.inputs.length === 2);
 * ```
 */
export interface MatmulInstr extends InstrBase {
  /** The kind. */
  readonly op: "matmul";
}

const INT32_MAX = 2 ** 31 - 1;

/**
 * The table entry of `matmul`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MATMUL } from "@hqat/program";
 * assert(MATMUL.code === 18 && MATMUL.arity.join() === "2,2");
 * ```
 */
export const MATMUL: InstrDef<MatmulInstr> = {
  code: 18,
  arity: [2, 2],
  encode: () => {},
  decode: (_r, base) => ({ ...base }),
  infer: (_i, [a, b], ctx) => {
    activationInput(ctx, a, "operand 0");
    activationInput(ctx, b, "operand 1");
    let shape: number[] = [];
    try {
      if (a.shape.length < 3 || a.shape[0] !== b.shape[0]) throw new RangeError("the batch differs");
      shape = matmulShape(a.shape, b.shape);
    } catch {
      ctx.fail(`${ctx.where}: [${a.shape}] and [${b.shape}] are not [N, ..., m, k] and [N, ..., k, n]`);
    }
    const k = a.shape[a.shape.length - 1];
    const worst = k * -QDTYPE_RANGES[a.dtype as "qint8"].qmin * -QDTYPE_RANGES[b.dtype as "qint8"].qmin;
    if (worst > INT32_MAX) {
      ctx.fail(`${ctx.where}: ${k} products of ${a.dtype} by ${b.dtype} can reach ${worst}, outside int32`);
    }
    return { dtype: "qint32", shape, scale: Float32Array.of(a.scale[0] * b.scale[0]) };
  },
  cpu: (_i, [a, b]) => {
    const y = intMatmul(a.data as QArray, a.shape, b.data as QArray, b.shape);
    return { data: y.data, shape: y.shape, dtype: "qint32", scale: Float32Array.of(a.scale[0] * b.scale[0]) };
  },
  gpu: () => (dev, [a, b]) => ({ t: matmulResident(dev, a, b) }),
  layer: () => ({ op: "matmul", attrs: {} }),
  cost: (_i, { ins, out }) => {
    const r = out.shape.length, k = ins[0].shape[r - 1];
    const groups = out.shape.slice(1, -2).reduce((p, d) => p * d, 1);
    return { gemm: { m: out.shape[r - 2], n: out.shape[r - 1], k, groups } };
  },
  label: (_i, { ins }) => `matmul k${ins[0].shape.at(-1)}`,
};

/**
 * `dequantize`: the model's DeQuantStub — the integer output `q · scale` as float32; its input buffer is
 * the raw output. The model output transfer: not a BPU step. On WebGPU the raw output is read back and
 * dequantized on the host, so both backends give the same floats.
 * @module
 */

import { dequantStub } from "@hqat/qtensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { asQTensor } from "../value.ts";
import { integerInput } from "./checks.ts";

/**
 * A `dequantize` instruction (no fields).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { DequantizeInstr } from "@hqat/program";
 * const d: DequantizeInstr = { op: "dequantize", name: "dequant", inputs: [3], output: 4, epilogue: [] };
 * assert(d.inputs[0] === 3);
 * ```
 */
export interface DequantizeInstr extends InstrBase {
  /** The kind. */
  readonly op: "dequantize";
}

/**
 * The table entry of `dequantize`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { DEQUANTIZE } from "@hqat/program";
 * assert(DEQUANTIZE.code === 8 && DEQUANTIZE.boundary === true);
 * ```
 */
export const DEQUANTIZE: InstrDef<DequantizeInstr> = {
  code: 8,
  arity: [1, 1],
  boundary: true,
  encode: () => {},
  decode: (_r, base) => ({ ...base }),
  infer: (_i, [x], ctx) => {
    integerInput(ctx, x, "the input");
    return { dtype: "float32", shape: x.shape, scale: Float32Array.of(1) };
  },
  cpu: (_i, [x]) => ({
    data: dequantStub(asQTensor(x)),
    shape: x.shape,
    dtype: "float32",
    scale: Float32Array.of(1),
  }),
  // The raw output stays on the device; the executor reads it back and dequantizes it with `cpu`.
  gpu: () => (_dev, [x]) => ({ t: x }),
  layer: () => ({ op: "dequant", attrs: {} }),
  cost: () => ({}),
  label: () => "dequantize",
  accepts: () => false,
};

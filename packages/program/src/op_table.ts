/**
 * The instruction table: one entry per instruction kind, typed over the kinds, so a kind without its
 * container fields, rule, CPU and WebGPU kernels, BAYES layer, cost rule or label does not compile.
 * @module
 */

import type { Instr, InstrDef, InstrOf, InstrOp } from "./instr.ts";
import { ADD } from "./ops/add.ts";
import { AVG_POOL2D } from "./ops/avg_pool2d.ts";
import { CAT } from "./ops/cat.ts";
import { CONSTANT } from "./ops/constant.ts";
import { CONV2D } from "./ops/conv2d.ts";
import { CONV_TRANSPOSE2D } from "./ops/conv_transpose2d.ts";
import { DEQUANTIZE } from "./ops/dequantize.ts";
import { LINEAR } from "./ops/linear.ts";
import { LUT } from "./ops/lut.ts";
import { MATMUL } from "./ops/matmul.ts";
import { MAX_POOL2D } from "./ops/max_pool2d.ts";
import { MOVE } from "./ops/move.ts";
import { MUL } from "./ops/mul.ts";
import { PAD } from "./ops/pad.ts";
import { QUANTIZE } from "./ops/quantize.ts";
import { REDUCE_MEAN } from "./ops/reduce_mean.ts";
import { RESIZE } from "./ops/resize.ts";
import { SLICE } from "./ops/slice.ts";
import { SOFTMAX } from "./ops/softmax.ts";
import { SUB } from "./ops/sub.ts";
import { TRANSPOSE } from "./ops/transpose.ts";

/**
 * Every instruction kind's entry.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { INSTR_TABLE } from "@hqat/program";
 * assert(INSTR_TABLE.conv2d.code === 1 && INSTR_TABLE.linear.readsFlat === true);
 * ```
 */
export const INSTR_TABLE: { readonly [K in InstrOp]: InstrDef<InstrOf<K>> } = {
  quantize: QUANTIZE,
  conv2d: CONV2D,
  linear: LINEAR,
  add: ADD,
  avg_pool2d: AVG_POOL2D,
  max_pool2d: MAX_POOL2D,
  cat: CAT,
  move: MOVE,
  dequantize: DEQUANTIZE,
  mul: MUL,
  sub: SUB,
  constant: CONSTANT,
  lut: LUT,
  transpose: TRANSPOSE,
  slice: SLICE,
  pad: PAD,
  resize: RESIZE,
  reduce_mean: REDUCE_MEAN,
  matmul: MATMUL,
  conv_transpose2d: CONV_TRANSPOSE2D,
  softmax: SOFTMAX,
};

/**
 * The instruction kinds in opcode order (the opcode of a kind is its index).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { INSTR_OPS } from "@hqat/program";
 * assert(INSTR_OPS.indexOf("conv2d") === 1 && INSTR_OPS.at(9) === "mul");
 * ```
 */
export const INSTR_OPS: readonly InstrOp[] = (Object.keys(INSTR_TABLE) as InstrOp[])
  .sort((a, b) => INSTR_TABLE[a].code - INSTR_TABLE[b].code);

/**
 * The table entry of `instr`'s kind, typed for it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { instrDef } from "@hqat/program";
 * assert(instrDef({ op: "move", name: "m", inputs: [0], output: 1, epilogue: [] }).code === 7);
 * ```
 */
export function instrDef<I extends Instr>(instr: I): InstrDef<I> {
  return INSTR_TABLE[instr.op] as unknown as InstrDef<I>;
}

/**
 * The buffers an instruction reads: its inputs and the addends of its epilogue.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { instrReads } from "@hqat/program";
 * const r = instrReads({ op: "move", name: "m", inputs: [1], output: 2, epilogue: [{ kind: "add", addend: 0, shiftAddend: false, k: 1, t: 1 }] });
 * assert(r.join() === "1,0");
 * ```
 */
export function instrReads(instr: Instr): number[] {
  const ids = [...instr.inputs];
  for (const s of instr.epilogue) if (s.kind === "add") ids.push(s.addend);
  return ids;
}

/**
 * Whether `instr` is the input transfer: a boundary kind that reads no buffer (it reads the float model
 * input).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isInputTransfer } from "@hqat/program";
 * assert(isInputTransfer({ op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 1 }));
 * assert(!isInputTransfer({ op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] }));
 * ```
 */
export function isInputTransfer(instr: Instr): boolean {
  const def = instrDef(instr);
  return def.boundary === true && def.arity[1] === 0;
}

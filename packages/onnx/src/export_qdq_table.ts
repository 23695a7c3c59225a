/**
 * The QDQ export rules, one per instruction kind, in one table typed over the kinds: a kind added to
 * `@hqat/program` without an export rule does not compile.
 * @module
 */
import type { InstrOf, InstrOp } from "@hqat/program";
import {
  ADD_QDQ,
  AVG_POOL2D_QDQ,
  CONV2D_QDQ,
  CONV_TRANSPOSE2D_QDQ,
  LINEAR_QDQ,
  MATMUL_QDQ,
  MUL_QDQ,
  REDUCE_MEAN_QDQ,
  SOFTMAX_QDQ,
  SUB_QDQ,
} from "./export_qdq_compute.ts";
import {
  CAT_QDQ,
  CONSTANT_QDQ,
  DEQUANTIZE_QDQ,
  LUT_QDQ,
  MAX_POOL2D_QDQ,
  MOVE_QDQ,
  PAD_QDQ,
  QUANTIZE_QDQ,
  RESIZE_QDQ,
  SLICE_QDQ,
  TRANSPOSE_QDQ,
} from "./export_qdq_data.ts";
import type { QdqRule } from "./export_qdq_rule.ts";

/**
 * The export rule of every instruction kind.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { QDQ_RULES } from "./export_qdq_table.ts";
 * assert(Object.keys(QDQ_RULES).length === 21 && QDQ_RULES.conv2d !== undefined);
 * ```
 */
export const QDQ_RULES: { readonly [K in InstrOp]: QdqRule<InstrOf<K>> } = {
  quantize: QUANTIZE_QDQ,
  conv2d: CONV2D_QDQ,
  linear: LINEAR_QDQ,
  add: ADD_QDQ,
  avg_pool2d: AVG_POOL2D_QDQ,
  max_pool2d: MAX_POOL2D_QDQ,
  cat: CAT_QDQ,
  move: MOVE_QDQ,
  dequantize: DEQUANTIZE_QDQ,
  mul: MUL_QDQ,
  sub: SUB_QDQ,
  constant: CONSTANT_QDQ,
  lut: LUT_QDQ,
  transpose: TRANSPOSE_QDQ,
  slice: SLICE_QDQ,
  pad: PAD_QDQ,
  resize: RESIZE_QDQ,
  reduce_mean: REDUCE_MEAN_QDQ,
  matmul: MATMUL_QDQ,
  conv_transpose2d: CONV_TRANSPOSE2D_QDQ,
  softmax: SOFTMAX_QDQ,
};

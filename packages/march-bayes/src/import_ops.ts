/**
 * The BAYES operator-table entries of the operators that imported networks add (constants, table
 * activations, data movement, resize, reductions, matmul, transposed convolution, softmax), each with
 * where its dtypes and limits come from: a row of the plugin's supported-operator table, or "hqat
 * choice" with the reason where nothing public fixes it.
 * @module
 */

import type { OpEntry } from "./limit.ts";

/**
 * The entries, keyed by op name; `BAYES_OP_TABLE` includes them.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { IMPORT_OP_ENTRIES } from "./import_ops.ts";
 * assert(IMPORT_OP_ENTRIES.constant.minInputs === 0);
 * ```
 */
export const IMPORT_OP_ENTRIES: Readonly<Record<string, OpEntry>> = {
  constant: {
    op: "constant",
    torch: "a constant tensor operand (torch.Tensor)",
    minInputs: 0,
    maxInputs: 0,
    inputDtypes: ["qint8", "qint16"],
    outputDtypes: ["qint8", "qint16"],
    dtypeSource: "hqat choice: a constant operand of add, sub or mul, quantized with its own scale and " +
      "loaded like a feature (the plugin's add row asks for add_scalar when an operand is a scalar)",
    limits: [],
  },
};

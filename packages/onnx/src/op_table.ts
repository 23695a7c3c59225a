/**
 * The table of supported operators: one rule (shape rule with folding, builder) per ONNX operator of
 * the default domain. An operator that is not in it is refused before any work.
 * @module
 */
import type { OpRule } from "./rule.ts";
import { ELEMENTWISE_RULES } from "./rules_elementwise.ts";
import { LAYER_RULES } from "./rules_layers.ts";
import { SHAPE_RULES } from "./rules_shape.ts";
import { SPATIAL_RULES } from "./rules_spatial.ts";

/** Every supported operator's rule, by ONNX operator name. */
export const OP_RULES: Readonly<Record<string, OpRule>> = {
  ...LAYER_RULES,
  ...ELEMENTWISE_RULES,
  ...SPATIAL_RULES,
  ...SHAPE_RULES,
};

/** The supported operators in alphabetical order (for messages and docs). */
export const SUPPORTED_OPS: readonly string[] = Object.keys(OP_RULES).filter((k) => !k.includes(".")).sort();

/**
 * Whether `opType` (in `domain`) is supported.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isSupportedOp } from "@hqat/onnx";
 * assert(isSupportedOp("Conv") && !isSupportedOp("LSTM") && !isSupportedOp("Conv", "com.microsoft"));
 * ```
 */
export function isSupportedOp(opType: string, domain = ""): boolean {
  // Internal operators (`hqat.…`, made by rewrites after the check) are never read from a file.
  return (domain === "" || domain === "ai.onnx") && Object.hasOwn(OP_RULES, opType) && !opType.includes(".");
}

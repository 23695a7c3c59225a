/**
 * The shape of the target's limits: what a limit measures, how it is bounded and where it comes
 * from, and the entry each op has in an operator table.
 * @module
 */

import { type LayerDesc, nchwOf, type QDtype } from "./layer_desc.ts";

/**
 * Where a model input comes from on the board: a DDR buffer, the image pyramid (NV12 in DDR) or
 * the resizer (an ROI of the pyramid).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { InputSource } from "@hqat/march-bayes";
 * const s: InputSource = "pyramid";
 * assert(s === "pyramid");
 * ```
 */
export type InputSource = "ddr" | "pyramid" | "resizer";

/**
 * What a limit's measurement may depend on besides the layer.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { LimitContext } from "@hqat/march-bayes";
 * const c: LimitContext = { inputSource: "ddr" };
 * assert(c.inputSource === "ddr");
 * ```
 */
export interface LimitContext {
  /** Where the model input comes from. */
  readonly inputSource: InputSource;
}

/**
 * One limit of the target. `measure` returns the values the limit bounds (`undefined` when the
 * limit does not apply to this layer); `kind` says how they are bounded: `max` (every value
 * ≤ `bound`), `min` (every value ≥ `bound`) or `unsupported` (any measured value is a violation).
 * `rule` is the limit as the docs state it; `source` says where it comes from ("hqat choice" where
 * nothing public fixes it).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BAYES_OP_TABLE } from "@hqat/march-bayes";
 * const kernel = BAYES_OP_TABLE.conv2d.limits.find((l) => l.id === "conv2d.kernel")!;
 * assert(kernel.kind === "max" && kernel.bound === 31);
 * ```
 */
export interface Limit {
  /** Id, e.g. `conv2d.kernel`; a violation reports it. */
  readonly id: string;
  /** What is measured, as messages name it (e.g. `kernel`). */
  readonly quantity: string;
  /** The limit as the docs state it. */
  readonly rule: string;
  /** How the measured values are bounded. */
  readonly kind: "max" | "min" | "unsupported";
  /** The bound (unused for `unsupported`). */
  readonly bound: number;
  /** Where the limit comes from. */
  readonly source: string;
  /** The values the limit bounds, or `undefined` when it does not apply to the layer. */
  readonly measure: (layer: LayerDesc, context: LimitContext) => readonly number[] | undefined;
  /** Shows the measured values in a message (default: the largest, or the smallest for `min`). */
  readonly format?: (values: readonly number[], layer: LayerDesc) => string;
}

/**
 * One op of the target: the torch operator it stands for, how many inputs it takes, the dtypes of
 * its inputs and output (`"same-as-input"`: the output keeps input 0's dtype) and its limits.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BAYES_OP_TABLE } from "@hqat/march-bayes";
 * assert(BAYES_OP_TABLE.relu6.outputDtypes === "same-as-input");
 * ```
 */
export interface OpEntry {
  /** The op name of {@linkcode LayerDesc.op}. */
  readonly op: string;
  /** The torch operator it stands for. */
  readonly torch: string;
  /** Fewest inputs. */
  readonly minInputs: number;
  /** Most inputs. */
  readonly maxInputs: number;
  /** Dtypes every input may have. */
  readonly inputDtypes: readonly QDtype[];
  /** Dtypes the output may have, or `"same-as-input"`. */
  readonly outputDtypes: readonly QDtype[] | "same-as-input";
  /** Where the dtype rules come from. */
  readonly dtypeSource: string;
  /** The op's size limits. */
  readonly limits: readonly Limit[];
}

/** Source prefix: horizon_plugin_pytorch's published operator constraints, Bayes column. */
export const PLUGIN =
  'horizon_plugin_pytorch docs, appendix "Supported general operators" (支持的公版算子), ' +
  "Bayes column (J5 OpenExplorer plugin/source/appendix/operator.html; D-Robotics rdk_doc toolchain expert docs)";
/** Source: the general BPU limits published for RDK Ultra (a BAYES BPU). */
export const GENERAL =
  "D-Robotics rdk_doc, supported_op_list (模型算子支持列表): general limits for RDK Ultra (Bayes BPU)";
/** Source: the published BPU tensor alignment rules. */
export const ALIGNMENT =
  "D-Robotics rdk_doc, Algorithm_Application/cdev_dnn_api/data_alignment: BPU alignment rules";

/** The source string for one row of the plugin's operator table. */
export const row = (torch: string): string => `${PLUGIN}, ${torch} row`;
/** An attribute pair, or `[d, d]` when it is absent. */
export const pairOf = (p: readonly [number, number] | undefined, d: number): [number, number] =>
  p ? [p[0], p[1]] : [d, d];
/** Values joined as `a×b`. */
export const times = (v: readonly number[]): string => v.join("×");
/** Channels of a layer's input 0. */
export const channelsIn = (l: LayerDesc): number => nchwOf(l.inputs[0]?.shape ?? [1]).c;
/** Channels of a layer's output. */
export const channelsOut = (l: LayerDesc): number => nchwOf(l.output.shape).c;

/** A limit that bounds every measured value from above. */
export function maxLimit(
  id: string,
  quantity: string,
  rule: string,
  bound: number,
  source: string,
  measure: Limit["measure"],
  format?: Limit["format"],
): Limit {
  return { id, quantity, rule, kind: "max", bound, source, measure, format };
}

/** A limit that forbids a feature: any measured value is a violation. */
export function unsupported(
  id: string,
  quantity: string,
  rule: string,
  source: string,
  measure: Limit["measure"],
  format?: Limit["format"],
): Limit {
  return { id, quantity, rule, kind: "unsupported", bound: 0, source, measure, format };
}

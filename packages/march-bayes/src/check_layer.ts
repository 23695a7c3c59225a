/**
 * Checks one layer against the target's operator table.
 * @module
 */

import { type LayerDesc, type QDtype, validateLayerDesc } from "./layer_desc.ts";
import type { InputSource, Limit, LimitContext } from "./limit.ts";
import { type March, resolveMarch } from "./march.ts";
import { GENERAL_LIMITS, opTable } from "./op_table.ts";

/**
 * One way a layer breaks the target's rules. `limit` is the limit's id (e.g. `conv2d.kernel`),
 * `actual` the offending value as the message shows it, `allowed` the bound, `source` where the
 * limit comes from.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { checkLayer, March } from "@hqat/march-bayes";
 * const [v] = checkLayer({
 *   name: "x",
 *   op: "softplus",
 *   inputs: [{ shape: [1, 8, 4, 4], dtype: "qint8" }],
 *   output: { shape: [1, 8, 4, 4], dtype: "qint8" },
 *   attrs: {},
 * }, { march: March.BAYES });
 * assert(v.limit === "op.supported" && v.actual === "softplus");
 * ```
 */
export interface Violation {
  /** The layer's name. */
  readonly layer: string;
  /** The layer's op. */
  readonly op: string;
  /** The broken limit's id (e.g. `conv2d.kernel`, `op.supported`). */
  readonly limit: string;
  /** The offending value, as the message shows it. */
  readonly actual: string;
  /** What is allowed (e.g. `≤ 31`, a dtype list, `not supported`). */
  readonly allowed: string;
  /** A one-line description naming the layer, the limit and the actual value. */
  readonly message: string;
  /** Where the limit comes from. */
  readonly source: string;
}

/**
 * Options of {@linkcode checkLayer}: the march (default: the one set with `setMarch`) and where
 * the model input comes from (default `"ddr"`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { type CheckOptions, March } from "@hqat/march-bayes";
 * const o: CheckOptions = { march: March.BAYES, inputSource: "pyramid" };
 * assert(o.inputSource === "pyramid");
 * ```
 */
export interface CheckOptions {
  /** The march (default: the one set with `setMarch`). */
  readonly march?: March;
  /** Where the model input comes from (default `"ddr"`). */
  readonly inputSource?: InputSource;
}

const LABELS: Record<March, string> = { "bernoulli2": "BERNOULLI2", "bayes": "BAYES", "bayes-e": "BAYES_E" };
const TABLE_SOURCE =
  "hqat operator table (BAYES_OP_TABLE), built from horizon_plugin_pytorch's supported operators";

function describe(limit: Limit, values: readonly number[], layer: LayerDesc): string {
  if (limit.format) return limit.format(values, layer);
  if (values.length === 1) return String(values[0]);
  return String(limit.kind === "min" ? Math.min(...values) : Math.max(...values));
}

function broken(limit: Limit, values: readonly number[]): boolean {
  switch (limit.kind) {
    case "max":
      return values.some((v) => v > limit.bound);
    case "min":
      return values.some((v) => v < limit.bound);
    case "unsupported":
      return true;
  }
}

function limitViolation(layer: LayerDesc, limit: Limit, values: readonly number[], label: string): Violation {
  const actual = describe(limit, values, layer);
  const head = `${layer.name}: ${layer.op} ${limit.quantity} ${actual}`;
  const message = limit.kind === "max"
    ? `${head} exceeds the ${label} limit (${limit.rule})`
    : limit.kind === "min"
    ? `${head} is below the ${label} limit (${limit.rule})`
    : `${head} is not supported by ${label} (${limit.rule})`;
  const allowed = limit.kind === "max"
    ? `≤ ${limit.bound}`
    : limit.kind === "min"
    ? `≥ ${limit.bound}`
    : "not supported";
  return { layer: layer.name, op: layer.op, limit: limit.id, actual, allowed, message, source: limit.source };
}

function dtypeViolation(
  layer: LayerDesc,
  which: string,
  dtype: QDtype,
  allowed: readonly QDtype[],
  label: string,
  source: string,
): Violation {
  const list = allowed.join(", ");
  return {
    layer: layer.name,
    op: layer.op,
    limit: `${layer.op}.dtype`,
    actual: dtype,
    allowed: list,
    message: `${layer.name}: ${layer.op} ${which} dtype ${dtype} is not supported by ${label} (${layer.op} ${
      which === "output" ? "gives" : "takes"
    } ${list})`,
    source,
  };
}

/**
 * Checks `layer` against the operator table of the march and returns every violation (an empty
 * list when the layer is supported): an op the table lacks, a wrong input count, a dtype the op
 * does not take or give, and each size limit it breaks, with messages that name the limit and the
 * actual value. Throws a `TypeError` for a malformed description and a `RangeError` when no march
 * is given or set, or the march has no table.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { checkLayer, March } from "@hqat/march-bayes";
 * const [v] = checkLayer({
 *   name: "features.0.0",
 *   op: "conv2d",
 *   inputs: [{ shape: [1, 3, 64, 64], dtype: "qint8" }],
 *   output: { shape: [1, 32, 32, 32], dtype: "qint8" },
 *   attrs: { kernel: [33, 33], padding: [16, 16] },
 * }, { march: March.BAYES });
 * assert(v.message === "features.0.0: conv2d kernel 33×33 exceeds the BAYES limit (kernel < 32 per side)");
 * ```
 */
export function checkLayer(layer: LayerDesc, options: CheckOptions = {}): Violation[] {
  validateLayerDesc(layer);
  const march = resolveMarch(options.march, "checkLayer");
  const label = LABELS[march];
  const entry = opTable(march)[layer.op];
  if (entry === undefined) {
    return [{
      layer: layer.name,
      op: layer.op,
      limit: "op.supported",
      actual: layer.op,
      allowed: `an op of the ${label} table`,
      message:
        `${layer.name}: op "${layer.op}" is not supported by ${label} (no entry in the ${label} operator table)`,
      source: TABLE_SOURCE,
    }];
  }
  const out: Violation[] = [];
  const n = layer.inputs.length;
  if (n < entry.minInputs || n > entry.maxInputs) {
    const rule = entry.minInputs === entry.maxInputs
      ? `${entry.minInputs} input${entry.minInputs === 1 ? "" : "s"}`
      : `${entry.minInputs} to ${entry.maxInputs} inputs`;
    out.push({
      layer: layer.name,
      op: layer.op,
      limit: `${layer.op}.inputs`,
      actual: String(n),
      allowed: rule,
      message: `${layer.name}: ${layer.op} input count ${n} ${
        n < entry.minInputs ? "is below" : "exceeds"
      } the ${label} limit (${rule})`,
      source: entry.dtypeSource,
    });
  }
  layer.inputs.forEach((t, i) => {
    if (!entry.inputDtypes.includes(t.dtype)) {
      out.push(dtypeViolation(layer, `input ${i}`, t.dtype, entry.inputDtypes, label, entry.dtypeSource));
    }
  });
  const outputs = entry.outputDtypes === "same-as-input"
    ? (n > 0 ? [layer.inputs[0].dtype] : entry.inputDtypes)
    : entry.outputDtypes;
  if (!outputs.includes(layer.output.dtype)) {
    out.push(dtypeViolation(layer, "output", layer.output.dtype, outputs, label, entry.dtypeSource));
  }
  const context: LimitContext = { inputSource: options.inputSource ?? "ddr" };
  for (const limit of [...entry.limits, ...GENERAL_LIMITS]) {
    const values = limit.measure(layer, context);
    if (values !== undefined && values.length > 0 && broken(limit, values)) {
      out.push(limitViolation(layer, limit, values, label));
    }
  }
  return out;
}

/**
 * {@linkcode checkLayer} over every layer of a model, violations in layer order.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { checkLayers, March, mobileNetV2Layers } from "@hqat/march-bayes";
 * assert(checkLayers(mobileNetV2Layers(), { march: March.BAYES, inputSource: "pyramid" }).length === 0);
 * ```
 */
export function checkLayers(layers: readonly LayerDesc[], options: CheckOptions = {}): Violation[] {
  return layers.flatMap((layer) => checkLayer(layer, options));
}

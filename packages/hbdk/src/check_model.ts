/**
 * `checkModel`: hqat's counterpart of `check_model` — every layer of a model against the march's
 * operator table (for an integer program, one layer per instruction, described by the instruction
 * table).
 * @module
 */

import { type Graph, graphLayers } from "@hqat/fx";
import { checkLayer, type InputSource, type LayerDesc, type March, type Violation } from "@hqat/march-bayes";
import type { Program } from "@hqat/program";
import { deployMarch } from "./deploy_march.ts";
import { exampleBatch, type ExampleInput } from "./example_inputs.ts";
import { programLayers } from "./program_layers.ts";

/**
 * Options of {@linkcode checkModel}: the march (default: an int model's own, else the one set with
 * `setMarch`), where the
 * input comes from (default `"ddr"`), the float model's state when checking a traced graph (its
 * kernel sizes), and where the report lines go (default `console.log`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { CheckModelOptions } from "@hqat/hbdk";
 * import { March } from "@hqat/march-bayes";
 * const lines: string[] = [];
 * const o: CheckModelOptions = { march: March.BAYES, inputSource: "pyramid", log: (l) => lines.push(l) };
 * assert(o.inputSource === "pyramid");
 * ```
 */
export interface CheckModelOptions {
  /** The march to check against (default: an int model's own, else the one set with `setMarch`). */
  readonly march?: March;
  /** Where the input comes from (default `"ddr"`). */
  readonly inputSource?: InputSource;
  /** The float model's state when checking a traced graph (its kernel sizes). */
  readonly state?: Readonly<Record<string, { readonly shape: readonly number[] }>>;
  /** Where the report lines go (default `console.log`). */
  readonly log?: (line: string) => void;
}

/**
 * The verdict on one layer.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { NodeCheck } from "@hqat/hbdk";
 * const n: NodeCheck = { name: "features.0.0", op: "conv2d", supported: true, violations: [] };
 * assert(n.supported);
 * ```
 */
export interface NodeCheck {
  /** The layer name. */
  readonly name: string;
  /** The layer's op. */
  readonly op: string;
  /** Whether the layer has no violation. */
  readonly supported: boolean;
  /** The rules the layer breaks. */
  readonly violations: readonly Violation[];
}

/**
 * The report of {@linkcode checkModel}: whether every layer is supported, the verdict per layer,
 * and all violations in layer order.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { CheckReport } from "@hqat/hbdk";
 * const r: CheckReport = { supported: true, nodes: [], violations: [] };
 * assert(r.supported);
 * ```
 */
export interface CheckReport {
  /** Whether every layer is supported. */
  readonly supported: boolean;
  /** The verdict per layer, in layer order. */
  readonly nodes: readonly NodeCheck[];
  /** All violations, in layer order. */
  readonly violations: readonly Violation[];
}

/**
 * What {@linkcode checkModel} checks: an integer program (an int model, or a compiled one), a traced
 * float graph, or a layer list.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { CheckableModel } from "@hqat/hbdk";
 * const layers: CheckableModel = [];
 * assert(Array.isArray(layers));
 * ```
 */
export type CheckableModel = Program | Graph | readonly LayerDesc[];

function isProgram(m: CheckableModel): m is Program {
  return !Array.isArray(m) && "instructions" in (m as object);
}

/**
 * The layers of any {@linkcode CheckableModel} at `batch`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { modelLayers } from "@hqat/hbdk";
 * import { mobileNetV2Layers } from "@hqat/march-bayes";
 * assert(modelLayers(mobileNetV2Layers(), { batch: 1 }).length === mobileNetV2Layers().length);
 * ```
 */
export function modelLayers(
  model: CheckableModel,
  options: { readonly batch: number; readonly state?: CheckModelOptions["state"] },
): LayerDesc[] {
  if (Array.isArray(model)) {
    return (model as readonly LayerDesc[]).map((l) => ({
      ...l,
      inputs: l.inputs.map((t) => ({ ...t, shape: [options.batch, ...t.shape.slice(1)] })),
      output: { ...l.output, shape: [options.batch, ...l.output.shape.slice(1)] },
    }));
  }
  if (isProgram(model as CheckableModel)) return programLayers(model as Program, { batch: options.batch });
  return graphLayers(model as Graph, { batch: options.batch, state: options.state });
}

/**
 * Checks every layer of `model` (an int model, a traced float graph or a layer list) at the batch
 * of the example input against the march's operator table (`checkLayer` of `@hqat/march-bayes`)
 * and prints, as HBDK does, `This model is supported!` and `HBDK model check PASS`, or each
 * violation (naming the limit and the actual value) and `HBDK model check FAIL`. Throws a
 * `RangeError` for a malformed example input or when no march is given or set.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { checkModel } from "@hqat/hbdk";
 * import { March } from "@hqat/march-bayes";
 * const t = { shape: [1, 8, 40, 40], dtype: "qint8" } as const;
 * const lines: string[] = [];
 * const r = checkModel([
 *   { name: "conv", op: "conv2d", inputs: [t], output: { shape: [1, 8, 8, 8], dtype: "qint8" }, attrs: { kernel: [33, 33] } },
 * ], [{ shape: [1, 8, 40, 40] }], { march: March.BAYES, log: (l) => lines.push(l) });
 * assert(!r.supported && lines.at(-1) === "HBDK model check FAIL");
 * assert(lines[0] === "conv: conv2d kernel 33×33 exceeds the BAYES limit (kernel < 32 per side)");
 * ```
 */
export function checkModel(
  model: CheckableModel,
  exampleInputs: readonly ExampleInput[],
  options: CheckModelOptions = {},
): CheckReport {
  const march = deployMarch(isProgram(model) ? model : {}, { march: options.march, tool: "checkModel" });
  const batch = exampleBatch(exampleInputs, {
    tool: "checkModel",
    model: isProgram(model) ? model : undefined,
  });
  const log = options.log ?? ((line: string) => console.log(line));
  const layers = modelLayers(model, { batch, state: options.state });
  const nodes = layers.map((layer): NodeCheck => {
    const violations = checkLayer(layer, { march, inputSource: options.inputSource ?? "ddr" });
    return { name: layer.name, op: layer.op, supported: violations.length === 0, violations };
  });
  const violations = nodes.flatMap((n) => n.violations);
  if (violations.length === 0) {
    log("This model is supported!");
    log("HBDK model check PASS");
  } else {
    for (const v of violations) log(v.message);
    log("HBDK model check FAIL");
  }
  return { supported: violations.length === 0, nodes, violations };
}

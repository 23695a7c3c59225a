/**
 * Which nodes of a prepared graph are quantized and how (`nodeSpec`, `scaleRule`), and the quantizers'
 * state names — the rules `QatModel` and `prepareQatFx` apply (not part of the package's API).
 * @module
 */
import type { ObserverConfig, ObserverState, QConfig } from "@hqat/qtensor";
import type { Tensor } from "@hqat/tensor";
import type { GraphNode } from "./graph.ts";
import { isRuleKind, ruleOf } from "./node_rules.ts";
import type { NodeQuantSpec } from "./qat_model.ts";

/** Ops whose output gets its own scale. */
const PRODUCES_SCALE = new Set([
  "quant_stub",
  "conv2d",
  "linear",
  "add",
  "avg_pool2d",
  "adaptive_avg_pool2d",
]);

/** How a node's output is quantized: its own quantizer, its input's grid, or neither. */
export function scaleRule(n: GraphNode): "own" | "keep" | undefined {
  const k = n.kind;
  if (isRuleKind(k)) return ruleOf(k).scale(k as never);
  return PRODUCES_SCALE.has(k.op) ? "own" : KEEPS_SCALE.has(k.op) ? "keep" : undefined;
}

/** The quantization of node `n` under qconfig `q` (none for a node that keeps its input's grid). */
export function nodeSpec(n: GraphNode, q: QConfig): NodeQuantSpec | undefined {
  const k = n.kind;
  if (scaleRule(n) !== "own") return undefined;
  if (k.op === "quant_stub") {
    const act = q.activation ?? { dtype: "qint8" as const };
    const observer: ObserverConfig = k.scale !== undefined
      ? { kind: "fixedScale", scale: k.scale }
      : q.activation?.observer ?? { kind: "minMax" };
    return { qconfig: q.name, output: { dtype: act.dtype, observer } };
  }
  const spec: NodeQuantSpec = { qconfig: q.name };
  const weighted = k.op === "conv2d" || k.op === "linear" || (isRuleKind(k) && ruleOf(k).weight);
  if (weighted) spec.weight = { observer: q.weight.observer };
  if (isRuleKind(k) && !q.activation) {
    throw new RangeError(`Node "${n.name}" (${k.op}) cannot take the 32-bit-output qconfig ${q.name}`);
  }
  if (q.activation) {
    const learnable = q.activation.learnableScale ? { learnable: true } : {};
    spec.output = { dtype: q.activation.dtype, observer: q.activation.observer, ...learnable };
  } else if (k.op === "conv2d" || k.op === "linear") spec.out32 = true;
  else throw new RangeError(`Node "${n.name}" (${k.op}) cannot take the 32-bit-output qconfig ${q.name}`);
  return spec;
}

/** The state prefix of an output quantizer, after the node name. */
export const ACT = "activation_post_process";

/** Ops whose output keeps its input's scale. */
const KEEPS_SCALE = new Set(["relu", "relu6", "max_pool2d", "flatten", "reshape", "dropout", "identity"]);

/** Observer state from stored min/max (all NaN: nothing observed yet, the observer's empty state). */
export function observerState(min: Tensor, max: Tensor): ObserverState {
  const mn = min.data as Float32Array, mx = max.data as Float32Array;
  if (mn.every((v) => Number.isNaN(v))) return { min: new Float32Array(0), max: new Float32Array(0) };
  return { min: mn, max: mx };
}
/** The state prefix of a weight quantizer, after the module name. */
export const WFQ = "weight_fake_quant";

/**
 * Whether a trained (LSQ) scale is set: on the host, every value finite and positive (NaN is the
 * placeholder until `initLearnedScales`); a scale on a device is taken as set (it is not read back).
 */
export function isSetScale(t: Tensor): boolean {
  return t.device !== "cpu" || (t.data as Float32Array).every((v) => Number.isFinite(v) && v > 0);
}

/**
 * What the compiler runs at each optimization level: the layers that become BPU steps, the ones
 * folded into a step, and the ones that vanish.
 * @module
 */

import { type LayerDesc, nchwOf, type TensorDesc } from "@hqat/march-bayes";
import type { LayerGraph } from "./layer_graph.ts";

/**
 * The compiler's optimization level. O0 runs every layer as described; O1 folds ReLU/ReLU6,
 * 1×1-window pooling (a requantization) and residual adds into the producing layer and drops
 * identities; O2 and O3 run the same steps as O1 and differ in how much of the feature memory a
 * tensor may use (see `estimatePerformance`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { OptLevel } from "@hqat/hbdk";
 * const o: OptLevel = "O3";
 * assert(o === "O3");
 * ```
 */
export type OptLevel = "O0" | "O1" | "O2" | "O3";

/**
 * Every {@linkcode OptLevel}, lowest first.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { OPT_LEVELS } from "@hqat/hbdk";
 * assert(OPT_LEVELS.join() === "O0,O1,O2,O3");
 * ```
 */
export const OPT_LEVELS: readonly OptLevel[] = ["O0", "O1", "O2", "O3"];

/**
 * A tensor a step reads: the output of an earlier step, the model input, or an input whose
 * producer the description does not name.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { TensorRef } from "@hqat/hbdk";
 * const r: TensorRef = { kind: "model-input", layer: 0 };
 * assert(r.kind === "model-input");
 * ```
 */
export type TensorRef =
  | { readonly kind: "step"; readonly index: number }
  | { readonly kind: "model-input"; readonly layer: number }
  | { readonly kind: "unknown"; readonly layer: number; readonly input: number };

/**
 * One BPU step: its primary layer, the layers folded into it, the tensors it reads and the tensor
 * it writes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildLayerGraph, planSteps } from "@hqat/hbdk";
 * import { mobileNetV2Layers } from "@hqat/march-bayes";
 * const step = planSteps(buildLayerGraph(mobileNetV2Layers({ fused: false })), "O1").steps[0];
 * assert(step.name === "features.0.0" && step.merged[0] === "features.0.2");
 * ```
 */
export interface Step {
  /** The primary layer's name. */
  readonly name: string;
  /** The primary layer's op. */
  readonly op: string;
  /** The primary layer. */
  readonly layer: LayerDesc;
  /** Names of the layers folded into the step. */
  readonly merged: readonly string[];
  /** The tensors the step reads: where each comes from and its description. */
  readonly inputs: readonly { readonly ref: TensorRef; readonly desc: TensorDesc }[];
  /** The tensor the step writes. */
  readonly output: TensorDesc;
  /** Whether that tensor leaves the model. */
  readonly modelOutput: boolean;
}

/**
 * The steps of one optimization level, and the layers that are not steps with the reason:
 * `"boundary"` (quant / dequant, done by the input and output transfers), `"identity"`, or
 * `"merged"` into the step named by `into`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildLayerGraph, planSteps } from "@hqat/hbdk";
 * import { mobileNetV2Layers } from "@hqat/march-bayes";
 * const plan = planSteps(buildLayerGraph(mobileNetV2Layers()), "O1");
 * assert(plan.removed.some((r) => r.name === "classifier.0" && r.reason === "identity"));
 * ```
 */
export interface Plan {
  /** The steps, in execution order. */
  readonly steps: readonly Step[];
  /** The layers that are not steps, each with the reason and, for `"merged"`, the step it went into. */
  readonly removed: readonly {
    readonly name: string;
    readonly reason: "boundary" | "identity" | "merged";
    readonly into?: string;
  }[];
}

interface Building {
  name: string;
  op: string;
  layer: LayerDesc;
  merged: string[];
  inputs: { ref: TensorRef; desc: TensorDesc }[];
  output: TensorDesc;
  tail: number;
  relu: boolean;
  add: boolean;
}

const REQUANTIZING = new Set([
  "conv2d",
  "linear",
  "add",
  "sub",
  "mul",
  "avg_pool2d",
  "adaptive_avg_pool2d",
  "cat",
]);
const POOLS = new Set(["avg_pool2d", "adaptive_avg_pool2d", "max_pool2d"]);

const sameSpatial = (a: TensorDesc, b: TensorDesc): boolean => {
  const x = nchwOf(a.shape), y = nchwOf(b.shape);
  return x.h === y.h && x.w === y.w && x.c === y.c;
};

function isWindowOne(layer: LayerDesc): boolean {
  if (!POOLS.has(layer.op) || layer.inputs.length !== 1 || !sameSpatial(layer.inputs[0], layer.output)) {
    return false;
  }
  if (layer.op === "adaptive_avg_pool2d") return true;
  const [kh, kw] = layer.attrs.kernel ?? [1, 1];
  const [ph, pw] = layer.attrs.padding ?? [0, 0];
  return kh === 1 && kw === 1 && ph === 0 && pw === 0;
}

function isFreeView(layer: LayerDesc): boolean {
  if (layer.inputs.length !== 1) return false;
  const i = nchwOf(layer.inputs[0].shape), o = nchwOf(layer.output.shape);
  return i.h === 1 && i.w === 1 && o.h === 1 && o.w === 1 && i.c === o.c;
}

/**
 * Plans the steps of `graph` at optimization level `opt` (see {@linkcode OptLevel}). A layer is
 * folded into the step producing its input only when that step's output has no other reader and
 * does not leave the model; a residual add folds into a convolution with stride 1×1 or 2×2 that has
 * no activation and no add of its own.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildLayerGraph, planSteps } from "@hqat/hbdk";
 * import { mobileNetV2Layers } from "@hqat/march-bayes";
 * const g = buildLayerGraph(mobileNetV2Layers());
 * assert(planSteps(g, "O0").steps.length === 56 && planSteps(g, "O1").steps.length === 53);
 * ```
 */
export function planSteps(graph: LayerGraph, opt: OptLevel): Plan {
  const { layers } = graph;
  const steps: Building[] = [];
  const removed: { name: string; reason: "boundary" | "identity" | "merged"; into?: string }[] = [];
  const alias: (TensorRef | undefined)[] = [];
  const resolve = (i: number, j: number): TensorRef => {
    const s = graph.sources[i][j];
    if (s.kind === "model-input") return { kind: "model-input", layer: s.index };
    if (s.kind === "layer") return alias[s.index] ?? { kind: "unknown", layer: i, input: j };
    return { kind: "unknown", layer: i, input: j };
  };
  const readDesc = (ref: TensorRef, fallback: TensorDesc): TensorDesc =>
    ref.kind === "model-input" && layers[ref.layer].op === "quant" ? layers[ref.layer].output : fallback;
  const soleReader = (ref: TensorRef): Building | undefined => {
    if (ref.kind !== "step") return undefined;
    const step = steps[ref.index];
    return graph.consumers[step.tail].length === 1 && !graph.modelOutput[step.tail] ? step : undefined;
  };
  const merge = (step: Building, ref: TensorRef, i: number): void => {
    const layer = layers[i];
    step.merged.push(layer.name);
    step.output = layer.output;
    step.tail = i;
    alias[i] = ref;
    removed.push({ name: layer.name, reason: "merged", into: step.name });
  };
  layers.forEach((layer, i) => {
    if (layer.op === "quant" || layer.op === "dequant") {
      alias[i] = layer.op === "quant" ? { kind: "model-input", layer: i } : undefined;
      removed.push({ name: layer.name, reason: "boundary" });
      return;
    }
    if (opt !== "O0" && layer.inputs.length > 0) {
      if (
        layer.op === "identity" || layer.op === "dropout" ||
        ((layer.op === "flatten" || layer.op === "reshape") && isFreeView(layer))
      ) {
        alias[i] = resolve(i, 0);
        removed.push({ name: layer.name, reason: "identity" });
        return;
      }
      const r0 = resolve(i, 0);
      const producer = soleReader(r0);
      if (
        (layer.op === "relu" || layer.op === "relu6") && producer && REQUANTIZING.has(producer.op) &&
        !producer.relu
      ) {
        producer.relu = true;
        return merge(producer, r0, i);
      }
      if (isWindowOne(layer) && producer && REQUANTIZING.has(producer.op)) return merge(producer, r0, i);
      if (layer.op === "add" && layer.inputs.length === 2) {
        for (const k of [0, 1]) {
          const ref = resolve(i, k);
          const conv = soleReader(ref);
          const [sh, sw] = conv?.layer.attrs.stride ?? [1, 1];
          if (
            conv && conv.op === "conv2d" && !conv.relu && !conv.add && sh === sw && (sh === 1 || sh === 2) &&
            sameSpatial(conv.output, layer.output)
          ) {
            conv.add = true;
            const other = resolve(i, 1 - k);
            conv.inputs.push({ ref: other, desc: readDesc(other, layer.inputs[1 - k]) });
            return merge(conv, ref, i);
          }
        }
      }
    }
    alias[i] = { kind: "step", index: steps.length };
    steps.push({
      name: layer.name,
      op: layer.op,
      layer,
      merged: [],
      inputs: layer.inputs.map((t, j) => {
        const ref = resolve(i, j);
        return { ref, desc: readDesc(ref, t) };
      }),
      output: layer.output,
      tail: i,
      relu: layer.attrs.fusedRelu !== undefined,
      add: layer.attrs.fusedAdd === true,
    });
  });
  return {
    steps: steps.map((s) => ({
      name: s.name,
      op: s.op,
      layer: s.layer,
      merged: s.merged,
      inputs: s.inputs,
      output: s.output,
      modelOutput: graph.modelOutput[s.tail],
    })),
    removed,
  };
}

/**
 * The dataflow between the layers of a description: who produces each input, who consumes each
 * output, which outputs leave the model.
 * @module
 */

import { type LayerDesc, validateLayerDesc } from "@hqat/march-bayes";

/**
 * Where a layer input comes from: another layer's output, the model input (for a `quant`, a
 * float input or the first layer), or an earlier layer the description does not name.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Source } from "@hqat/hbdk";
 * const s: Source = { kind: "layer", index: 3 };
 * assert(s.kind === "layer");
 * ```
 */
export type Source =
  | { readonly kind: "layer"; readonly index: number }
  | { readonly kind: "model-input"; readonly index: number }
  | { readonly kind: "unknown" };

/**
 * The resolved dataflow: `sources[i][j]` feeds input `j` of layer `i`; `consumers[i]` lists the
 * layers that read layer `i`'s output; `modelOutput[i]` says whether it leaves the model.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildLayerGraph } from "@hqat/hbdk";
 * import { mobileNetV2Layers } from "@hqat/march-bayes";
 * const g = buildLayerGraph(mobileNetV2Layers());
 * assert(g.modelOutput[g.layers.findIndex((l) => l.name === "classifier.1")]);
 * ```
 */
export interface LayerGraph {
  /** The layers, in order. */
  readonly layers: readonly LayerDesc[];
  /** `sources[i][j]` feeds input `j` of layer `i`. */
  readonly sources: readonly (readonly Source[])[];
  /** `consumers[i]` lists the layers that read layer `i`'s output. */
  readonly consumers: readonly (readonly number[])[];
  /** `modelOutput[i]` says whether layer `i`'s output leaves the model. */
  readonly modelOutput: readonly boolean[];
}

/**
 * Resolves the dataflow of `layers`: an input's `from` names its producer (which must come
 * earlier); without `from`, input 0 comes from the previous layer (the model input for the first
 * layer), and further inputs come from an unnamed earlier layer. A `quant` (or a float32 input)
 * reads the model input, and readers of a `quant` read the model input too. A layer's output
 * leaves the model when it is flagged `isModelOutput`, feeds a `dequant`, or feeds nothing.
 * Throws a `TypeError` for malformed layers, duplicate names, or a `from` that names no earlier
 * layer.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildLayerGraph } from "@hqat/hbdk";
 * const t = { shape: [1, 8, 4, 4], dtype: "qint8" } as const;
 * const g = buildLayerGraph([
 *   { name: "a", op: "relu", inputs: [t], output: t, attrs: {} },
 *   { name: "b", op: "relu", inputs: [t], output: t, attrs: {} },
 * ]);
 * assert(g.sources[1][0].kind === "layer" && g.consumers[0][0] === 1);
 * ```
 */
export function buildLayerGraph(layers: readonly LayerDesc[]): LayerGraph {
  const index = new Map<string, number>();
  layers.forEach((layer, i) => {
    validateLayerDesc(layer);
    if (index.has(layer.name)) throw new TypeError(`layer name "${layer.name}" appears more than once`);
    index.set(layer.name, i);
  });
  const sources: Source[][] = [];
  const consumers: number[][] = layers.map(() => []);
  const viaQuant = (producer: number): Source =>
    layers[producer].op === "quant"
      ? { kind: "model-input", index: producer }
      : { kind: "layer", index: producer };
  layers.forEach((layer, i) => {
    sources.push(layer.inputs.map((t, j): Source => {
      if (layer.op === "quant" || t.dtype === "float32") return { kind: "model-input", index: i };
      if (t.from !== undefined) {
        const p = index.get(t.from);
        if (p === undefined || p >= i) {
          throw new TypeError(
            `${layer.name}.inputs[${j}].from names "${t.from}", which is not an earlier layer`,
          );
        }
        consumers[p].push(i);
        return viaQuant(p);
      }
      if (j > 0) return { kind: "unknown" };
      if (i === 0) return { kind: "model-input", index: i };
      consumers[i - 1].push(i);
      return viaQuant(i - 1);
    }));
  });
  const modelOutput = layers.map((layer, i) =>
    layer.op !== "dequant" && layer.op !== "quant" &&
    (layer.attrs.isModelOutput === true || consumers[i].length === 0 ||
      consumers[i].some((c) => layers[c].op === "dequant"))
  );
  return { layers, sources, consumers, modelOutput };
}

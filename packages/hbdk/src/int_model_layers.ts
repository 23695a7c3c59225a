/**
 * The bridge from the integer graph (`IntModel`) to the plain layer list (`LayerDesc[]`) that the
 * operator table checks and the performance model costs.
 * @module
 */

import type { IntModel, IntNode } from "@hqat/fx";
import type { LayerDesc, QDtype, TensorDesc } from "@hqat/march-bayes";

/**
 * Options of {@linkcode intModelLayers}: frames per run (default: dimension 0 of the model's input
 * shape).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { IntModelLayerOptions } from "@hqat/hbdk";
 * const o: IntModelLayerOptions = { batch: 256 };
 * assert(o.batch === 256);
 * ```
 */
export interface IntModelLayerOptions {
  /** Frames per run (default: dimension 0 of the model's input shape). */
  readonly batch?: number;
}

const OPS: Record<IntNode["kind"]["op"], string> = {
  input: "input",
  quantize: "quant",
  conv2d: "conv2d",
  linear: "linear",
  add: "add",
  cat: "cat",
  avg_pool2d: "avg_pool2d",
  adaptive_avg_pool2d: "adaptive_avg_pool2d",
  max_pool2d: "max_pool2d",
  relu: "relu",
  relu6: "relu6",
  flatten: "flatten",
  identity: "identity",
  dequantize: "dequant",
};

/**
 * `shape` with dimension 0 replaced by `batch`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { withBatch } from "@hqat/hbdk";
 * assert(withBatch([1, 3, 32, 32], 8).join() === "8,3,32,32");
 * ```
 */
export function withBatch(shape: readonly number[], batch: number): number[] {
  return shape.length === 0 ? [] : [batch, ...shape.slice(1)];
}

/**
 * The layers of `model` for the op table and the cost model: one layer per node but the input
 * (its op named as the table names it: `quant`, `dequant`, `conv2d` …), every input naming its
 * producer in `from` (a `quant` reads the model input), dimension 0 of each shape set to the
 * batch, and the attributes the table reads: kernel, stride, padding, dilation and groups of
 * convolutions and pooling, a fused ReLU/ReLU6 (`fusedRelu`), the 32-bit output (`output32`),
 * the features of a linear layer, and `isModelOutput` on each layer a `dequant` reads.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intModelLayers } from "@hqat/hbdk";
 * import type { IntModel } from "@hqat/fx";
 * const m: IntModel = { format: "hqat-int-model", version: 1, march: "bayes", nodes: [
 *   { name: "x", inputs: [], kind: { op: "input" }, shape: [1, 2], dtype: "float32", scale: new Float32Array([1]) },
 *   { name: "q", inputs: ["x"], kind: { op: "quantize", scale: 0.5, dtype: "qint8" }, shape: [1, 2], dtype: "qint8", scale: new Float32Array([0.5]) },
 *   { name: "r", inputs: ["q"], kind: { op: "relu" }, shape: [1, 2], dtype: "qint8", scale: new Float32Array([0.5]) },
 *   { name: "d", inputs: ["r"], kind: { op: "dequantize" }, shape: [1, 2], dtype: "float32", scale: new Float32Array([1]) },
 * ] };
 * const layers = intModelLayers(m, { batch: 4 });
 * assert(layers.map((l) => l.op).join() === "quant,relu,dequant");
 * assert(layers[1].inputs[0].from === "q" && layers[1].output.shape[0] === 4 && layers[1].attrs.isModelOutput);
 * ```
 */
export function intModelLayers(model: IntModel, options: IntModelLayerOptions = {}): LayerDesc[] {
  const nodes = new Map(model.nodes.map((n) => [n.name, n]));
  const batch = options.batch ?? model.nodes[0]?.shape[0] ?? 1;
  if (!Number.isSafeInteger(batch) || batch < 1) {
    throw new RangeError(`intModelLayers: batch must be a positive integer, got ${batch}`);
  }
  const outputs = new Set(
    model.nodes.filter((n) => n.kind.op === "dequantize").flatMap((n) => n.inputs),
  );
  const tensor = (n: IntNode, from?: string): TensorDesc => ({
    shape: withBatch(n.shape, batch),
    dtype: n.dtype as QDtype,
    ...(from !== undefined ? { from } : {}),
  });
  const layers: LayerDesc[] = [];
  for (const n of model.nodes) {
    const k = n.kind;
    if (k.op === "input") continue;
    const inputs = n.inputs.map((name) => {
      const p = nodes.get(name);
      if (p === undefined) {
        throw new TypeError(`intModelLayers: node "${n.name}" reads unknown node "${name}"`);
      }
      return p.kind.op === "input"
        ? { shape: withBatch(p.shape, batch), dtype: "float32" as const }
        : tensor(p, name);
    });
    const attrs: Record<string, unknown> = {};
    switch (k.op) {
      case "conv2d":
        attrs.kernel = [k.weightShape[2], k.weightShape[3]];
        attrs.stride = [...k.stride];
        attrs.padding = [...k.padding];
        attrs.dilation = [...k.dilation];
        attrs.groups = k.groups;
        attrs.paddingMode = "zeros";
        if (k.act) attrs.fusedRelu = k.act;
        if (k.output.dtype === "qint32") attrs.output32 = true;
        break;
      case "linear":
        attrs.inFeatures = k.weightShape[1];
        attrs.outFeatures = k.weightShape[0];
        if (k.act) attrs.fusedRelu = k.act;
        if (k.output.dtype === "qint32") attrs.output32 = true;
        break;
      case "add":
        if (k.act) attrs.fusedRelu = k.act;
        break;
      case "avg_pool2d":
      case "max_pool2d":
        attrs.kernel = [...k.kernel];
        attrs.stride = [...k.stride];
        attrs.padding = [...k.padding];
        break;
    }
    if (outputs.has(n.name)) attrs.isModelOutput = true;
    layers.push({ name: n.name, op: OPS[k.op], inputs, output: tensor(n), attrs });
  }
  return layers;
}

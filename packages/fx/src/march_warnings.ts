/**
 * Early target checks for `prepareQatFx`: each quantized conv, linear and pooling node of the prepared
 * graph is checked against the march's operator table (the same table `checkModel` reads), and every
 * violation is reported before any calibration or training time is spent.
 * @module
 */
import { checkLayer, type LayerDesc, type March, type Violation } from "@hqat/march-bayes";
import type { StateDict } from "@hqat/nn";
import type { Graph } from "./graph.ts";

/**
 * The operator-table violations of a prepared graph's compute nodes (convolution, linear, pooling, and
 * ops the table does not know), as qint8 layers.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { marchViolations, trace } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, initState, Sequential } from "@hqat/nn";
 * import { randomKey, zeros } from "@hqat/tensor";
 * const m = new Sequential(new Conv2d(3, 4, 33));
 * const s = initState(m, randomKey(0));
 * const v = marchViolations(trace(m, s, zeros([1, 3, 40, 40])), s, March.BAYES);
 * assert(v.length === 1 && v[0].message.includes("33×33"));
 * ```
 */
export function marchViolations(graph: Graph, state: StateDict, march: March): Violation[] {
  const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
  const out: Violation[] = [];
  for (const n of graph.nodes) {
    const k = n.kind;
    const input = nodes.get(n.inputs[0]);
    if (!input) continue;
    const tensor = (shape: readonly number[]) => ({ shape, dtype: "qint8" as const });
    let layer: LayerDesc | undefined;
    if (k.op === "conv2d") {
      const w = state[`${k.module}.weight`]?.shape ?? [n.shape[1], 1, 1, 1];
      layer = {
        name: n.name,
        op: "conv2d",
        inputs: [tensor(input.shape)],
        output: tensor(n.shape),
        attrs: {
          kernel: [w[2], w[3]],
          stride: [...k.stride],
          padding: [...k.padding],
          dilation: [...k.dilation],
          groups: k.groups,
          paddingMode: k.paddingMode as "zeros" | "reflect" | "replicate",
          ...(k.act ? { fusedRelu: k.act } : {}),
        },
      };
    } else if (k.op === "linear") {
      layer = {
        name: n.name,
        op: "linear",
        inputs: [tensor(input.shape)],
        output: tensor(n.shape),
        attrs: { inFeatures: input.shape[input.shape.length - 1], outFeatures: n.shape[n.shape.length - 1] },
      };
    } else if (k.op === "max_pool2d" || k.op === "avg_pool2d") {
      layer = {
        name: n.name,
        op: k.op,
        inputs: [tensor(input.shape)],
        output: tensor(n.shape),
        attrs: { kernel: [...k.kernel], stride: [...k.stride], padding: [...k.padding] },
      };
    } else if (k.op === "prim") {
      layer = { name: n.name, op: k.prim, inputs: [tensor(input.shape)], output: tensor(n.shape), attrs: {} };
    }
    if (layer) out.push(...checkLayer(layer, { march }));
  }
  return out;
}

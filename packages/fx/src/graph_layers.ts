/**
 * The layer list of a float graph (`trace`): what the target's operator table sees of a model before
 * conversion, including what conversion cannot express (reflect padding, ops without an integer
 * kernel) — read by `prepareQatFx`'s early warnings and by `checkModel` on a traced graph.
 * @module
 */

import {
  checkLayer,
  type LayerDesc,
  type March,
  opTable,
  type QDtype,
  type TensorDesc,
  type Violation,
} from "@hqat/march-bayes";
import { withBatch } from "@hqat/program";
import type { Graph, GraphNode } from "./graph.ts";

/**
 * Options of {@linkcode graphLayers}: frames per run (default: the traced batch), and the model
 * state, from which a convolution's kernel size is read (`<module>.weight`, shape `[O, C/g, kh, kw]`).
 * Without the state the kernel is the largest one consistent with the traced input and output
 * sizes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { GraphLayerOptions } from "@hqat/fx";
 * const o: GraphLayerOptions = { batch: 1, state: { "conv.weight": { shape: [8, 3, 3, 3] } } };
 * assert(o.state?.["conv.weight"].shape[2] === 3);
 * ```
 */
export interface GraphLayerOptions {
  /** Frames per run (default: the traced batch). */
  readonly batch?: number;
  /** The model state by parameter name; only the shapes are read. */
  readonly state?: Readonly<Record<string, { readonly shape: readonly number[] }>>;
}

function inferredKernel(
  input: readonly number[],
  output: readonly number[],
  k: GraphNode["kind"],
): [number, number] {
  if (k.op !== "conv2d") return [1, 1];
  const dims: [number, number] = [1, 1];
  for (const a of [0, 1] as const) {
    const size = input[2 + a], out = output[2 + a];
    // The largest k with floor((size + 2p - d(k-1) - 1) / s) + 1 = out.
    dims[a] = Math.max(
      1,
      Math.floor((size + 2 * k.padding[a] - 1 - (out - 1) * k.stride[a]) / k.dilation[a]) + 1,
    );
  }
  return dims;
}

/**
 * The layers of a traced float graph, for {@linkcode checkModel}: tensors between a `quant_stub`
 * and a `dequant_stub` count as qint8 (the default qconfig), others as float32; a batch norm that
 * directly follows a convolution is folded into it (as the fuse pass does), any other batch norm
 * stays a `batch_norm` layer; a primitive op without a graph kind keeps its primitive name (e.g.
 * `gelu`), so the table reports it; constants, the input and the output node are not layers.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { graphLayers, trace } from "@hqat/fx";
 * import { Conv2d, DeQuantStub, initState, QuantStub, Sequential } from "@hqat/nn";
 * import { randomKey, zeros } from "@hqat/tensor";
 * const m = new Sequential(new QuantStub({ scale: 1 / 128 }), new Conv2d(3, 8, 3, { padding: 1 }), new DeQuantStub());
 * const state = initState(m, randomKey(0));
 * const layers = graphLayers(trace(m, state, zeros([1, 3, 8, 8])), { state });
 * assert(layers.map((l) => l.op).join() === "quant,conv2d,dequant");
 * assert(layers[1].attrs.kernel?.join() === "3,3" && layers[1].inputs[0].dtype === "qint8");
 * ```
 */
export function graphLayers(graph: Graph, options: GraphLayerOptions = {}): LayerDesc[] {
  const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
  const batch = options.batch ?? graph.nodes[0]?.shape[0] ?? 1;
  const quantized = new Map<string, boolean>();
  const alias = new Map<string, string>();
  const layers: LayerDesc[] = [];
  const src = (name: string) => alias.get(name) ?? name;
  const dtypeOf = (name: string): QDtype => quantized.get(src(name)) ? "qint8" : "float32";
  for (const n of graph.nodes) {
    const k = n.kind;
    if (k.op === "input" || k.op === "constant") {
      quantized.set(n.name, false);
      continue;
    }
    if (k.op === "output") continue;
    const ins = n.inputs.filter((i) => nodes.get(i)?.kind.op !== "constant");
    const inQuant = ins.some((i) => quantized.get(src(i)));
    if (k.op === "batch_norm") {
      const p = layers.at(-1);
      if (p && p.op === "conv2d" && ins.length === 1 && src(ins[0]) === p.name) {
        alias.set(n.name, p.name);
        continue;
      }
    }
    const out = k.op === "quant_stub" ? true : k.op === "dequant_stub" ? false : inQuant;
    quantized.set(n.name, out);
    const inputs: TensorDesc[] = ins.map((i) => {
      const p = nodes.get(src(i))!;
      const t = { shape: withBatch(p.shape, batch), dtype: dtypeOf(i) };
      return p.kind.op === "input" ? t : { ...t, from: src(i) };
    });
    const attrs: Record<string, unknown> = {};
    let op: string = k.op;
    switch (k.op) {
      case "quant_stub":
        op = "quant";
        break;
      case "dequant_stub":
        op = "dequant";
        break;
      case "conv2d": {
        const w = options.state?.[`${k.module}.weight`]?.shape;
        const input = nodes.get(src(ins[0]))!.shape;
        attrs.kernel = w && w.length === 4 ? [w[2], w[3]] : inferredKernel(input, n.shape, k);
        attrs.stride = [...k.stride];
        attrs.padding = [...k.padding];
        attrs.dilation = [...k.dilation];
        attrs.groups = k.groups;
        attrs.paddingMode = k.paddingMode;
        if (k.act) attrs.fusedRelu = k.act;
        if (k.add) attrs.fusedAdd = true;
        break;
      }
      case "linear": {
        const x = nodes.get(src(ins[0]))!.shape;
        attrs.inFeatures = x[x.length - 1];
        attrs.outFeatures = n.shape[n.shape.length - 1];
        if (k.act) attrs.fusedRelu = k.act;
        break;
      }
      case "max_pool2d":
      case "avg_pool2d":
        attrs.kernel = [...k.kernel];
        attrs.stride = [...k.stride];
        attrs.padding = [...k.padding];
        break;
      case "activation":
        op = k.fn;
        break;
      case "prim":
        op = k.prim;
        break;
    }
    const outDtype: QDtype = out ? "qint8" : "float32";
    layers.push({
      name: n.name,
      op,
      inputs,
      output: { shape: withBatch(n.shape, batch), dtype: outDtype },
      attrs,
    });
  }
  return layers;
}

const COMPUTE = new Set(["conv2d", "linear", "max_pool2d", "avg_pool2d"]);

/**
 * The operator-table violations of a prepared graph's compute layers (convolution, linear, pooling, and
 * ops the table does not know; see {@linkcode graphLayers}) as qint8 layers, for `prepareQatFx` to
 * report before any calibration or training time is spent.
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
export function marchViolations(
  graph: Graph,
  state: Readonly<Record<string, { readonly shape: readonly number[] }>>,
  march: March,
): Violation[] {
  const table = opTable(march);
  const q8 = (t: TensorDesc): TensorDesc => ({ ...t, dtype: "qint8" });
  return graphLayers(graph, { state })
    .filter((l) => COMPUTE.has(l.op) || table[l.op] === undefined)
    .flatMap((l) => checkLayer({ ...l, inputs: l.inputs.map(q8), output: q8(l.output) }, { march }));
}

/**
 * Writing an ONNX graph: nodes, initializers and unique names collected in order, then encoded with
 * protobufjs against the same `onnx.proto` descriptor the reader uses. Initializers are stored as
 * little-endian `raw_data`; small ones (scales, zero points, shapes) are shared when equal.
 * @module
 */
import { onnxType } from "./proto.ts";

/** An element type of a tensor written to ONNX. */
export type OnnxElem = "float32" | "uint8" | "int8" | "int16" | "int32" | "int64";

/** `TensorProto.DataType` codes of {@linkcode OnnxElem}. */
const CODES: Readonly<Record<OnnxElem, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int16: 5,
  int32: 6,
  int64: 7,
};

/**
 * An attribute value of a node: a number (an integer attribute when it is an integer, else a float), a
 * float (`{ f }`, also for integral values), a string, a list of integers or of floats.
 */
export type OnnxAttrValue =
  | number
  | string
  | readonly number[]
  | { readonly f: number }
  | { readonly floats: readonly number[] };

interface RawNode {
  name: string;
  op_type: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: Record<string, unknown>[];
}

function attribute(name: string, v: OnnxAttrValue): Record<string, unknown> {
  if (typeof v === "string") return { name, type: 3, s: new TextEncoder().encode(v) };
  if (typeof v === "number") {
    return Number.isInteger(v) ? { name, type: 2, i: v } : { name, type: 1, f: v };
  }
  if ("f" in v) return { name, type: 1, f: v.f };
  if ("floats" in v) return { name, type: 6, floats: [...v.floats] };
  return { name, type: 7, ints: [...(v as readonly number[])] };
}

function rawBytes(elem: OnnxElem, data: ArrayLike<number>): Uint8Array {
  const typed = elem === "float32"
    ? Float32Array.from(data)
    : elem === "uint8"
    ? Uint8Array.from(data)
    : elem === "int8"
    ? Int8Array.from(data)
    : elem === "int16"
    ? Int16Array.from(data)
    : elem === "int32"
    ? Int32Array.from(data)
    : BigInt64Array.from(Array.from(data, (v) => BigInt(v)));
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] === 1) return bytes;
  // A big-endian host: ONNX raw data is little-endian.
  const size = typed.BYTES_PER_ELEMENT, out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) {
    for (let b = 0; b < size; b++) out[i + b] = bytes[i + size - 1 - b];
  }
  return out;
}

/**
 * An ONNX graph under construction (see the module description).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { decodeOnnx } from "@hqat/onnx";
 * import { OnnxGraphBuilder } from "./qdq_graph.ts";
 * const g = new OnnxGraphBuilder();
 * const s = g.initializer("scale", "float32", [], [0.5]);
 * g.node("QuantizeLinear", ["x", s], { name: "q", outputs: ["y"] });
 * const m = decodeOnnx(g.encode({ opset: 13, input: { name: "x", shape: ["N", 2] }, output: { name: "y", shape: ["N", 2], elem: "int8" } }));
 * assert(m.graph.nodes[0].opType === "QuantizeLinear" && m.graph.initializers[0].name === "scale");
 * ```
 */
export class OnnxGraphBuilder {
  private readonly nodes: RawNode[] = [];
  private readonly initializers: Record<string, unknown>[] = [];
  private readonly used = new Set<string>();
  private readonly shared = new Map<string, string>();

  /** A name not used yet: `base`, or `base_2`, `base_3`, … */
  unique(base: string): string {
    let name = base, i = 1;
    while (this.used.has(name)) name = `${base}_${++i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves `name` (a graph input or output) so that nothing else takes it. */
  reserve(name: string): string {
    if (this.used.has(name)) throw new RangeError(`The ONNX name "${name}" is taken`);
    this.used.add(name);
    return name;
  }

  /** Adds an initializer and returns its name; tensors of up to 64 elements are shared when equal. */
  initializer(base: string, elem: OnnxElem, dims: readonly number[], data: ArrayLike<number>): string {
    const key = data.length <= 64 ? `${elem}|${dims}|${Array.from(data).join()}` : undefined;
    const known = key === undefined ? undefined : this.shared.get(key);
    if (known) return known;
    const name = this.unique(base);
    this.initializers.push({ name, data_type: CODES[elem], dims: [...dims], raw_data: rawBytes(elem, data) });
    if (key !== undefined) this.shared.set(key, name);
    return name;
  }

  /**
   * Adds a node of `op` reading `inputs` ("" for an omitted one); returns its output names (`outputs`,
   * or one fresh name from the node's name).
   */
  node(
    op: string,
    inputs: readonly string[],
    options: {
      name: string;
      outputs?: readonly string[];
      attrs?: Readonly<Record<string, OnnxAttrValue>>;
      domain?: string;
    },
  ): string[] {
    const name = this.unique(options.name);
    const outputs = options.outputs ? [...options.outputs] : [this.unique(`${name}:0`)];
    this.nodes.push({
      name,
      op_type: op,
      domain: options.domain ?? "",
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(options.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /** The name of the node written last. */
  lastNodeName(): string {
    const n = this.nodes.at(-1);
    if (!n) throw new RangeError("The graph has no node yet");
    return n.name;
  }

  /** The number of nodes so far. */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The names of the nodes from index `start` on. */
  nodeNamesFrom(start: number): string[] {
    return this.nodes.slice(start).map((n) => n.name);
  }

  /** The op types of the nodes from index `start` on. */
  opTypesFrom(start: number): string[] {
    return this.nodes.slice(start).map((n) => n.op_type);
  }

  /** The bytes of the model: one graph input and one output (dimensions: numbers or names). */
  encode(spec: {
    opset: number;
    input: { name: string; shape: readonly (number | string)[]; elem?: OnnxElem };
    output: { name: string; shape: readonly (number | string)[]; elem?: OnnxElem };
    graphName?: string;
    producer?: { name: string; version: string };
    docString?: string;
  }): Uint8Array {
    const info = (v: { name: string; shape: readonly (number | string)[]; elem?: OnnxElem }) => ({
      name: v.name,
      type: {
        tensor_type: {
          elem_type: CODES[v.elem ?? "float32"],
          shape: { dim: v.shape.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
        },
      },
    });
    const T = onnxType("ModelProto");
    const msg = T.fromObject({
      ir_version: spec.opset >= 21 ? 10 : 7,
      producer_name: spec.producer?.name ?? "hqat",
      producer_version: spec.producer?.version ?? "",
      doc_string: spec.docString ?? "",
      opset_import: [{ domain: "", version: spec.opset }],
      graph: {
        name: spec.graphName ?? "hqat",
        node: this.nodes,
        initializer: this.initializers,
        input: [info(spec.input)],
        output: [info(spec.output)],
      },
    });
    return T.encode(msg).finish();
  }
}

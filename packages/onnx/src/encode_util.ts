/**
 * Writing small ONNX files in tests (single-operator models for gradient checks, malformed files):
 * plain specs encoded with protobufjs against the same `onnx.proto` descriptor the reader uses.
 * @module
 */
import { onnxType } from "./proto.ts";

/** An attribute value: `{ i }`, `{ f }`, `{ s }`, `{ ints }`, `{ floats }` or `{ t }`. */
export type AttrSpec =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { t: TensorSpec };

/** A tensor: dims and values, float32 unless `type` (a `TensorProto.DataType` code) says otherwise. */
export interface TensorSpec {
  /** Dimensions. */
  dims: readonly number[];
  /** Values in row-major order. */
  data: readonly number[];
  /** Element type code (default 1, float32). */
  type?: number;
}

/** A node. */
export interface NodeSpec {
  /** Operator. */
  op: string;
  /** Input names ("" for an omitted one). */
  inputs: readonly string[];
  /** Output names. */
  outputs: readonly string[];
  /** Attributes. */
  attrs?: Readonly<Record<string, AttrSpec>>;
  /** Node name (default `<op>_<index>`). */
  name?: string;
  /** Domain (default ""). */
  domain?: string;
}

/** A model. */
export interface ModelSpec {
  /** Default-domain opset (default 13). */
  opset?: number;
  /** The input: name and shape (strings for named dimensions). */
  input: { name: string; shape: readonly (number | string)[] };
  /** The output's name. */
  output: string;
  /** Nodes. */
  nodes: readonly NodeSpec[];
  /** Initializers by name. */
  initializers?: Readonly<Record<string, TensorSpec>>;
}

function tensorProto(name: string, t: TensorSpec) {
  const type = t.type ?? 1;
  const field = type === 1
    ? "float_data"
    : type === 7
    ? "int64_data"
    : type === 11
    ? "double_data"
    : "int32_data";
  return { name, data_type: type, dims: [...t.dims], [field]: [...t.data] };
}

function attribute(name: string, a: AttrSpec) {
  if ("i" in a) return { name, type: 2, i: a.i };
  if ("f" in a) return { name, type: 1, f: a.f };
  if ("s" in a) return { name, type: 3, s: new TextEncoder().encode(a.s) };
  if ("ints" in a) return { name, type: 7, ints: [...a.ints] };
  if ("floats" in a) return { name, type: 6, floats: [...a.floats] };
  return { name, type: 4, t: tensorProto("", a.t) };
}

const valueInfo = (name: string, shape?: readonly (number | string)[]) => ({
  name,
  type: {
    tensor_type: {
      elem_type: 1,
      shape: shape &&
        { dim: shape.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
    },
  },
});

/**
 * The bytes of an ONNX file for `spec`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { modelBytes } from "./encode_util.ts";
 * import { decodeOnnx } from "./proto.ts";
 * const bytes = modelBytes({ input: { name: "x", shape: ["N", 2] }, output: "y", nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }] });
 * assert(decodeOnnx(bytes).graph.nodes[0].opType === "Relu");
 * ```
 */
export function modelBytes(spec: ModelSpec): Uint8Array {
  const T = onnxType("ModelProto");
  const msg = T.fromObject({
    ir_version: 8,
    producer_name: "hqat-test",
    opset_import: [{ domain: "", version: spec.opset ?? 13 }],
    graph: {
      name: "test",
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.op}_${i}`,
        op_type: n.op,
        domain: n.domain ?? "",
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs ?? {}).map(([k, a]) => attribute(k, a)),
      })),
      initializer: Object.entries(spec.initializers ?? {}).map(([k, t]) => tensorProto(k, t)),
      input: [valueInfo(spec.input.name, spec.input.shape)],
      output: [valueInfo(spec.output)],
    },
  });
  return T.encode(msg).finish();
}

/**
 * A single-node model: input `x` of `shape` (first dimension named "N"), output `y`, extra inputs from
 * `initializers` in the order given.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { singleNode } from "./encode_util.ts";
 * import { loadOnnx } from "./load.ts";
 * const m = loadOnnx(singleNode("Sigmoid", [2, 3]));
 * assert(m.info.inputShape.join() === "-1,3");
 * ```
 */
export function singleNode(
  op: string,
  shape: readonly number[],
  options: {
    attrs?: Record<string, AttrSpec>;
    initializers?: Record<string, TensorSpec>;
    opset?: number;
    extraInputs?: readonly string[];
  } = {},
): Uint8Array {
  const inits = options.initializers ?? {};
  return modelBytes({
    opset: options.opset,
    input: { name: "x", shape: ["N", ...shape.slice(1)] },
    output: "y",
    nodes: [{
      op,
      inputs: ["x", ...(options.extraInputs ?? Object.keys(inits))],
      outputs: ["y"],
      attrs: options.attrs,
      name: op.toLowerCase(),
    }],
    initializers: inits,
  });
}

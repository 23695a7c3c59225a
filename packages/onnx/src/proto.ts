/**
 * Decoding an ONNX file: protobufjs reads the bytes against `onnx.proto`'s descriptor, and the message
 * tree becomes plain, typed records (nodes, attributes, value infos, tensors). 64-bit integers are read
 * as numbers, bytes fields are views of the file, and every size is checked against the data present
 * before anything is allocated for it.
 * @module
 */
import protobuf from "protobufjs";
import { ONNX_SCHEMA } from "./onnx_schema.ts";
import { type OnnxTensor, tensorFromProto } from "./tensor_proto.ts";

/** One attribute of a node, by kind. */
export type OnnxAttribute =
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "tensor"; readonly value: OnnxTensor }
  | { readonly kind: "floats"; readonly value: readonly number[] }
  | { readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly kind: "strings"; readonly value: readonly string[] }
  | { readonly kind: "other"; readonly type: number };

/** A node of the graph. */
export interface OnnxNode {
  /** The node's name (may be empty in the file; the reader names unnamed nodes `<OpType>_<index>`). */
  readonly name: string;
  /** The operator. */
  readonly opType: string;
  /** The operator set domain ("" for the default one). */
  readonly domain: string;
  /** Input value names in order ("" for an omitted optional input). */
  readonly inputs: readonly string[];
  /** Output value names in order ("" for an unused optional output). */
  readonly outputs: readonly string[];
  /** Attributes by name. */
  readonly attributes: ReadonlyMap<string, OnnxAttribute>;
}

/** A graph input or output: its name, element type and shape (a string for a named or unknown dimension). */
export interface OnnxValueInfo {
  /** The value's name. */
  readonly name: string;
  /** `TensorProto.DataType` code (0 when not given). */
  readonly elemType: number;
  /** Dimensions: a number, or the symbolic name ("?" when absent); undefined when no shape is given. */
  readonly shape?: readonly (number | string)[];
}

/** The graph of a model. */
export interface OnnxGraph {
  /** The graph's name. */
  readonly name: string;
  /** Nodes in file order. */
  readonly nodes: readonly OnnxNode[];
  /** Initializers (weights and constants). */
  readonly initializers: readonly OnnxTensor[];
  /** Graph inputs (older files also list the initializers here). */
  readonly inputs: readonly OnnxValueInfo[];
  /** Graph outputs. */
  readonly outputs: readonly OnnxValueInfo[];
}

/** A decoded model. */
export interface OnnxModelProto {
  /** The IR version. */
  readonly irVersion: number;
  /** The version of the default operator set ("" or "ai.onnx"); 0 when the file imports none. */
  readonly opset: number;
  /** Every imported operator set. */
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  /** Producer name and version, e.g. "pytorch 1.13.0". */
  readonly producer: string;
  /** The main graph. */
  readonly graph: OnnxGraph;
}

let root: protobuf.Root | undefined;

/**
 * The protobufjs type of an `onnx.proto` message (e.g. "ModelProto"), for decoding and, in tests, for
 * writing files.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { onnxType } from "./proto.ts";
 * assert(onnxType("NodeProto").fields.op_type.type === "string");
 * ```
 */
export function onnxType(name: string): protobuf.Type {
  root ??= protobuf.Root.fromJSON(ONNX_SCHEMA as protobuf.INamespace);
  return root.lookupType(`onnx.${name}`);
}

/** A reader whose 64-bit integer fields come out as numbers (no `Long` object per value). */
function numberReader(bytes: Uint8Array): protobuf.Reader {
  const r = protobuf.Reader.create(bytes);
  const proto = Object.getPrototypeOf(r) as Record<string, () => unknown>;
  const own = r as unknown as Record<string, () => number>;
  for (const k of ["int64", "uint64", "sint64"]) {
    const read = proto[k];
    own[k] = function (this: protobuf.Reader) {
      const v = read.call(this) as number | { toNumber(): number };
      return typeof v === "number" ? v : v.toNumber();
    };
  }
  return r;
}

// The decoded message tree, as far as it is read here.
interface RawDim {
  dim_value?: number;
  dim_param?: string;
  value?: string;
}
interface RawValueInfo {
  name: string;
  type?: { tensor_type?: { elem_type: number; shape?: { dim: RawDim[] } } };
}
interface RawAttribute {
  name: string;
  type: number;
  f: number;
  i: number;
  s: Uint8Array;
  t?: unknown;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  g?: unknown;
  graphs: unknown[];
  tensors: unknown[];
}
interface RawNode {
  name: string;
  op_type: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: RawAttribute[];
}
interface RawGraph {
  name: string;
  node: RawNode[];
  initializer: unknown[];
  sparse_initializer: unknown[];
  input: RawValueInfo[];
  output: RawValueInfo[];
}
interface RawModel {
  ir_version: number;
  producer_name: string;
  producer_version: string;
  opset_import: { domain: string; version: number }[];
  graph?: RawGraph;
}

const utf8 = new TextDecoder();
/** A bytes field as text (an absent field is empty). */
const text = (v: unknown) => utf8.decode(v instanceof Uint8Array ? v : new Uint8Array(0));

/** AttributeProto.AttributeType codes. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

function attribute(a: RawAttribute, where: string): OnnxAttribute {
  // Files from old exporters leave `type` unset; the field that is present tells the kind.
  const type = a.type ||
    (a.floats.length
      ? ATTR.FLOATS
      : a.ints.length
      ? ATTR.INTS
      : a.strings.length
      ? ATTR.STRINGS
      : a.t
      ? ATTR.TENSOR
      : a.g
      ? ATTR.GRAPH
      : text(a.s).length
      ? ATTR.STRING
      : a.i
      ? ATTR.INT
      : ATTR.FLOAT);
  switch (type) {
    case ATTR.FLOAT:
      return { kind: "float", value: a.f };
    case ATTR.INT:
      return { kind: "int", value: a.i };
    case ATTR.STRING:
      return { kind: "string", value: text(a.s) };
    case ATTR.TENSOR:
      if (!a.t) {
        throw new SyntaxError(`${where}: attribute "${a.name}" is a tensor attribute without a tensor`);
      }
      return { kind: "tensor", value: tensorFromProto(a.t, `${where}, attribute "${a.name}"`) };
    case ATTR.FLOATS:
      return { kind: "floats", value: a.floats };
    case ATTR.INTS:
      return { kind: "ints", value: a.ints };
    case ATTR.STRINGS:
      return { kind: "strings", value: a.strings.map(text) };
    default:
      return { kind: "other", type };
  }
}

function valueInfo(v: RawValueInfo): OnnxValueInfo {
  const tt = v.type?.tensor_type;
  const dims = tt?.shape?.dim;
  return {
    name: v.name,
    elemType: tt?.elem_type ?? 0,
    shape: dims?.map((d) =>
      d.value === "dim_value" || (d.dim_value !== undefined && d.value !== "dim_param")
        ? d.dim_value ?? 0
        : (d.dim_param || "?")
    ),
  };
}

/**
 * Decodes the bytes of an ONNX file into plain records. `source` names the file in errors. Undecodable
 * bytes (truncation, wrong wire types, nesting deeper than 100 messages) give one SyntaxError.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { decodeOnnx } from "@hqat/onnx";
 * assertThrows(() => decodeOnnx(new Uint8Array([0x0a, 0x05, 0x01]), { source: "bad.onnx" }), SyntaxError, "bad.onnx");
 * ```
 */
export function decodeOnnx(bytes: Uint8Array, options: { source?: string } = {}): OnnxModelProto {
  const source = options.source ?? "ONNX model";
  let raw: RawModel;
  try {
    raw = onnxType("ModelProto").decode(numberReader(bytes)) as unknown as RawModel;
  } catch (e) {
    throw new SyntaxError(`${source}: not a readable ONNX file (${(e as Error).message})`);
  }
  const g = raw.graph;
  if (!g) throw new SyntaxError(`${source}: the file has no graph`);
  if (g.sparse_initializer.length) {
    throw new RangeError(`${source}: sparse initializers are not supported`);
  }
  const nodes = g.node.map((n, i): OnnxNode => {
    const name = n.name || `${n.op_type}_${i}`;
    const where = `${source}, node "${name}" (${n.op_type})`;
    const attributes = new Map<string, OnnxAttribute>();
    for (const a of n.attribute) attributes.set(a.name, attribute(a, where));
    return { name, opType: n.op_type, domain: n.domain, inputs: n.input, outputs: n.output, attributes };
  });
  return {
    irVersion: raw.ir_version,
    opset: raw.opset_import.find((o) => o.domain === "" || o.domain === "ai.onnx")?.version ?? 0,
    opsets: raw.opset_import.map((o) => ({ domain: o.domain, version: o.version })),
    producer: `${raw.producer_name} ${raw.producer_version}`.trim(),
    graph: {
      name: g.name,
      nodes,
      initializers: g.initializer.map((t, i) => tensorFromProto(t, `${source}, initializer ${i}`)),
      inputs: g.input.map(valueInfo),
      outputs: g.output.map(valueInfo),
    },
  };
}

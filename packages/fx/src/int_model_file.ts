/**
 * The int model file (the counterpart of `torch.jit.save(torch.jit.trace(quantized_model))`): one
 * self-contained, versioned safetensors file. Integer weights, int32 biases and float32 scales are
 * tensors named `<node>.weight`, `<node>.bias`, `<node>.weight_scale`, `<node>.scale`; the graph (node
 * kinds, inputs, shapes and the remaining fields) is JSON in the metadata entry `hqat_int_model`.
 * Loading checks every field, so a malformed file gets an error naming it and the problem.
 * @module
 */
import { atomicWriteFile, encodeSafetensors, parseSafetensors, type StoredTensor } from "@hqat/nn";
import type { IntModel, IntNode, IntOp } from "./int_model.ts";

const TAG = "hqat_int_model";
const MAX_NODES = 100_000;

type Entries = [string, StoredTensor][];

/** Array fields of node kinds, by name, with their stored dtype. */
const ARRAYS = { weight: "I8", bias: "I32", weightScale: "F32" } as const;

/**
 * The file bytes of an int model.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { encodeIntModel, decodeIntModel, type IntModel } from "@hqat/fx";
 * const m: IntModel = { format: "hqat-int-model", version: 1, march: "bayes", nodes: [
 *   { name: "x", inputs: [], kind: { op: "input" }, shape: [1, 2], dtype: "float32", scale: new Float32Array([1]) },
 *   { name: "q", inputs: ["x"], kind: { op: "quantize", scale: 0.5, dtype: "qint8" }, shape: [1, 2], dtype: "qint8", scale: new Float32Array([0.5]) },
 *   { name: "d", inputs: ["q"], kind: { op: "dequantize" }, shape: [1, 2], dtype: "float32", scale: new Float32Array([1]) },
 * ] };
 * assert(decodeIntModel(encodeIntModel(m)).nodes[1].kind.op === "quantize");
 * ```
 */
export function encodeIntModel(model: IntModel): Uint8Array {
  const entries: Entries = [];
  const nodes = model.nodes.map((n) => {
    const kind: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n.kind)) {
      if (k in ARRAYS && v !== undefined) {
        const dtype = ARRAYS[k as keyof typeof ARRAYS];
        const data = v as Int8Array | Int32Array | Float32Array;
        entries.push([`${n.name}.${k}`, { dtype, shape: [data.length], data: data.slice() }]);
        kind[k] = `@${n.name}.${k}`;
      } else kind[k] = v;
    }
    entries.push([`${n.name}.scale`, { dtype: "F32", shape: [n.scale.length], data: n.scale.slice() }]);
    return { name: n.name, inputs: n.inputs, kind, shape: n.shape, dtype: n.dtype };
  });
  const meta = JSON.stringify({ format: model.format, version: model.version, march: model.march, nodes });
  return encodeSafetensors(entries, { metadata: { [TAG]: meta } });
}

class IntModelFileError extends SyntaxError {
  constructor(file: string, message: string) {
    super(`Cannot read "${file}": ${message}`);
    this.name = "IntModelFileError";
  }
}

const isInt = (v: unknown, min = -Infinity, max = Infinity): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
const isPair = (v: unknown, min: number) =>
  Array.isArray(v) && v.length === 2 && v.every((x) => isInt(x, min, 1 << 16));
const isScale = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;

const QOUT = (v: unknown) =>
  typeof v === "object" && v !== null &&
  (((v as { dtype: string }).dtype === "qint32") ||
    (((v as { dtype: string }).dtype === "qint8" || (v as { dtype: string }).dtype === "qint16") &&
      isScale((v as { scale: unknown }).scale)));

/** Field checks per op: each returns a problem or undefined. */
const CHECKS: Record<IntOp["op"], (k: Record<string, unknown>) => string | undefined> = {
  input: () => undefined,
  quantize: (
    k,
  ) => (isScale(k.scale) && (k.dtype === "qint8" || k.dtype === "qint16") ? undefined : "bad scale or dtype"),
  conv2d: (k) =>
    Array.isArray(k.weightShape) && k.weightShape.length === 4 && k.weightShape.every((d) =>
        isInt(d, 1, 1 << 16)
      ) &&
      isPair(k.stride, 1) && isPair(k.padding, 0) && isPair(k.dilation, 1) && isInt(k.groups, 1, 1 << 16) &&
      QOUT(k.output) && (k.act === undefined || k.act === "relu" || k.act === "relu6")
      ? undefined
      : "bad conv2d fields",
  linear: (k) =>
    Array.isArray(k.weightShape) && k.weightShape.length === 2 && k.weightShape.every((d) =>
        isInt(d, 1, 1 << 20)
      ) &&
      QOUT(k.output)
      ? undefined
      : "bad linear fields",
  add: (k) => (QOUT(k.output) ? undefined : "bad add output"),
  cat: (k) => (isInt(k.axis, -8, 8) && QOUT(k.output) ? undefined : "bad cat fields"),
  avg_pool2d: (k) =>
    isPair(k.kernel, 1) && isPair(k.stride, 1) && isPair(k.padding, 0) && QOUT(k.output)
      ? undefined
      : "bad pool fields",
  adaptive_avg_pool2d: (k) => (isPair(k.outputSize, 1) && QOUT(k.output) ? undefined : "bad pool fields"),
  max_pool2d: (
    k,
  ) => (isPair(k.kernel, 1) && isPair(k.stride, 1) && isPair(k.padding, 0) ? undefined : "bad pool fields"),
  relu: () => undefined,
  relu6: () => undefined,
  flatten: (k) => (isInt(k.startDim, 0, 8) ? undefined : "bad startDim"),
  identity: () => undefined,
  dequantize: () => undefined,
};

/**
 * An int model from file bytes; `fileName` names the file in errors.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { decodeIntModel } from "@hqat/fx";
 * try { decodeIntModel(new Uint8Array(4), { fileName: "m.hqat" }); } catch (e) { assert(String(e).includes("m.hqat")); }
 * ```
 */
export function decodeIntModel(bytes: Uint8Array, options: { fileName?: string } = {}): IntModel {
  const file = options.fileName ?? "int model";
  const { tensors, metadata } = parseSafetensors(bytes, { fileName: file });
  const fail = (m: string): never => {
    throw new IntModelFileError(file, m);
  };
  const text = metadata[TAG] ?? fail(`no "${TAG}" metadata: not an hqat int model`);
  let doc: { format?: unknown; version?: unknown; march?: unknown; nodes?: unknown };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return fail(`graph metadata is not valid JSON (${(e as Error).message})`);
  }
  if (doc.format !== "hqat-int-model") {
    fail(`format is ${JSON.stringify(doc.format)}, expected "hqat-int-model"`);
  }
  if (doc.version !== 1) {
    fail(`version ${JSON.stringify(doc.version)} is not supported (this reader knows version 1)`);
  }
  if (typeof doc.march !== "string") fail("march is missing");
  if (!Array.isArray(doc.nodes) || doc.nodes.length < 2 || doc.nodes.length > MAX_NODES) {
    fail("node list is missing or out of bounds");
  }
  const seen = new Set<string>();
  const tensor = (name: string, dtype: string): StoredTensor["data"] => {
    const t = tensors.get(name) ?? fail(`tensor "${name}" is missing`);
    if (t.dtype !== dtype) fail(`tensor "${name}" is ${t.dtype}, expected ${dtype}`);
    return t.data;
  };
  const nodes: IntNode[] = (doc.nodes as unknown[]).map((raw, i) => {
    const n = raw as Record<string, unknown>;
    const where = `node ${i}`;
    if (typeof n?.name !== "string" || !n.name || seen.has(n.name)) {
      fail(`${where} has a missing or duplicate name`);
    }
    const name = n.name as string;
    if (!Array.isArray(n.inputs) || !n.inputs.every((x) => typeof x === "string" && seen.has(x))) {
      fail(`node "${name}" reads an input that is not defined before it`);
    }
    if (!Array.isArray(n.shape) || n.shape.length > 8 || !n.shape.every((d) => isInt(d, 0, 1 << 24))) {
      fail(`node "${name}" has a bad shape`);
    }
    if (!["qint8", "qint16", "qint32", "float32"].includes(n.dtype as string)) {
      fail(`node "${name}" has a bad dtype`);
    }
    const k = n.kind as Record<string, unknown>;
    const check = k && typeof k.op === "string" ? CHECKS[k.op as IntOp["op"]] : undefined;
    if (!check) fail(`node "${name}" has an unknown op ${JSON.stringify(k?.op)}`);
    const problem = check!(k);
    if (problem) fail(`node "${name}" (${k.op}): ${problem}`);
    const kind: Record<string, unknown> = { ...k };
    for (const [field, dtype] of Object.entries(ARRAYS)) {
      if (k[field] === undefined) continue;
      if (k[field] !== `@${name}.${field}`) {
        fail(`node "${name}": field ${field} must reference tensor "${name}.${field}"`);
      }
      kind[field] = tensor(`${name}.${field}`, dtype);
    }
    if (k.op === "conv2d" || k.op === "linear") {
      const ws = k.weightShape as number[];
      const w = kind.weight as Int8Array | undefined;
      const count = ws.reduce((a, b) => a * b, 1);
      if (!w || w.length !== count) {
        fail(`node "${name}": weight has ${w?.length ?? 0} values, shape [${ws}] needs ${count}`);
      }
      const ss = kind.weightScale as Float32Array | undefined;
      if (!ss || ss.length !== ws[0] || !ss.every((v) => v > 0 && Number.isFinite(v))) {
        fail(`node "${name}": bad weight scales`);
      }
      const b = kind.bias as Int32Array | undefined;
      if (b && b.length !== ws[0]) fail(`node "${name}": ${b.length} biases for ${ws[0]} channels`);
      if (k.op === "conv2d" && (ws[1] * (k.groups as number) < 1)) fail(`node "${name}": bad groups`);
    }
    const scale = tensor(`${name}.scale`, "F32") as Float32Array;
    if (scale.length < 1 || !scale.every((v) => Number.isFinite(v) && v > 0)) {
      fail(`node "${name}": bad output scale`);
    }
    seen.add(name);
    return {
      name,
      inputs: n.inputs as string[],
      kind: kind as IntOp,
      shape: n.shape as number[],
      dtype: n.dtype as IntNode["dtype"],
      scale,
    };
  });
  if (nodes[0].kind.op !== "input") fail("the first node must be the input");
  if (nodes[nodes.length - 1].kind.op !== "dequantize") fail("the last node must be a dequantize");
  return { format: "hqat-int-model", version: 1, march: doc.march as string, nodes };
}

/**
 * Writes an int model file (atomically).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { saveIntModel } from "@hqat/fx";
 * assert(typeof saveIntModel === "function");
 * ```
 */
export async function saveIntModel(path: string, model: IntModel): Promise<void> {
  await atomicWriteFile(path, encodeIntModel(model));
}

/**
 * Reads and checks an int model file.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { loadIntModel } from "@hqat/fx";
 * try { await loadIntModel("/no/such/int_model"); } catch (e) { assert(e instanceof Error); }
 * ```
 */
export async function loadIntModel(path: string): Promise<IntModel> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`Cannot read "${path}": ${(e as Error).message}`);
  }
  return decodeIntModel(bytes, { fileName: path });
}

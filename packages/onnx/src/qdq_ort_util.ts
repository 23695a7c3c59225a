/**
 * onnxruntime on an exported QDQ model, for the tests (onnxruntime is a test dependency only; it needs
 * `--allow-ffi`): the output for an input batch, and the graph onnxruntime optimized — its nodes, and
 * which of them it runs on integers.
 * @module
 */
import { type Program, runIntModel } from "@hqat/program";
import { exportQdq, type QdqExport, type QdqExportOptions } from "./export_qdq.ts";
import { decodeOnnx, type OnnxNode } from "./proto.ts";
import { isFloatType } from "./tensor_proto.ts";

/** A float32 input batch and its shape. */
export interface OrtInput {
  /** The values, row-major. */
  readonly data: Float32Array;
  /** The shape `[N, ...]`. */
  readonly shape: readonly number[];
}

/** A node of onnxruntime's optimized graph and whether it computes on integers. */
export interface OrtNode {
  /** The node's name. */
  readonly name: string;
  /** `domain.OpType` (`OpType` for the default domain). */
  readonly op: string;
  /** Its data input is an integer tensor (int8/int16/int32 values, not a float dequantized one). */
  readonly integer: boolean;
}

const INT_PRODUCERS = new Set(["QuantizeLinear", "Cast", "Gather", "DynamicQuantizeLinear"]);
const INT_KERNELS = /^(QLinear|QGemm|ConvInteger|MatMulInteger|QAttention|QEmbed)/;
const FLOAT_OUT = new Set(["DequantizeLinear", "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "Shape"]);

/**
 * Classifies the nodes of an optimized graph: integer tensors are initializers of integer type, outputs
 * of QuantizeLinear, of onnxruntime's integer kernels (QLinear*, …, unless given no output scale), and of
 * any node whose data input is an integer tensor (data movement, Clip, Gather on int8 values).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { classifyNodes } from "./qdq_ort_util.ts";
 * const n = (name: string, opType: string, inputs: string[], outputs: string[]) =>
 *   ({ name, opType, domain: "", inputs, outputs, attributes: new Map() });
 * const c = classifyNodes([n("q", "QuantizeLinear", ["x"], ["a"]), n("t", "Transpose", ["a"], ["b"]), n("d", "DequantizeLinear", ["b"], ["c"])], new Set());
 * assert(c.map((x) => x.integer).join() === "false,true,true");
 * ```
 */
export function classifyNodes(nodes: readonly OnnxNode[], intInitializers: ReadonlySet<string>): OrtNode[] {
  const ints = new Set(intInitializers);
  return nodes.map((node) => {
    const op = node.domain && node.domain !== "ai.onnx" ? `${node.domain}.${node.opType}` : node.opType;
    const integer = node.opType !== "QuantizeLinear" && ints.has(node.inputs[0]) ||
      INT_KERNELS.test(node.opType);
    const floatOut = FLOAT_OUT.has(node.opType) || (node.opType === "QGemm" && node.inputs.length < 8);
    if (!floatOut && (integer || INT_PRODUCERS.has(node.opType) && node.opType !== "Gather")) {
      for (const o of node.outputs) ints.add(o);
    }
    if (node.opType === "Gather" && ints.has(node.inputs[0])) { for (const o of node.outputs) ints.add(o); }
    return { name: node.name, op, integer };
  });
}

/**
 * Runs `bytes` in onnxruntime (CPU, all graph optimizations) on `input`; returns the output and the
 * optimized graph's nodes, classified.
 *
 * @example
 * ```ts ignore
 * const { output, nodes } = await ortRunQdq(bytes, { data: x, shape: [2, 3, 32, 32] });
 * ```
 */
export async function ortRunQdq(
  bytes: Uint8Array,
  { data: input, shape }: OrtInput,
): Promise<{ output: Float32Array; shape: number[]; nodes: OrtNode[] }> {
  const ort = await import("onnxruntime-node");
  const path = await Deno.makeTempFile({ suffix: ".onnx" });
  const session = await ort.InferenceSession.create(bytes, {
    optimizedModelFilePath: path,
    logSeverityLevel: 3,
  });
  try {
    const feed = new ort.Tensor("float32", input, [...shape]);
    const out = await session.run({ [session.inputNames[0]]: feed });
    const y = out[session.outputNames[0]];
    const optimized = decodeOnnx(await Deno.readFile(path), { source: path });
    const intInits = new Set(
      optimized.graph.initializers.filter((t) => !isFloatType(t.dataType) && t.dataType !== 7).map((t) =>
        t.name
      ),
    );
    return {
      output: Float32Array.from(y.data as Float32Array),
      shape: y.dims.map(Number),
      nodes: classifyNodes(optimized.graph.nodes, intInits),
    };
  } finally {
    await session.release();
    await Deno.remove(path).catch(() => {});
  }
}

/**
 * The cosine similarity of two vectors (1 for two zero vectors).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { cosine } from "./qdq_ort_util.ts";
 * assert(cosine([1, 2], [2, 4]) > 0.999999 && cosine([0], [0]) === 1);
 * ```
 */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 && bb === 0 ? 1 : ab / Math.sqrt(aa * bb);
}

/**
 * The nodes of onnxruntime's optimized graph that belong to each instruction (named `<instruction>/…`;
 * onnxruntime keeps the name of a fused node's target, with a suffix), without the Q/DQ nodes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { nodesByInstruction } from "./qdq_ort_util.ts";
 * const m = nodesByInstruction(["c1", "c1.b"], [{ name: "c1/Conv_token_1", op: "com.microsoft.QLinearConv", integer: true }]);
 * assert(m.get("c1")!.length === 1 && m.get("c1.b")!.length === 0);
 * ```
 */
export function nodesByInstruction(
  instructions: readonly string[],
  nodes: readonly OrtNode[],
): Map<string, OrtNode[]> {
  const out = new Map(instructions.map((i) => [i, [] as OrtNode[]]));
  for (const n of nodes) {
    if (/(^|\.)(QuantizeLinear|DequantizeLinear)$/.test(n.op)) continue;
    const cut = n.name.lastIndexOf("/");
    if (cut > 0) out.get(n.name.slice(0, cut))?.push(n);
  }
  return out;
}

/** What {@linkcode compareWithOrt} measured. */
export interface OrtComparison {
  /** Cosine similarity of onnxruntime's output and the program's dequantized output. */
  readonly cosine: number;
  /** The largest absolute difference. */
  readonly maxAbsDiff: number;
  /** Integer op types onnxruntime ran, with counts (`QLinearConv ×52`). */
  readonly integerOps: readonly string[];
  /** Float op types onnxruntime ran, with counts, Q/DQ left out. */
  readonly floatOps: readonly string[];
  /** Instructions whose report disagrees with onnxruntime's optimized graph. */
  readonly mismatches: readonly string[];
}

const counted = (ops: readonly string[]) => {
  const m = new Map<string, number>();
  for (const o of ops) m.set(o, (m.get(o) ?? 0) + 1);
  return [...m].map(([op, n]) => `${op.replace(/^com\.microsoft\./, "")} ×${n}`);
};

/**
 * Exports `program` (with `options`), runs it in onnxruntime on `input` and compares with `runIntModel`; checks the
 * report against the optimized graph (an instruction said integer has only integer nodes there, one
 * said float has a float node).
 *
 * @example
 * ```ts ignore
 * const c = await compareWithOrt(program, { data: x, shape: [4, 3, 32, 32] });
 * ```
 */
export async function compareWithOrt(
  program: Program,
  input: OrtInput,
  options: QdqExportOptions = {},
): Promise<OrtComparison & { readonly exported: QdqExport }> {
  const exported = exportQdq(program, options);
  const ref = runIntModel(program, input.data, input.shape);
  const ort = await ortRunQdq(exported.bytes, input);
  if (ort.shape.join() !== ref.shape.join()) {
    throw new RangeError(`onnxruntime gives [${ort.shape}], the program [${ref.shape}]`);
  }
  let maxAbsDiff = 0;
  for (let i = 0; i < ref.output.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ref.output[i] - ort.output[i]));
  }
  const byInstr = nodesByInstruction(exported.report.map((r) => r.instruction), ort.nodes);
  const mismatches: string[] = [];
  for (const r of exported.report) {
    const nodes = byInstr.get(r.instruction) ?? [];
    if (!nodes.length) continue;
    const ok = r.integer ? nodes.every((n) => n.integer) : nodes.some((n) => !n.integer);
    if (!ok) {
      mismatches.push(
        `${r.instruction} (${r.op}) said ${r.integer ? "integer" : "float"}: ${
          nodes.map((n) => `${n.op}${n.integer ? "[int]" : ""}`).join(", ")
        }`,
      );
    }
  }
  const data = ort.nodes.filter((n) =>
    !/(QuantizeLinear|DequantizeLinear)$/.test(n.op) && !n.name.includes(":shape/")
  );
  return {
    exported,
    cosine: cosine(ref.output, ort.output),
    maxAbsDiff,
    integerOps: counted(data.filter((n) => n.integer).map((n) => n.op)),
    floatOps: counted(data.filter((n) => !n.integer).map((n) => n.op)),
    mismatches,
  };
}

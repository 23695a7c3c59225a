/**
 * Load-time analysis: every value's kind and shape, the values known before any input arrives
 * (constants and shape computations, folded), and how each initializer is used (a parameter of the
 * model, the state of a layer module, or a constant). A dynamic batch dimension is kept by analysing
 * the graph at three batch sizes: every shape and folded integer must then be an affine function of the
 * batch size (base + perBatch · batch), which the model evaluates when it runs.
 * @module
 */
import type { CheckedGraph } from "./graph_check.ts";
import { type ElemKind, kindOfType, known, type ValueInfo } from "./known.ts";
import { NodeView } from "./node_view.ts";
import { OP_RULES } from "./op_table.ts";
import type { BatchInts } from "./rule.ts";

/** A value's load-time description over the batch sizes analysed. */
export interface Merged {
  /** Element kind. */
  readonly kind: ElemKind;
  /** Shape as a function of the batch size. */
  readonly shape: BatchInts;
  /** Known floats (never batch-dependent). */
  readonly floats?: Float32Array;
  /** Known integers (or booleans), possibly batch-dependent. */
  readonly ints?: BatchInts;
}

/** How an initializer is used: trained parameter of the model, state of a layer module, or constant. */
export type InitializerUse = "param" | "state" | "known";

/** The outcome of {@linkcode analyzeGraph}. */
export interface Analysis {
  /** The checked graph. */
  readonly graph: CheckedGraph;
  /** Every value by name. */
  readonly values: ReadonlyMap<string, Merged>;
  /** How each initializer is used. */
  readonly uses: ReadonlyMap<string, InitializerUse>;
  /** Names of the nodes whose outputs are all known (they do not run). */
  readonly folded: ReadonlySet<string>;
  /** The input shape, -1 for a dynamic batch dimension. */
  readonly inputShape: readonly number[];
}

/** The batch sizes a dynamic batch is analysed at (the third checks the affine fit of the first two). */
const BATCHES = [2, 3, 5] as const;

function inputDims(g: CheckedGraph, requested?: readonly number[]): number[] {
  const src = g.source, v = g.input;
  if (v.elemType !== 1 && v.elemType !== 0) {
    throw new TypeError(
      `${src}: input "${v.name}" has element type ${v.elemType}; a float32 input is supported`,
    );
  }
  const file = v.shape ?? requested?.map((d, i) => (i === 0 ? "batch" : d));
  if (!file) throw new RangeError(`${src}: input "${v.name}" has no shape; give the input shape`);
  if (requested && requested.length !== file.length) {
    throw new RangeError(
      `${src}: input shape [${requested.join(",")}] does not fit the model's rank ${file.length}`,
    );
  }
  return file.map((d, i) => {
    if (typeof d === "number" && d > 0) {
      if (requested && requested[i] !== d && !(i === 0 && requested[i] === -1)) {
        throw new RangeError(
          `${src}: input shape [${requested.join(",")}] does not fit the model's [${file.join(",")}]`,
        );
      }
      return d;
    }
    if (i === 0) return -1;
    const r = requested?.[i];
    if (!(r !== undefined && Number.isSafeInteger(r) && r > 0)) {
      throw new RangeError(
        `${src}: dimension ${i} of input "${v.name}" is "${d}"; give the input shape to fold it`,
      );
    }
    return r;
  });
}

function classify(g: CheckedGraph): Map<string, InitializerUse> {
  const uses = new Map<string, Set<"data" | "state" | "known">>();
  for (const n of g.nodes) {
    const rule = OP_RULES[n.opType];
    n.inputs.forEach((name, i) => {
      if (!g.initializers.has(name)) return;
      const u = rule.state?.includes(i) ? "state" : rule.known?.includes(i) ? "known" : "data";
      uses.set(name, (uses.get(name) ?? new Set()).add(u));
    });
  }
  const out = new Map<string, InitializerUse>();
  for (const [name, t] of g.initializers) {
    const u = uses.get(name) ?? new Set();
    const float = kindOfType(t.dataType) === "float";
    if (u.has("state") && u.has("data")) {
      throw new RangeError(
        `${g.source}: initializer "${name}" is both a layer's weights and an operand elsewhere`,
      );
    }
    out.set(name, float && u.has("data") ? "param" : float && u.has("state") ? "state" : "known");
  }
  return out;
}

function run(
  g: CheckedGraph,
  dims: readonly number[],
  uses: ReadonlyMap<string, InitializerUse>,
  batch: number,
) {
  const values = new Map<string, ValueInfo>();
  values.set(g.input.name, { kind: "float", shape: dims.map((d) => (d < 0 ? batch : d)) });
  for (const [name, t] of g.initializers) {
    const kind = kindOfType(t.dataType);
    if (!kind) {
      throw new TypeError(
        `${g.source}: initializer "${name}" has element type ${t.dataType}, which is not supported`,
      );
    }
    values.set(name, uses.get(name) === "known" ? known(kind, t.dims, t.data) : { kind, shape: t.dims });
  }
  for (const node of g.nodes) {
    const n = new NodeView(node, g.opset, g.source);
    const rule = OP_RULES[node.opType];
    const ins = node.inputs.map((name) => (name ? values.get(name) : undefined));
    for (const i of rule.known ?? []) {
      if (ins[i] && !ins[i]!.value) {
        throw n.error(`input ${i} ("${node.inputs[i]}") must be known when the model loads`);
      }
    }
    let outs: ValueInfo[];
    try {
      outs = rule.infer(n, ins);
    } catch (e) {
      const msg = (e as Error).message;
      if (msg.startsWith(g.source)) throw e;
      throw n.error(msg, e instanceof TypeError ? "type" : "range");
    }
    node.outputs.forEach((o, i) => {
      if (o && outs[i]) values.set(o, outs[i]);
    });
  }
  return values;
}

function affine(
  src: string,
  what: string,
  runs: readonly (readonly number[])[],
  batches: readonly number[],
): BatchInts {
  const [a, b] = runs;
  if (runs.length === 1) return { base: [...a], perBatch: a.map(() => 0) };
  if (runs.some((r) => r.length !== a.length)) {
    throw new RangeError(`${src}: the rank of ${what} depends on the batch size`);
  }
  const perBatch = a.map((v, i) => (b[i] - v) / (batches[1] - batches[0]));
  const base = a.map((v, i) => v - perBatch[i] * batches[0]);
  runs.forEach((r, k) => {
    if (r.some((v, i) => base[i] + perBatch[i] * batches[k] !== v || !Number.isInteger(perBatch[i]))) {
      throw new RangeError(`${src}: ${what} depends on the batch size in a way that cannot be kept dynamic`);
    }
  });
  return { base, perBatch };
}

/**
 * Analyses a checked graph for an input shape (default the file's; a dynamic first dimension stays
 * dynamic). Shapes that disagree, values that must be known but are computed, and batch dependences that
 * are not affine are errors naming the node.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { analyzeGraph } from "./analyze.ts";
 * const graph = {
 *   source: "m.onnx", opset: 13, initializers: new Map(), output: "y",
 *   input: { name: "x", elemType: 1, shape: ["batch", 4] },
 *   nodes: [{ name: "r", opType: "Relu", domain: "", inputs: ["x"], outputs: ["y"], attributes: new Map() }],
 * };
 * const a = analyzeGraph(graph);
 * assert(a.values.get("y")!.shape.perBatch.join() === "1,0" && a.inputShape.join() === "-1,4");
 * ```
 */
export function analyzeGraph(g: CheckedGraph, options: { inputShape?: readonly number[] } = {}): Analysis {
  const dims = inputDims(g, options.inputShape);
  const uses = classify(g);
  const batches = dims[0] < 0 ? [...BATCHES] : [dims[0]];
  const runs = batches.map((b) => run(g, dims, uses, b));
  const values = new Map<string, Merged>();
  for (const [name, v0] of runs[0]) {
    const all = runs.map((r) => r.get(name)!);
    const what = `value "${name}"`;
    const shape = affine(g.source, `the shape of ${what}`, all.map((v) => v.shape), batches);
    let merged: Merged = { kind: v0.kind, shape };
    if (v0.value && all.every((v) => v.value)) {
      if (v0.kind === "float") {
        if (
          all.some((v) =>
            v.value!.length !== v0.value!.length || v.value!.some((x, i) => !Object.is(x, v0.value![i]))
          )
        ) {
          throw new RangeError(`${g.source}: ${what} depends on the batch size`);
        }
        merged = { ...merged, floats: v0.value as Float32Array };
      } else {
        merged = { ...merged, ints: affine(g.source, what, all.map((v) => Array.from(v.value!)), batches) };
      }
    }
    values.set(name, merged);
  }
  const folded = new Set<string>();
  for (const n of g.nodes) {
    const outs = n.outputs.filter((o) => o);
    if (outs.length && outs.every((o) => values.get(o)?.floats || values.get(o)?.ints)) folded.add(n.name);
  }
  return { graph: g, values, uses, folded, inputShape: dims };
}

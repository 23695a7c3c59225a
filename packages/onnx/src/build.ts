/**
 * From an analysed graph to the pieces of a model: one step per node that runs, the layer and stateless
 * modules the steps call (named by their initializers' module path, or by the ONNX node), the parameters
 * that no layer owns (kept under their initializer names), and the constants the steps read.
 * @module
 */
import type { Module } from "@hqat/nn";
import { fromArray, type Tensor } from "@hqat/tensor";
import type { Analysis, Merged } from "./analyze.ts";
import { NodeView } from "./node_view.ts";
import { OP_RULES } from "./op_table.ts";
import type { Builder, Step } from "./rule.ts";
import type { OnnxTensor } from "./tensor_proto.ts";

/** Where a step's input comes from when the model runs. */
export type Source =
  | { readonly from: "value"; readonly name: string }
  | { readonly from: "param"; readonly key: string }
  | { readonly from: "const"; readonly tensor: Tensor };

/** A node ready to run. */
export interface PlannedStep {
  /** The ONNX node's name. */
  readonly node: string;
  /** The ONNX operator. */
  readonly opType: string;
  /** The step. */
  readonly step: Step;
  /** The sources of the inputs the step reads. */
  readonly sources: readonly Source[];
  /** Output names (the first `count` are computed). */
  readonly outputs: readonly string[];
  /** Whether the step reads parameters outside a layer module (such steps cannot be traced). */
  readonly readsParams: boolean;
}

/** Everything a model is made of. */
export interface ModelPlan {
  /** Steps in order. */
  readonly steps: readonly PlannedStep[];
  /** Child modules by path, in registration order. */
  readonly modules: readonly (readonly [string, Module])[];
  /** Parameters no layer owns: ONNX initializer name → tensor. */
  readonly params: ReadonlyMap<string, OnnxTensor>;
  /** State key → ONNX initializer name, for every initializer that became state. */
  readonly stateNames: ReadonlyMap<string, string>;
}

const shapeOf = (m: Merged) => m.shape.base.map((b, i) => (m.shape.perBatch[i] ? -1 : b));

/**
 * Builds the model plan of an analysis.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { analyzeGraph } from "./analyze.ts";
 * import { planModel } from "./build.ts";
 * const graph = {
 *   source: "m.onnx", opset: 13, initializers: new Map(), output: "y",
 *   input: { name: "x", elemType: 1, shape: ["batch", 4] },
 *   nodes: [{ name: "act", opType: "Relu", domain: "", inputs: ["x"], outputs: ["y"], attributes: new Map() }],
 * };
 * const plan = planModel(analyzeGraph(graph));
 * assert(plan.steps.length === 1 && plan.modules[0][0] === "act");
 * ```
 */
export function planModel(a: Analysis): ModelPlan {
  const g = a.graph;
  const modules = new Map<string, Module>();
  const owners = new Map<string, string>(); // initializer → module path
  const stateNames = new Map<string, string>();
  const params = new Map<string, OnnxTensor>();
  const used = new Set<string>([g.output]);
  for (const n of g.nodes) for (const i of n.inputs) used.add(i);
  const steps: PlannedStep[] = [];
  const claimPath = (base: string) => {
    let p = base || "node";
    for (let k = 1; modules.has(p); k++) p = `${base}_${k}`;
    return p;
  };
  for (const node of g.nodes) {
    if (a.folded.has(node.name)) continue;
    const n = new NodeView(node, g.opset, g.source);
    const info = (i: number): Merged => {
      const m = node.inputs[i] ? a.values.get(node.inputs[i]) : undefined;
      if (!m) throw n.error(`input ${i} is missing`);
      return m;
    };
    const fixed = (i: number, what: string): number[] => {
      const v = info(i).ints;
      if (!v) throw n.error(`its ${what} must be known when the model loads`);
      if (v.perBatch.some((p) => p !== 0)) throw n.error(`its ${what} must not depend on the batch size`);
      return [...v.base];
    };
    const b: Builder = {
      node: n,
      has: (i) => !!node.inputs[i],
      kind: (i) => info(i).kind,
      shape: (i) => shapeOf(info(i)),
      outShape: (i) => shapeOf(a.values.get(node.outputs[i])!),
      isKnown: (i) => !!(info(i).floats || info(i).ints),
      ints: (i, what) => {
        const v = info(i).ints;
        if (!v) throw n.error(`its ${what} must be known when the model loads`);
        return v;
      },
      fixedInts: fixed,
      floats: (i, what) => {
        const m = info(i);
        if (m.floats) return m.floats;
        return Float32Array.from(fixed(i, what));
      },
      tensor: (i) => {
        const name = node.inputs[i];
        const init = g.initializers.get(name);
        if (init) return init;
        const m = name ? a.values.get(name) : undefined;
        if (m?.floats) return { name, dataType: 1, dims: shapeOf(m), data: m.floats };
        return undefined;
      },
      layer: (locals, make) => {
        const names = Object.entries(locals).map(([local, i]) => [local, node.inputs[i]] as const);
        const prefixes = names.map((
          [local, name],
        ) => (name.endsWith(`.${local}`) ? name.slice(0, -local.length - 1) : ""));
        const common = prefixes[0] && prefixes.every((p) => p === prefixes[0]) ? prefixes[0] : "";
        const existing = names.map(([, name]) => owners.get(name));
        if (existing[0] !== undefined && existing.every((p) => p === existing[0])) {
          // The same weights again (a shared layer): call the same module.
          return { path: existing[0], module: modules.get(existing[0]!) as ReturnType<typeof make> };
        }
        if (existing.some((p) => p !== undefined)) {
          throw n.error("shares some, but not all, of its weights with another layer");
        }
        const path = common && !modules.has(common) ? common : claimPath(node.name);
        const module = make(path);
        modules.set(path, module);
        for (const [local, name] of names) {
          owners.set(name, path);
          stateNames.set(`${path}.${local}`, name);
        }
        return { path, module };
      },
      stateless: (module) => {
        const path = claimPath(node.name);
        modules.set(path, module);
        return { path, module };
      },
    };
    let step: Step;
    try {
      step = OP_RULES[node.opType].build(b);
    } catch (e) {
      const msg = (e as Error).message;
      if (msg.startsWith(g.source)) throw e;
      throw n.error(msg, e instanceof TypeError ? "type" : "range");
    }
    const count = step.outputs ?? 1;
    node.outputs.forEach((o, i) => {
      if (o && i >= count && used.has(o)) {
        throw n.error(`output ${i} ("${o}") is used, but only ${count} computed`);
      }
    });
    let readsParams = false;
    const sources = step.reads.map((i): Source => {
      const name = node.inputs[i];
      const m = info(i);
      if (a.uses.get(name) === "param") {
        readsParams = true;
        params.set(name, g.initializers.get(name)!);
        stateNames.set(name, name);
        return { from: "param", key: name };
      }
      if (m.floats || m.ints) {
        const data = m.floats ?? Float32Array.from(fixed(i, `input ${i}`));
        return { from: "const", tensor: fromArray(Float32Array.from(data), shapeOf(m)) };
      }
      return { from: "value", name };
    });
    steps.push({ node: node.name, opType: node.opType, step, sources, outputs: node.outputs, readsParams });
  }
  for (const name of params.keys()) {
    if (owners.has(name)) {
      throw new RangeError(`${g.source}: initializer "${name}" is both a layer's and a parameter`);
    }
  }
  return { steps, modules: [...modules], params, stateNames };
}

/**
 * The contract of one operator: its shape rule (which also folds what is known at load time) and its
 * builder (which turns a node into a step of the model, or into a layer module). The table of rules,
 * typed over the supported operator names, lives in `op_table.ts`.
 * @module
 */
import type { Module, Scope } from "@hqat/nn";
import type { Tensor } from "@hqat/tensor";
import type { ElemKind, ValueInfo } from "./known.ts";
import type { NodeView } from "./node_view.ts";
import type { OnnxTensor } from "./tensor_proto.ts";

/** What a step sees when the model runs. */
export interface RunContext {
  /** The model's scope (state by full name, training flag, buffer updates). */
  readonly s: Scope;
  /** The batch size of this run (the input's first dimension). */
  readonly batch: number;
}

/** What a node compiles to. */
export interface Step {
  /** The input positions the step reads when it runs (constants and parameters included). */
  readonly reads: readonly number[];
  /** How many of the node's outputs the step computes (default 1). */
  readonly outputs?: number;
  /**
   * Why tracing cannot record the step faithfully (its primitive ops would carry the traced batch size),
   * or undefined when it can.
   */
  readonly untraceable?: string;
  /** The outputs from the inputs read, in `reads` order. */
  run(ins: readonly Tensor[], rt: RunContext): Tensor[];
}

/** Integers known at load time that may depend on the batch size: value = base + perBatch · batch. */
export interface BatchInts {
  /** The values for a batch of zero. */
  readonly base: readonly number[];
  /** The change per image of batch. */
  readonly perBatch: readonly number[];
}

/**
 * The values of {@linkcode BatchInts} for a batch size.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intsFor } from "./rule.ts";
 * assert(intsFor({ base: [0, 12], perBatch: [1, 0] }, 4).join() === "4,12");
 * ```
 */
export function intsFor(v: BatchInts, batch: number): number[] {
  return v.base.map((b, i) => b + v.perBatch[i] * batch);
}

/** What a rule's builder may ask about the node's inputs and outputs. */
export interface Builder {
  /** The node. */
  readonly node: NodeView;
  /** Whether input `i` is given. */
  has(i: number): boolean;
  /** Element kind of input `i`. */
  kind(i: number): ElemKind;
  /** Shape of input `i`; dimensions that depend on the batch size are -1. */
  shape(i: number): readonly number[];
  /** Shape of output `i`; dimensions that depend on the batch size are -1. */
  outShape(i: number): readonly number[];
  /** Whether input `i` is known at load time (a constant or a folded value). */
  isKnown(i: number): boolean;
  /** Known integers of input `i`, possibly batch-dependent; `what` names them in errors. */
  ints(i: number, what: string): BatchInts;
  /** Known integers of input `i` that do not depend on the batch size. */
  fixedInts(i: number, what: string): number[];
  /** Known floats of input `i` (batch-independent). */
  floats(i: number, what: string): Float32Array;
  /**
   * The tensor behind input `i` when it is an initializer or a constant (for layer modules, which take
   * their state from it); undefined for computed values.
   */
  tensor(i: number): OnnxTensor | undefined;
  /**
   * Registers a layer module whose state comes from initializers, and returns its path: the common prefix
   * when the initializers are named `<path>.<local>` after `locals`, else the node's name.
   */
  layer<M extends Module>(locals: Readonly<Record<string, number>>, module: (path: string) => M): {
    path: string;
    module: M;
  };
  /** Registers a stateless module (activation, pooling, …) named after the node; returns its path. */
  stateless<M extends Module>(module: M): { path: string; module: M };
}

/** One operator's rule. */
export interface OpRule {
  /** Input positions that must be known when the model loads (shapes, axes, scales, pads …). */
  readonly known?: readonly number[];
  /** Input positions that must be initializers (or constants), read by a layer module. */
  readonly state?: readonly number[];
  /**
   * The outputs' kinds and shapes from the inputs', with their values where they can be known (always
   * for `Shape`; for the folding operators when every input is known). Throws for shapes that disagree.
   * Omitted inputs are undefined.
   */
  infer(n: NodeView, ins: readonly (ValueInfo | undefined)[]): ValueInfo[];
  /** The step that runs the node (never called for a node whose outputs are all known). */
  build(b: Builder): Step;
}

/**
 * A step that reads input 0 and applies `f`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { unaryStep } from "./rule.ts";
 * import { neg } from "@hqat/tensor";
 * assert(unaryStep(neg).reads.join() === "0");
 * ```
 */
export function unaryStep(f: (x: Tensor, rt: RunContext) => Tensor): Step {
  return { reads: [0], run: ([x], rt) => [f(x, rt)] };
}

/**
 * A step that calls a module on input 0 through the scope (so tracing records the module).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { moduleStep } from "./rule.ts";
 * import { ReLU } from "@hqat/nn";
 * assert(moduleStep("act", new ReLU()).reads.join() === "0");
 * ```
 */
export function moduleStep(path: string, module: Module): Step {
  return { reads: [0], run: ([x], rt) => [rt.s.call(path, module, x)] };
}

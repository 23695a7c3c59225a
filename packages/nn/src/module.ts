/**
 * Modules: PyTorch-style layer trees whose state (parameters and buffers) lives outside them, in a
 * flat, ordered {@linkcode StateDict} keyed by PyTorch's dotted names. A module is an immutable
 * description; {@linkcode initState} creates its state and {@linkcode forward} runs it as a pure
 * function of (state, input), returning the output and any buffer updates (batch-norm statistics).
 * @module
 */
import { type DType, foldIn, type RandomKey, type Shape, type Tensor } from "@hqat/tensor";

/** A flat map from dotted names to tensors, in PyTorch's `state_dict()` order. */
export type StateDict = Record<string, Tensor>;

/** One tensor a module owns. */
export interface StateSpec {
  /** Local name (`weight`, `running_mean`, …). */
  name: string;
  /** Shape. */
  shape: Shape;
  /** Element type in memory. */
  dtype: DType;
  /** Trainable parameter or buffer. */
  kind: "param" | "buffer";
  /** The dtype PyTorch uses for it when it differs (`int64` for `num_batches_tracked`). */
  torchDType?: "int64";
  /** Creates the initial value. */
  init: (key: RandomKey) => Tensor;
}

/** Intercepts module calls (used by tracing and quantization). */
export type CallInterceptor = (name: string, module: Module, x: Tensor, run: (x: Tensor) => Tensor) => Tensor;

/** What a forward pass runs under. */
export interface ForwardContext {
  /** Training mode (batch statistics, dropout) or evaluation mode. */
  readonly training: boolean;
  /** Randomness for dropout; required when training a model with dropout. */
  readonly key?: RandomKey;
  /** Buffer updates collected during the pass, by full name. */
  readonly updates: Map<string, Tensor>;
  /** Optional interceptor around every child call. */
  readonly intercept?: CallInterceptor;
}

/**
 * The view a module gets of the state during its forward pass.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Linear, forward, initState } from "@hqat/nn";
 * import { ones, randomKey } from "@hqat/tensor";
 * const m = new Linear(3, 2);
 * const { y } = forward(m, initState(m, randomKey(0)), ones([1, 3]));
 * assert(y.shape.join() === "1,2");
 * ```
 */
export class Scope {
  /** Creates a scope over `state` at `prefix`. */
  constructor(readonly state: StateDict, readonly prefix: string, readonly ctx: ForwardContext) {}

  /** The tensor `name` of this module. */
  get(name: string): Tensor {
    const t = this.state[this.prefix + name];
    if (!t) throw new RangeError(`State has no entry "${this.prefix + name}"`);
    return t;
  }

  /** Records a new value for buffer `name`. */
  setBuffer(name: string, value: Tensor): void {
    this.ctx.updates.set(this.prefix + name, value);
  }

  /** A child's scope. */
  child(name: string): Scope {
    return new Scope(this.state, `${this.prefix}${name}.`, this.ctx);
  }

  /** Runs child module `name` on `x` (through the interceptor, if any). */
  call(name: string, module: Module, x: Tensor): Tensor {
    const s = this.child(name);
    const run = (v: Tensor) => module.forward(s, v);
    return this.ctx.intercept ? this.ctx.intercept(this.prefix + name, module, x, run) : run(x);
  }

  /** A key for randomness of this module, derived from the context key and the module's name. */
  key(): RandomKey {
    if (!this.ctx.key) {
      throw new TypeError(`Module "${this.prefix.slice(0, -1)}" needs a random key in training mode`);
    }
    let k = this.ctx.key;
    for (let i = 0; i < this.prefix.length; i++) k = foldIn(k, this.prefix.charCodeAt(i));
    return k;
  }
}

/**
 * The base of all modules: a named tree of children plus the state the module itself owns.
 * Subclasses register children in their constructor (registration order is state order) and
 * implement {@linkcode Module.forward}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Module, ReLU, Scope } from "@hqat/nn";
 * import type { Tensor } from "@hqat/tensor";
 * class Twice extends Module {
 *   readonly typeName = "Twice";
 *   readonly act = this.register("act", new ReLU());
 *   forward(s: Scope, x: Tensor): Tensor { return s.call("act", this.act, s.call("act", this.act, x)); }
 * }
 * assert(new Twice().namedChildren().length === 1);
 * ```
 */
export abstract class Module {
  /** The PyTorch class name (`Conv2d`, `BatchNorm2d`, …). */
  abstract readonly typeName: string;
  readonly #children: [string, Module][] = [];

  /** Registers a child under `name` and returns it. */
  protected register<M extends Module>(name: string, module: M): M {
    if (this.#children.some(([n]) => n === name)) throw new RangeError(`Duplicate child module "${name}"`);
    this.#children.push([name, module]);
    return module;
  }

  /** Direct children in registration order. */
  namedChildren(): readonly [string, Module][] {
    return this.#children;
  }

  /** The tensors this module itself owns (parameters first, then buffers). */
  ownState(): StateSpec[] {
    return [];
  }

  /** A one-line description of the hyperparameters, like PyTorch's `extra_repr`. */
  extraRepr(): string {
    return "";
  }

  /** Computes the output from the input. */
  abstract forward(s: Scope, x: Tensor): Tensor;
}

/**
 * Every module with its dotted name, depth first ("" for the root).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Linear, ReLU, Sequential, namedModules } from "@hqat/nn";
 * const names = namedModules(new Sequential(new Linear(2, 2), new ReLU())).map(([n]) => n);
 * assert(names.join() === ",0,1");
 * ```
 */
export function namedModules(root: Module, prefix = ""): [string, Module][] {
  const out: [string, Module][] = [[prefix, root]];
  for (const [n, c] of root.namedChildren()) out.push(...namedModules(c, prefix ? `${prefix}.${n}` : n));
  return out;
}

/**
 * The full state layout in PyTorch's order: each module's parameters, then its buffers, then its children.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BatchNorm2d, stateSpecs } from "@hqat/nn";
 * const names = stateSpecs(new BatchNorm2d(4)).map((s) => s.name);
 * assert(names.join() === "weight,bias,running_mean,running_var,num_batches_tracked");
 * ```
 */
export function stateSpecs(root: Module): StateSpec[] {
  const out: StateSpec[] = [];
  const walk = (m: Module, prefix: string) => {
    const own = m.ownState();
    for (const kind of ["param", "buffer"] as const) {
      for (const s of own) if (s.kind === kind) out.push({ ...s, name: prefix + s.name });
    }
    for (const [n, c] of m.namedChildren()) walk(c, `${prefix}${n}.`);
  };
  walk(root, "");
  return out;
}

/**
 * Creates the initial state: each entry from its own initializer with a key derived from `key` and
 * the entry's position, so the same key gives the same state.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Linear, initState } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const s = initState(new Linear(4, 2), randomKey(0));
 * assert(Object.keys(s).join() === "weight,bias");
 * ```
 */
export function initState(root: Module, key: RandomKey): StateDict {
  const out: StateDict = {};
  stateSpecs(root).forEach((s, i) => {
    out[s.name] = s.init(foldIn(key, i));
  });
  return out;
}

/**
 * Runs the module on `x`. Returns the output and the state with buffer updates applied.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BatchNorm2d, forward, initState } from "@hqat/nn";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const bn = new BatchNorm2d(3);
 * const s = initState(bn, randomKey(0));
 * const { state } = forward(bn, s, randomNormal(randomKey(1), [4, 3, 2, 2]), { training: true });
 * assert(state["num_batches_tracked"].item() === 1);
 * ```
 */
export function forward(
  root: Module,
  state: StateDict,
  x: Tensor,
  options: { training?: boolean; key?: RandomKey; intercept?: CallInterceptor } = {},
): { y: Tensor; state: StateDict; updates: Map<string, Tensor> } {
  const ctx: ForwardContext = {
    training: options.training ?? false,
    key: options.key,
    updates: new Map(),
    intercept: options.intercept,
  };
  const y = root.forward(new Scope(state, "", ctx), x);
  if (ctx.updates.size === 0) return { y, state, updates: ctx.updates };
  const next: StateDict = {};
  for (const [k, v] of Object.entries(state)) next[k] = ctx.updates.get(k) ?? v;
  return { y, state: next, updates: ctx.updates };
}

/**
 * Splits a state into trainable parameters and buffers (both keep state order).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BatchNorm2d, initState, splitState } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const bn = new BatchNorm2d(2);
 * const { params, buffers } = splitState(bn, initState(bn, randomKey(0)));
 * assert(Object.keys(params).length === 2 && Object.keys(buffers).length === 3);
 * ```
 */
export function splitState(root: Module, state: StateDict): { params: StateDict; buffers: StateDict } {
  const params: StateDict = {}, buffers: StateDict = {};
  for (const s of stateSpecs(root)) {
    const t = state[s.name];
    if (!t) throw new RangeError(`State has no entry "${s.name}"`);
    (s.kind === "param" ? params : buffers)[s.name] = t;
  }
  return { params, buffers };
}

/**
 * Checks that `state` has exactly the module's entries with the right shapes, and returns them in
 * the module's order. Extra or missing names and shape mismatches are listed in one error.
 *
 * @example
 * ```ts
 * import { Linear, checkState, initState } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const m = new Linear(2, 2);
 * checkState(m, initState(m, randomKey(0)));
 * ```
 */
export function checkState(root: Module, state: StateDict, options: { source?: string } = {}): StateDict {
  const problems: string[] = [];
  const out: StateDict = {};
  const specs = stateSpecs(root);
  const known = new Set(specs.map((s) => s.name));
  for (const s of specs) {
    const t = state[s.name];
    if (!t) problems.push(`missing "${s.name}"`);
    else if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      problems.push(`"${s.name}" has shape [${t.shape.join(",")}], expected [${s.shape.join(",")}]`);
    } else out[s.name] = t;
  }
  for (const k of Object.keys(state)) if (!known.has(k)) problems.push(`unexpected "${k}"`);
  if (problems.length) {
    const where = options.source ? ` in ${options.source}` : "";
    const shown = problems.slice(0, 10).join("; ") +
      (problems.length > 10 ? `; … ${problems.length - 10} more` : "");
    throw new RangeError(`State does not fit ${root.typeName}${where}: ${shown}`);
  }
  return out;
}

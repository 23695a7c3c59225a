/**
 * Reverse-mode automatic differentiation as transformations of functions: {@linkcode grad} and
 * {@linkcode valueAndGrad} take a function of a parameter tree (nested objects and arrays whose
 * leaves are tensors) and return its gradient with the same structure.
 * @module
 */
import { popTape, pushTape, withoutTapes } from "./engine.ts";
import { add } from "./math.ts";
import { ones, Tensor, zeros } from "./tensor.ts";
import { checkCotangent, VJP_RULES } from "./vjp.ts";
import { CotangentRecycler, releaseIntermediates } from "./autodiff_recycle.ts";

/** A tree of tensors: nested arrays and plain objects (other leaves are carried along untouched). */
export type Tree =
  | Tensor
  | readonly Tree[]
  | { readonly [key: string]: Tree }
  | number
  | string
  | boolean
  | null
  | undefined;

/**
 * The tensors of a tree, in a deterministic order (object keys in insertion order).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { flattenTree, ones } from "@hqat/tensor";
 * assert(flattenTree({ a: ones([1]), b: [ones([2]), 3] }).length === 2);
 * ```
 */
export function flattenTree(tree: Tree): Tensor[] {
  const out: Tensor[] = [];
  const walk = (t: Tree) => {
    if (t instanceof Tensor) out.push(t);
    else if (Array.isArray(t)) t.forEach(walk);
    else if (t !== null && typeof t === "object") Object.values(t).forEach(walk);
  };
  walk(tree);
  return out;
}

/**
 * Rebuilds a tree with each tensor replaced by `fn(tensor)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mapTree, mul, ones } from "@hqat/tensor";
 * const t = mapTree({ w: ones([2]) }, (x) => mul(x, 3)) as { w: import("@hqat/tensor").Tensor };
 * assert(t.w.toArray().join() === "3,3");
 * ```
 */
export function mapTree(tree: Tree, fn: (t: Tensor) => Tensor): Tree {
  if (tree instanceof Tensor) return fn(tree);
  if (Array.isArray(tree)) return tree.map((t) => mapTree(t, fn));
  if (tree !== null && typeof tree === "object") {
    const out: Record<string, Tree> = {};
    for (const [k, v] of Object.entries(tree)) out[k] = mapTree(v as Tree, fn);
    return out;
  }
  return tree;
}

/** The result of {@linkcode valueAndGrad}. */
export interface ValueAndGrad<P, A> {
  /** The function's value. */
  value: Tensor;
  /** The gradient, shaped like the parameters. */
  grad: P;
  /** The auxiliary output (when `hasAux`). */
  aux: A;
}

/** Options of {@linkcode valueAndGrad}. */
export interface ValueAndGradOptions {
  /** `f` returns `[loss, aux]`; `aux` is passed through. */
  hasAux?: boolean;
  /**
   * Hand the storage of the forward pass's intermediate results back to the kernels once the gradient is
   * made, sparing the next call's results their page faults. Only for an `f` that lets no intermediate
   * result out other than through its value and `aux` (whose tensors — in arrays, plain objects and Maps —
   * are kept): one kept anywhere else would see its data change.
   */
  releaseIntermediates?: boolean;
}

/**
 * Differentiates `f` with respect to its first argument. `f` returns a one-element tensor, or with
 * `hasAux` a pair `[loss, aux]` whose `aux` is passed through.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mul, sum, tensor, valueAndGrad } from "@hqat/tensor";
 * const f = (p: { w: import("@hqat/tensor").Tensor }) => sum(mul(p.w, p.w));
 * const { value, grad } = valueAndGrad(f)({ w: tensor([1, 2]) });
 * assert(value.item() === 5 && grad.w.toArray().join() === "2,4");
 * ```
 */
export function valueAndGrad<P extends Tree, R extends unknown[], A = undefined>(
  f: (params: P, ...rest: R) => Tensor | [Tensor, A],
  options: ValueAndGradOptions = {},
): (params: P, ...rest: R) => ValueAndGrad<P, A> {
  return (params: P, ...rest: R) => {
    const leaves = flattenTree(params);
    const tape = pushTape(leaves.map((t) => t.id));
    let out: Tensor | [Tensor, A];
    try {
      out = f(params, ...rest);
    } finally {
      popTape(tape);
    }
    const [value, aux] = options.hasAux ? out as [Tensor, A] : [out as Tensor, undefined as A];
    if (!(value instanceof Tensor) || value.size !== 1) {
      throw new TypeError(
        "valueAndGrad(): the function must return a one-element tensor (use hasAux for more)",
      );
    }
    const cts = new Map<number, Tensor>();
    if (tape.tracked.has(value.id)) cts.set(value.id, ones(value.shape));
    const recycler = new CotangentRecycler(tape.entries.flatMap((e) => [...e.inputs, ...e.outputs]));
    withoutTapes(() => {
      for (let i = tape.entries.length - 1; i >= 0; i--) {
        const e = tape.entries[i];
        const gouts = e.outputs.map((o) => cts.get(o.id) ?? null);
        for (const o of e.outputs) cts.delete(o.id);
        if (gouts.every((g) => g === null)) continue;
        const rule = VJP_RULES[e.op];
        if (!rule) continue;
        const needs = e.inputs.map((t) => tape.tracked.has(t.id));
        // deno-lint-ignore no-explicit-any
        const gins = (rule as any)({
          inputs: e.inputs,
          outputs: e.outputs,
          cts: gouts,
          attrs: e.attrs,
          needs,
        });
        // The rule's cotangents, and the sums they replace, are dead once summed; so are the outputs' ones.
        const dead: Tensor[] = gouts.filter((g): g is Tensor => g !== null);
        e.inputs.forEach((t, j) => {
          const g = gins[j];
          if (!g || !needs[j]) return;
          checkCotangent(t, g, e.op);
          const prev = cts.get(t.id);
          cts.set(t.id, prev ? add(prev, g) : g);
          if (prev) dead.push(prev, g);
        });
        recycler.release(dead, cts.values());
      }
    });
    const grad = mapTree(params, (t) => cts.get(t.id) ?? zeros(t.shape)) as P;
    if (options.releaseIntermediates) releaseIntermediates(tape.entries, [value, aux, grad]);
    return { value, grad, aux };
  };
}

/**
 * The gradient of `f` with respect to its first argument.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { grad, sum, exp, tensor } from "@hqat/tensor";
 * const g = grad((x: import("@hqat/tensor").Tensor) => sum(exp(x)))(tensor([0]));
 * assert(g.item() === 1);
 * ```
 */
export function grad<P extends Tree, R extends unknown[]>(
  f: (params: P, ...rest: R) => Tensor,
): (params: P, ...rest: R) => P {
  const vg = valueAndGrad(f);
  return (params: P, ...rest: R) => vg(params, ...rest).grad;
}

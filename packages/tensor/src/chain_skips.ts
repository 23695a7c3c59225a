/**
 * The skip connections of a `conv2dAffineChain`: which layer's input is added to which layer's result.
 * @module
 */
import type { OpAttrs } from "./ops.ts";

/**
 * The chain's skip connections (`skips`) as a map from a layer `to` to the layer `from` whose input is added to
 * its result. Throws a RangeError naming
 * the problem where a skip points outside the chain, backwards, or two land on one layer (shapes are the shape
 * rule's to check).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { chainSkips } from "./chain_skips.ts";
 * const one = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, min: 0, max: 6, openGrad: true } as const;
 * const m = chainSkips({ layers: [one, one, one], skips: [{ from: 1, to: 2 }] });
 * assert(m.get(2) === 1 && m.size === 1);
 * assert(chainSkips({ layers: [one, one] }).size === 0);
 * ```
 */
export function chainSkips(a: OpAttrs["conv2dAffineChain"]): Map<number, number> {
  const out = new Map<number, number>();
  const n = a.layers.length;
  for (const { from, to } of a.skips ?? []) {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to >= n || from > to) {
      throw new RangeError(
        `conv2dAffineChain(): a residual from layer ${from} to layer ${to} must have 0 ≤ from ≤ to < ${n}`,
      );
    }
    if (out.has(to)) throw new RangeError(`conv2dAffineChain(): two residuals end at layer ${to}`);
    out.set(to, from);
  }
  return out;
}

/**
 * For each layer input j of a chain of `layers` layers, the last layer that reads it: layer j itself, or the
 * last skip's layer adding it (`skips` as {@linkcode chainSkips} gives them). A kernel may reuse input j's memory
 * once that layer is done.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { chainLastReads } from "./chain_skips.ts";
 * assert(chainLastReads(4, new Map([[2, 0], [3, 3]])).join() === "2,1,2,3");
 * ```
 */
export function chainLastReads(layers: number, skips: ReadonlyMap<number, number>): number[] {
  const last = Array.from({ length: layers }, (_, j) => j);
  for (const [to, from] of skips) last[from] = Math.max(last[from], to);
  return last;
}

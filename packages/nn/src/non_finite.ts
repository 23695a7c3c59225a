/**
 * Where a NaN or an infinity first appears in a forward pass: the module whose output first holds one
 * (the innermost, in the order the calls finish), so that a diverged training names its source.
 * @module
 */
import type { RandomKey, Tensor } from "@hqat/tensor";
import { forward, type Module, type StateDict } from "./module.ts";

/** Whether every value of a tensor is finite (a tensor on a device is not read: it counts as finite). */
function finite(t: Tensor): boolean {
  if (t.device !== "cpu") return true;
  const d = t.data as ArrayLike<number>;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
  return true;
}

/**
 * The path of the first module whose output holds a NaN or an infinity when `model` runs on `x`
 * (`"input"` when `x` already does), or undefined when every output is finite (values on a device are
 * not read).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { firstNonFinite, initState, Linear, Sequential } from "@hqat/nn";
 * import { fromArray, randomKey, tensor } from "@hqat/tensor";
 * const m = new Sequential(new Linear(2, 2), new Linear(2, 1));
 * const s = initState(m, randomKey(0));
 * s["1.weight"] = fromArray(Float32Array.of(NaN, 0), [1, 2]);
 * assert(firstNonFinite(m, s, tensor([[1, 2]])) === "1" && firstNonFinite(m, initState(m, randomKey(0)), tensor([[1, 2]])) === undefined);
 * ```
 */
export function firstNonFinite(
  model: Module,
  state: StateDict,
  x: Tensor,
  options: { training?: boolean; key?: RandomKey } = {},
): string | undefined {
  if (!finite(x)) return "input";
  let first: string | undefined;
  forward(model, state, x, {
    ...options,
    intercept: (name, _module, input, run) => {
      const y = run(input);
      if (first === undefined && !finite(y)) first = name;
      return y;
    },
  });
  return first;
}

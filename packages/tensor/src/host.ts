/**
 * Bringing device tensors back to the host.
 * @module
 */
import { fromArray, type Tensor } from "./tensor.ts";

/**
 * A CPU copy of `t` (`t` itself if it is on the CPU).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { tensor, toCpu } from "@hqat/tensor";
 * const t = tensor([1]);
 * assert((await toCpu(t)) === t);
 * ```
 */
export async function toCpu(t: Tensor): Promise<Tensor> {
  if (t.device === "cpu") return t;
  return fromArray(await t.read(), t.shape);
}

/**
 * CPU copies of every tensor of a state dict.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { stateToCpu, tensor } from "@hqat/tensor";
 * const s = await stateToCpu({ w: tensor([2]) });
 * assert(s.w.item() === 2);
 * ```
 */
export async function stateToCpu<S extends Readonly<Record<string, Tensor>>>(
  state: S,
): Promise<{ [K in keyof S]: Tensor }> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(state)) out[k] = await toCpu(t);
  return out as { [K in keyof S]: Tensor };
}

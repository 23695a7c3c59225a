/**
 * Model state files on disk: state dicts to and from safetensors files and tensors to and from `.npy`
 * files, over the conversions of `checkpoint.ts` (which touch no file, so they also run in a browser).
 * Writes are atomic.
 * @module
 */
import { readNpy, readSafetensors, writeNpy, writeSafetensors } from "@hqat/io";
import type { DType, Tensor } from "@hqat/tensor";
import { fromStored, stateEntries, toStored } from "./checkpoint.ts";
import { checkState, type Module, type StateDict, stateSpecs } from "./module.ts";

/**
 * Writes a module's state to a safetensors file (atomically).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Linear, initState, loadState, saveState } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const m = new Linear(2, 2), path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const s = initState(m, randomKey(0));
 * await saveState(path, m, s);
 * assert((await loadState(path, m)).weight.data[0] === s.weight.data[0]);
 * await Deno.remove(path);
 * ```
 */
export async function saveState(
  path: string,
  module: Module,
  state: StateDict,
  options: { metadata?: Record<string, string> } = {},
): Promise<void> {
  await writeSafetensors(path, stateEntries(module, state), {
    metadata: { format: "pt", ...options.metadata },
  });
}

/**
 * Reads a module's state from a safetensors file (such as one saved from PyTorch's `state_dict()`):
 * every entry must be present with the right shape; errors name the file and the entries.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Linear, loadState } from "@hqat/nn";
 * try { await loadState("/nonexistent.safetensors", new Linear(1, 1)); } catch (e) { assert(e instanceof Error); }
 * ```
 */
export async function loadState(path: string, module: Module): Promise<StateDict> {
  const { tensors } = await readSafetensors(path);
  const specs = new Map(stateSpecs(module).map((s) => [s.name, s]));
  const raw: StateDict = {};
  for (const [name, stored] of tensors) {
    const spec = specs.get(name);
    raw[name] = fromStored(stored, { dtype: spec?.dtype, label: `"${path}": tensor "${name}"` });
  }
  return checkState(module, raw, { source: `"${path}"` });
}

/**
 * Reads a tensor from a NumPy `.npy` file.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { loadNpy, saveNpy } from "@hqat/nn";
 * import { tensor } from "@hqat/tensor";
 * const path = await Deno.makeTempFile({ suffix: ".npy" });
 * await saveNpy(path, tensor([[1, 2]]));
 * assert((await loadNpy(path)).shape.join() === "1,2");
 * await Deno.remove(path);
 * ```
 */
export async function loadNpy(path: string, options: { dtype?: DType } = {}): Promise<Tensor> {
  return fromStored(await readNpy(path), { dtype: options.dtype, label: `"${path}"` });
}

/**
 * Writes a tensor to a NumPy `.npy` file (atomically).
 *
 * @example
 * ```ts
 * import { saveNpy } from "@hqat/nn";
 * import { tensor } from "@hqat/tensor";
 * const path = await Deno.makeTempFile({ suffix: ".npy" });
 * await saveNpy(path, tensor([1], { dtype: "int8" }));
 * await Deno.remove(path);
 * ```
 */
export async function saveNpy(path: string, t: Tensor): Promise<void> {
  await writeNpy(path, toStored(t));
}

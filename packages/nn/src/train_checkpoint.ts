/**
 * Training checkpoints: model state, optimizer state and progress (epoch, best accuracy) in one
 * safetensors file, written atomically so a crash never replaces a good checkpoint with half a file.
 * @module
 */
import type { Tensor } from "@hqat/tensor";
import { fromStored, stateEntries, toStored } from "./checkpoint.ts";
import { checkState, type Module, splitState, type StateDict } from "./module.ts";
import { type Optimizer, optimizerStateFromEntries, optimizerStateToEntries } from "./optim.ts";
import { readSafetensors, writeSafetensors } from "@hqat/io";
import type { TrainState } from "./train_step.ts";

const OPT_PREFIX = "optimizer.";

/** Progress recorded with a checkpoint. */
export interface CheckpointInfo {
  /** Epochs completed. */
  epoch: number;
  /** Best evaluation top-1 so far. */
  bestTop1: number;
  /** Free-form fields (architecture, data set, stage …). */
  extra?: Record<string, string>;
}

/**
 * Writes model + optimizer state and progress to `path` (atomically). Model entries keep PyTorch's
 * names, so the file also loads as a plain state dict with {@linkcode loadState} after the optimizer
 * entries are ignored — use {@linkcode saveState} for a pure model file.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adam, createTrainState, initState, Linear, loadTrainCheckpoint, saveTrainCheckpoint } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const m = new Linear(2, 2), opt = adam({ lr: 1e-3 });
 * const ts = createTrainState(m, initState(m, randomKey(0)), opt);
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await saveTrainCheckpoint(path, m, ts, { epoch: 3, bestTop1: 91.5 });
 * const back = await loadTrainCheckpoint(path, m, opt);
 * assert(back.info.epoch === 3 && back.info.bestTop1 === 91.5);
 * await Deno.remove(path);
 * ```
 */
export async function saveTrainCheckpoint(
  path: string,
  model: Module,
  ts: TrainState,
  info: CheckpointInfo,
): Promise<void> {
  const entries = stateEntries(model, { ...ts.params, ...ts.buffers });
  for (const [name, t] of optimizerStateToEntries(ts.opt)) entries.push([OPT_PREFIX + name, toStored(t)]);
  await writeSafetensors(path, entries, {
    metadata: {
      format: "pt",
      epoch: String(info.epoch),
      best_top1: String(info.bestTop1),
      ...(info.extra ?? {}),
    },
  });
}

/**
 * Reads a checkpoint written by {@linkcode saveTrainCheckpoint} (or a plain state dict, in which case
 * the optimizer starts fresh and the epoch is 0).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adam, Linear, loadTrainCheckpoint } from "@hqat/nn";
 * try { await loadTrainCheckpoint("/no/such.safetensors", new Linear(1, 1), adam({ lr: 1 })); }
 * catch (e) { assert(e instanceof Error); }
 * ```
 */
export async function loadTrainCheckpoint(
  path: string,
  model: Module,
  optimizer: Optimizer,
): Promise<{ state: TrainState; model: StateDict; info: CheckpointInfo }> {
  const { tensors, metadata } = await readSafetensors(path);
  const modelRaw: StateDict = {};
  const optEntries: [string, Tensor][] = [];
  for (const [name, stored] of tensors) {
    const label = `"${path}": tensor "${name}"`;
    if (name.startsWith(OPT_PREFIX)) {
      optEntries.push([name.slice(OPT_PREFIX.length), fromStored(stored, { label })]);
    } else {modelRaw[name] = fromStored(stored, {
        label,
        dtype: name.endsWith("num_batches_tracked") ? "int32" : undefined,
      });}
  }
  const state = checkState(model, modelRaw, { source: `"${path}"` });
  const { params, buffers } = splitState(model, state);
  const opt = optEntries.length
    ? optimizerStateFromEntries(optEntries, params, { label: `"${path}"` })
    : optimizer.init(params);
  const num = (k: string) => {
    const v = Number(metadata[k] ?? 0);
    if (!Number.isFinite(v)) throw new SyntaxError(`Cannot read "${path}": metadata ${k} is not a number`);
    return v;
  };
  const { epoch: _e, best_top1: _b, format: _f, ...extra } = metadata;
  return {
    state: { params, buffers, opt },
    model: state,
    info: { epoch: num("epoch"), bestTop1: num("best_top1"), extra },
  };
}

/**
 * The dispatcher: every primitive op goes through {@linkcode apply}, which checks shapes, runs the
 * backend kernel, records the op on the active autodiff tapes, and feeds the optional profiler.
 * @module
 */
import { cpuBackend } from "./cpu/backend.ts";
import { returnFloat32 } from "./cpu/float_pool.ts";
import type { OpAttrs, OpName } from "./ops.ts";
import { SHAPE_RULES } from "./shape_rules.ts";
import { Tensor } from "./tensor.ts";

/** One recorded op application. */
export interface TapeEntry {
  /** The op. */
  readonly op: OpName;
  /** Its attributes. */
  readonly attrs: OpAttrs[OpName];
  /** Its inputs. */
  readonly inputs: readonly Tensor[];
  /** Its outputs. */
  readonly outputs: readonly Tensor[];
}

/** A tape records the ops that depend on the tensors it tracks. */
export interface Tape {
  /** Recorded entries, in execution order. */
  readonly entries: TapeEntry[];
  /** Ids of the tracked tensors (the differentiated inputs and everything computed from them). */
  readonly tracked: Set<number>;
}

const tapes: Tape[] = [];

/** Per-op timing, filled while profiling. */
export interface OpProfile {
  /** Calls per op. */
  calls: Map<string, number>;
  /** Milliseconds per op. */
  ms: Map<string, number>;
}
let profile: OpProfile | null = null;

/**
 * Runs `fn` with per-op timing and returns its result with the profile.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { add, ones, profileOps } from "@hqat/tensor";
 * const { profile } = profileOps(() => add(ones([2]), ones([2])));
 * assert(profile.calls.get("add") === 1);
 * ```
 */
export function profileOps<T>(fn: () => T): { result: T; profile: OpProfile } {
  const prev = profile;
  const mine: OpProfile = { calls: new Map(), ms: new Map() };
  profile = mine;
  try {
    return { result: fn(), profile: mine };
  } finally {
    profile = prev;
    if (prev) {
      for (const [k, v] of mine.calls) prev.calls.set(k, (prev.calls.get(k) ?? 0) + v);
      for (const [k, v] of mine.ms) prev.ms.set(k, (prev.ms.get(k) ?? 0) + v);
    }
  }
}

/** Sees every op application (used by graph tracing). */
export type OpObserver = (
  op: OpName,
  inputs: readonly Tensor[],
  attrs: OpAttrs[OpName],
  outputs: readonly Tensor[],
) => void;
let observer: OpObserver | null = null;

/**
 * Runs `fn` while `obs` sees every op applied; observers nest (the inner one sees the ops).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { add, observeOps, ones } from "@hqat/tensor";
 * const seen: string[] = [];
 * observeOps((op) => seen.push(op), () => add(ones([1]), ones([1])));
 * assert(seen.join() === "add");
 * ```
 */
export function observeOps<T>(obs: OpObserver | null, fn: () => T): T {
  const prev = observer;
  observer = obs;
  try {
    return fn();
  } finally {
    observer = prev;
  }
}

/**
 * Whether autodiff is recording or an observer is watching: then every op must run as called, and nothing
 * may be served from a cache of earlier results.
 */
export function tracing(): boolean {
  return tapes.length > 0 || observer !== null;
}

/** Starts recording ops that depend on `tracked` tensors. */
export function pushTape(tracked: Iterable<number>): Tape {
  const t: Tape = { entries: [], tracked: new Set(tracked) };
  tapes.push(t);
  return t;
}

/** Stops recording on the innermost tape (which must be `tape`). */
export function popTape(tape: Tape): void {
  if (tapes[tapes.length - 1] !== tape) throw new Error("Autodiff tapes popped out of order");
  tapes.pop();
}

/** Runs `fn` with recording suspended (used for gradient computations). */
export function withoutTapes<T>(fn: () => T): T {
  const saved = tapes.splice(0, tapes.length);
  try {
    return fn();
  } finally {
    tapes.push(...saved);
  }
}

/**
 * Applies a primitive op. Library code calls this; users call the named functions.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { apply, tensor } from "@hqat/tensor";
 * const [y] = apply("neg", [tensor([1, -2])], {});
 * assert(y.toArray().join() === "-1,2");
 * ```
 */
export function apply<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): Tensor[] {
  const infos = SHAPE_RULES[op](inputs, attrs);
  const t0 = profile ? performance.now() : 0;
  // Ops run where their operands live: on the device of the first device-resident input, else on the CPU.
  const owner = inputs.find((t) => t.storage !== undefined);
  const datas = (owner ? owner.storage!.backend : cpuBackend).run(op, inputs, attrs, infos);
  const outputs = datas.map((d, i) => new Tensor(d, infos[i].shape));
  if (profile) {
    profile.calls.set(op, (profile.calls.get(op) ?? 0) + 1);
    profile.ms.set(op, (profile.ms.get(op) ?? 0) + performance.now() - t0);
  }
  if (observer) observer(op, inputs, attrs, outputs);
  for (const tape of tapes) {
    if (inputs.some((t) => tape.tracked.has(t.id))) {
      tape.entries.push({ op, attrs, inputs, outputs });
      for (const o of outputs) tape.tracked.add(o.id);
    }
  }
  return outputs;
}

/**
 * Hands the storage of `t` — a float32 CPU tensor that nothing references any more, its data included — back
 * for a later op's result to reuse, sparing that result a fresh array's page faults. Does nothing (and
 * returns false) while autodiff is recording or an observer is watching (either may hold `t`), for device
 * tensors, and for data the pool does not keep. Only a caller that made `t` and never let it out (evaluation
 * mode's fused layers do) may call this: every other holder would see its data change.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { add, recycle, zeros } from "@hqat/tensor";
 * const t = add(zeros([256, 256]), 1);
 * assert(recycle(t));
 * ```
 */
export function recycle(t: Tensor): boolean {
  if (tapes.length > 0 || observer || t.storage !== undefined) return false;
  const d = t.data;
  return d instanceof Float32Array && returnFloat32(d);
}

/** Applies a single-output primitive op. */
export function apply1<K extends OpName>(op: K, inputs: readonly Tensor[], attrs: OpAttrs[K]): Tensor {
  return apply(op, inputs, attrs)[0];
}

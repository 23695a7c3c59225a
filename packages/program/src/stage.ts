/**
 * The stages of an instruction's epilogue — requantization, a residual add, ReLU, ReLU6 — as one
 * table typed over the stage kinds: each kind's fields in the container, what it computes (the
 * verifier's rule), its CPU kernel and its WebGPU kernel.
 * @module
 */

import { intRelu, intRelu6 } from "@hqat/qtensor";
import type { FieldReader, FieldWriter } from "./fields.ts";
import type { GpuStagePrepare } from "./gpu_types.ts";
import { addGpu, clampGpu, requantGpu } from "./stage_gpu.ts";
import {
  addSum,
  checkAddRule,
  checkRequant,
  readRequant,
  requantValue,
  writeRequant,
} from "./stage_rules.ts";
import { asQTensor, type IntValue, type ValueInfo } from "./value.ts";

/**
 * A fused activation clamp: none, ReLU `[0, qmax]` or ReLU6 `[0, min(qmax, round(6 / s))]`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Activation } from "@hqat/program";
 * const a: Activation = "relu6";
 * assert(a === "relu6");
 * ```
 */
export type Activation = "none" | "relu" | "relu6";

/**
 * A requantization: per-channel (or one) multipliers `M · 2^-n` from `computeMultiplier`, the output
 * dtype and scale (one value; one per channel for a 32-bit output), and the clamp.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Requant } from "@hqat/program";
 * const r: Requant = { M: Int32Array.of(16384), n: Uint8Array.of(15), dtype: "qint8", scale: Float32Array.of(0.5), act: "none" };
 * assert(r.M.length === r.n.length);
 * ```
 */
export interface Requant {
  /** The integer multipliers, one per channel or one for all. */
  readonly M: Int32Array;
  /** The right shifts that go with `M` (the multiplier is `M · 2^-n`). */
  readonly n: Uint8Array;
  /** The output dtype. */
  readonly dtype: "qint8" | "qint16" | "qint32";
  /** The output scale (one value; one per channel for a 32-bit output). */
  readonly scale: Float32Array;
  /** The clamp applied after requantization. */
  readonly act: Activation;
}

/**
 * One stage of an epilogue, applied to the value the previous step left: `requant` (to the
 * requantization's dtype and scale), `add` (SPEC's add of the value and the `addend` buffer: the
 * operand with the larger scale — `shiftAddend` says which — is shifted by `2^k`, the other multiplied
 * by `t`, giving an int32 sum), `relu`, `relu6` (a clamp on the value's own grid).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Stage } from "@hqat/program";
 * const s: Stage = { kind: "add", addend: 3, shiftAddend: false, k: 14, t: 16384 };
 * assert(s.kind === "add");
 * ```
 */
export type Stage =
  | ({ readonly kind: "requant" } & Requant)
  | {
    readonly kind: "add";
    readonly addend: number;
    readonly shiftAddend: boolean;
    readonly k: number;
    readonly t: number;
  }
  | { readonly kind: "relu" }
  | { readonly kind: "relu6" };

/** A stage kind. */
export type StageKind = Stage["kind"];

/** The stage of kind `K`. */
export type StageOf<K extends StageKind> = Extract<Stage, { kind: K }>;

/** What checking a stage needs: where it is, how to fail, and the addend's value for `add`. */
export interface StageCheckContext {
  /** Names the stage in messages. */
  readonly where: string;
  /** Raises the verifier's error. */
  readonly fail: (message: string) => never;
  /** The addend buffer's value (`add` only). */
  readonly addend?: ValueInfo;
}

/**
 * One stage kind's entry: its container code and fields, its rule (what it computes from the value
 * it follows, failing with a message when the stage cannot apply), its CPU kernel (`addend` is the
 * addend buffer's value for `add`) and its WebGPU kernel.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { STAGE_TABLE, type StageDef } from "@hqat/program";
 * const d: StageDef<{ kind: "relu" }> = STAGE_TABLE.relu;
 * assert(d.code === 2);
 * ```
 */
export interface StageDef<S extends Stage> {
  /** The stage code in the container. */
  readonly code: number;
  /** Writes the stage's fields. */
  readonly encode: (stage: S, w: FieldWriter) => void;
  /** Reads the stage's fields. */
  readonly decode: (r: FieldReader, what: string) => S;
  /** What the stage makes of `v`. */
  readonly infer: (stage: S, v: ValueInfo, ctx: StageCheckContext) => ValueInfo;
  /** The CPU kernel. */
  readonly cpu: (stage: S, v: IntValue, addend?: IntValue) => IntValue;
  /** The WebGPU kernel. */
  readonly gpu: GpuStagePrepare<S>;
}

const clampStage = <K extends "relu" | "relu6">(kind: K): StageDef<StageOf<K>> => ({
  code: kind === "relu" ? 2 : 3,
  encode: () => {},
  decode: () => ({ kind }) as StageOf<K>,
  infer: (_s, v, ctx) => {
    if (v.dtype === "float32") ctx.fail(`${ctx.where}: follows a float32 value`);
    if (kind === "relu6" && v.scale.length !== 1 && v.scale.length !== v.shape[1]) {
      ctx.fail(`${ctx.where}: ReLU6 needs one scale or one per channel`);
    }
    return v;
  },
  cpu: (_s, v) => ({ ...v, data: (kind === "relu" ? intRelu : intRelu6)(asQTensor(v)).data }),
  gpu: clampGpu(kind),
});

/**
 * The stage table, typed over the stage kinds.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { STAGE_TABLE } from "@hqat/program";
 * assert(STAGE_TABLE.requant.code === 0 && STAGE_TABLE.relu6.code === 3);
 * ```
 */
export const STAGE_TABLE: { readonly [K in StageKind]: StageDef<StageOf<K>> } = {
  requant: {
    code: 0,
    encode: (s, w) => writeRequant(w, s),
    decode: (r, what) => ({ kind: "requant", ...readRequant(r, what) }),
    infer: (s, v, ctx) => checkRequant(s, v, ctx),
    cpu: (s, v) => requantValue(v, s),
    gpu: requantGpu,
  },
  add: {
    code: 1,
    encode: (s, w) => {
      w.u32(s.addend);
      w.u8(s.shiftAddend ? 1 : 0);
      w.u8(s.k);
      w.u16(0);
      w.i32(s.t);
    },
    decode: (r, what) => {
      const addend = r.u32(`the addend of ${what}`), shiftAddend = r.u8(what) !== 0, k = r.u8(what);
      r.u16(what);
      return { kind: "add", addend, shiftAddend, k, t: r.i32(what) };
    },
    infer: (s, v, ctx) => {
      const a = ctx.addend!;
      checkAddRule(s.shiftAddend ? a : v, s.shiftAddend ? v : a, s, ctx);
      const shifted = s.shiftAddend ? a : v;
      return { dtype: "qint32", shape: v.shape, scale: Float32Array.of(shifted.scale[0] / 2 ** s.k) };
    },
    cpu: (s, v, a) => {
      const [x, y] = s.shiftAddend ? [a!, v] : [v, a!];
      return {
        data: addSum(x.data, y.data, s.k, s.t),
        shape: v.shape,
        dtype: "qint32",
        scale: Float32Array.of(x.scale[0] / 2 ** s.k),
      };
    },
    gpu: addGpu,
  },
  relu: clampStage("relu"),
  relu6: clampStage("relu6"),
};

/**
 * The stage codes of the container (index = code), from the table.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { STAGE_CODES } from "@hqat/program";
 * assert(STAGE_CODES.join() === "requant,add,relu,relu6");
 * ```
 */
export const STAGE_CODES: readonly StageKind[] = (Object.keys(STAGE_TABLE) as StageKind[])
  .sort((a, b) => STAGE_TABLE[a].code - STAGE_TABLE[b].code);

/**
 * The entry of `stage`'s kind, typed for it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { stageDef } from "@hqat/program";
 * assert(stageDef({ kind: "relu" }).code === 2);
 * ```
 */
export function stageDef<S extends Stage>(stage: S): StageDef<S> {
  return STAGE_TABLE[stage.kind] as unknown as StageDef<S>;
}

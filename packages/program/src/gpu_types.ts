/**
 * What the instruction and stage kinds' WebGPU kernels are given and give back: values on the device
 * (with an int32 bias not yet added, which the next requantization adds), the uploads a kind makes
 * once per program and device, and the recorders that run per input.
 * @module
 */

import type { GpuTensor, RequantPlan, ResidentBias, ResidentRequant, WebGpuDevice } from "@hqat/tensor";
import type { ProgramBuffer } from "./program.ts";
import type { ValueInfo } from "./value.ts";

/**
 * A value on the device: the tensor, and an int32 bias per channel not yet added to it (the bias of a
 * convolution is added by the requantization that follows, in the same kernel).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { GpuValue } from "@hqat/program";
 * const v = { t: { shape: [1] } } as unknown as GpuValue;
 * assert(v.bias === undefined);
 * ```
 */
export interface GpuValue {
  /** The tensor. */
  readonly t: GpuTensor;
  /** A bias still to add. */
  readonly bias?: ResidentBias;
}

/**
 * Uploads a kind's kernels make once per program and device (weights, biases, requantization
 * parameters); the executor frees them with the program's cache entry. `keep` is a clamp that leaves an
 * int32 value as it is (for adding a pending bias).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { GpuUploads } from "@hqat/program";
 * const u = { up: () => { throw new Error("no device"); } } as unknown as GpuUploads;
 * assert(typeof u.up === "function");
 * ```
 */
export interface GpuUploads {
  /** Uploads a parameter array. */
  readonly up: (data: Int8Array | Int32Array | Float32Array, shape: readonly number[]) => GpuTensor;
  /** Uploads a requantization plan. */
  readonly rq: (plan: RequantPlan) => ResidentRequant;
  /** A clamp that keeps int32 values. */
  readonly keep: ResidentRequant;
}

/**
 * What preparing an instruction's WebGPU kernel is given: the uploads, the buffers it reads and the
 * buffer it writes, and a way to fail that names the instruction.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { GpuPrepareContext } from "@hqat/program";
 * const c = { ins: [], fail: (m: string) => { throw new Error(m); } } as unknown as GpuPrepareContext;
 * assert(c.ins.length === 0);
 * ```
 */
export interface GpuPrepareContext {
  /** The uploads. */
  readonly u: GpuUploads;
  /** The buffers the instruction reads. */
  readonly ins: readonly ProgramBuffer[];
  /** The buffer it writes. */
  readonly out: ProgramBuffer;
  /** Raises the executor's error. */
  readonly fail: (message: string) => never;
}

/**
 * Records an instruction's main operation on the device: its inputs' tensors and the float input.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { GpuMain } from "@hqat/program";
 * const m: GpuMain = (_dev, ins) => ({ t: ins[0] });
 * assert(typeof m === "function");
 * ```
 */
export type GpuMain = (dev: WebGpuDevice, ins: readonly GpuTensor[], x: GpuTensor) => GpuValue;

/**
 * Records a stage on the device: the value so far and a reader of buffers (for an addend).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { GpuStage } from "@hqat/program";
 * const s: GpuStage = (_dev, v) => v;
 * assert(typeof s === "function");
 * ```
 */
export type GpuStage = (dev: WebGpuDevice, v: GpuValue, read: (id: number) => GpuTensor) => GpuValue;

/**
 * Prepares a stage's WebGPU kernel for the value it follows (`meta`), uploading its parameters.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { GpuStagePrepare } from "@hqat/program";
 * const p: GpuStagePrepare<{ kind: "relu" }> = () => (_dev, v) => v;
 * assert(typeof p === "function");
 * ```
 */
export type GpuStagePrepare<S> = (stage: S, meta: ValueInfo, u: GpuUploads) => GpuStage;

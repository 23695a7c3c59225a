/**
 * The WebGPU kernels of the epilogue stages: requantization (adding a pending bias first), the
 * residual add, and the ReLU / ReLU6 clamps — `@hqat/tensor`'s resident integer kernels, giving the CPU
 * stages' integers bit for bit.
 * @module
 */

import { activationBounds, qrange, relu6Bound } from "@hqat/qtensor";
import {
  addSumResident,
  type DType,
  type GpuTensor,
  releaseTensor,
  type RequantPlan,
  requantResident,
  type ResidentRequant,
  type WebGpuDevice,
} from "@hqat/tensor";
import type { GpuStage, GpuStagePrepare, GpuValue } from "./gpu_types.ts";
import type { Requant, StageOf } from "./stage.ts";
import { innerOfAxis1 } from "./value.ts";

/**
 * The device storage of each integer dtype.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { GPU_STORAGE } from "./stage_gpu.ts";
 * assert(GPU_STORAGE.qint16 === "int16");
 * ```
 */
export const GPU_STORAGE = { qint8: "int8", qint16: "int16", qint32: "int32", float32: "float32" } as const;

/**
 * The kernel plan of a requantization: its multipliers and its clamp bounds (the activation narrowed to
 * the output scale).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { requantPlanOf } from "./stage_gpu.ts";
 * const p = requantPlanOf({ M: Int32Array.of(1), n: Uint8Array.of(0), dtype: "qint8", scale: Float32Array.of(0.1), act: "relu6" });
 * assert(p.lo === 0 && p.hi[0] === 60);
 * ```
 */
export function requantPlanOf(r: Requant): RequantPlan {
  const mult = Array.from(r.M, (M, c) => ({ M, n: r.n[c] }));
  const { lo, hi } = activationBounds(qrange(r.dtype), {
    activation: r.act === "none" ? undefined : r.act,
    scale: r.scale.length === 1 ? r.scale[0] : r.scale,
  });
  return { mult, lo, hi, scale: [1] };
}

/**
 * A stage that requantizes (or only clamps) per channel along axis 1, adding a pending bias first.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { requantStageGpu } from "./stage_gpu.ts";
 * assert(typeof requantStageGpu === "function");
 * ```
 */
export function requantStageGpu(requant: ResidentRequant, out: DType): GpuStage {
  return (dev, v) => ({
    t: requantResident(dev, v.t, { requant, inner: innerOfAxis1(v.t.shape), out, bias: v.bias }),
  });
}

/**
 * The value with its pending bias added (a new tensor when there is a bias, else the value's own).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { settleBias } from "./stage_gpu.ts";
 * const t = { shape: [1] } as never;
 * assert(settleBias(undefined as never, { t }, undefined as never) === t);
 * ```
 */
export function settleBias(dev: WebGpuDevice, v: GpuValue, keep: ResidentRequant): GpuTensor {
  if (!v.bias) return v.t;
  return requantResident(dev, v.t, { requant: keep, inner: 1, out: "int32", bias: v.bias });
}

/** The WebGPU kernel of a `requant` stage. */
export const requantGpu: GpuStagePrepare<StageOf<"requant">> = (s, _meta, u) =>
  requantStageGpu(u.rq(requantPlanOf(s)), GPU_STORAGE[s.dtype]);

/** The WebGPU kernel of an `add` stage. */
export const addGpu: GpuStagePrepare<StageOf<"add">> = (s, _meta, u) => (dev, v, read) => {
  const t = settleBias(dev, v, u.keep), a = read(s.addend);
  const sum = addSumResident(dev, s.shiftAddend ? [a, t] : [t, a], s);
  if (t !== v.t) releaseTensor(dev, t);
  return { t: sum };
};

/** The WebGPU kernel of a `relu` or `relu6` stage on the value's own grid. */
export function clampGpu<K extends "relu" | "relu6">(kind: K): GpuStagePrepare<StageOf<K>> {
  return (_s, meta, u) => {
    if (meta.dtype === "float32") throw new TypeError(`${kind} on a float32 value`);
    const { qmax } = qrange(meta.dtype);
    const hi = kind === "relu" ? [qmax] : Array.from(meta.scale, (sc) => relu6Bound(sc, qmax));
    const requant = u.rq({ mult: hi.map(() => ({ M: 1, n: 0 })), lo: 0, hi, scale: [1] });
    return requantStageGpu(requant, GPU_STORAGE[meta.dtype]);
  };
}

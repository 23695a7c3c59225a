/**
 * The requantization kernel of the integer model: per output channel, `y = clamp(floor((acc · M +
 * 2^(n-1)) / 2^n), lo, hi)` with the 64-bit product in 32-bit pieces, after adding the int32 bias, into
 * an int8/int16/int32 tensor — or dequantized as float32 `y · s` for the fake-quantized ops. The
 * multipliers and bounds come from `@hqat/qtensor`, the one definition of SPEC.md's rules.
 * @module
 */
import {
  activationBounds,
  type FusedActivation,
  type Multiplier,
  outputMultipliers,
  qrange,
} from "@hqat/qtensor";
import type { DType } from "../dtype.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import { type GpuTensor, releaseTensor, uploadTensor } from "./gpu_tensor.ts";
import { REQUANT } from "./wgsl_lib.ts";
import { DEQUANT_EXACT } from "./wgsl_exact.ts";

/** Per-channel requantization: multipliers, the shared lower bound, upper bounds and output scales. */
export interface RequantPlan {
  /** One multiplier per channel, or one for all. */
  readonly mult: readonly Multiplier[];
  /** Lower clamp bound. */
  readonly lo: number;
  /** Upper clamp bound per channel, or one for all. */
  readonly hi: ArrayLike<number>;
  /** Float32 scale per channel (or one) that dequantizes the result. */
  readonly scale: ArrayLike<number>;
}

/**
 * The plan of finishing an accumulator with per-channel real scale `numerator[c] / divisor` into
 * `output`, as `@hqat/qtensor`'s `finishAccumulator` does: requantized to qint8/qint16, or kept as
 * int32 (only the activation clamps) with scales `float32(numerator[c] / divisor)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { requantPlan } from "./requant_kernel.ts";
 * const p = requantPlan({ numerator: [0.5], divisor: 1 }, { dtype: "qint8", scale: 1 }, "relu");
 * assert(p.mult[0].M === 16384 && p.mult[0].n === 15 && p.lo === 0 && p.hi[0] === 127);
 * ```
 */
export function requantPlan(
  accScale: { readonly numerator: ArrayLike<number>; readonly divisor: number },
  output: { readonly dtype: "qint8" | "qint16"; readonly scale: number } | { readonly dtype: "qint32" },
  activation?: FusedActivation,
): RequantPlan {
  if (output.dtype === "qint32") {
    const scale = new Float32Array(accScale.numerator.length);
    for (let c = 0; c < scale.length; c++) scale[c] = accScale.numerator[c] / accScale.divisor;
    const { lo, hi } = activationBounds(qrange("qint32"), { activation, scale });
    return { mult: Array.from(scale, () => ({ M: 1, n: 0 })), lo, hi, scale };
  }
  const mult = outputMultipliers(accScale, output.scale);
  const { lo, hi } = activationBounds(qrange(output.dtype), { activation, scale: output.scale });
  return { mult, lo, hi, scale: Float32Array.of(output.scale) };
}

/** Options of {@linkcode requantGpu}. */
export interface RequantGpuOptions {
  /** Channels along the channel axis. */
  readonly channels: number;
  /** Elements after the channel axis (1 for a last-axis channel). */
  readonly inner: number;
  /** Output: an integer dtype, or float32 for the dequantized value `y · scale[c]`. */
  readonly out: DType;
  /** Int32 bias per channel, added to the accumulator first (with wrap-around, like int32 storage). */
  readonly bias?: GpuTensor;
}

/** Packs a plan into words per channel: M, n, hi, scale bits. */
function packPlan(plan: RequantPlan, channels: number): Int32Array {
  const words = new Int32Array(channels * 4);
  const f = new Float32Array(words.buffer);
  const at = <T>(a: ArrayLike<T>, c: number) => a[a.length === 1 ? 0 : c];
  for (let c = 0; c < channels; c++) {
    const m = at(plan.mult, c);
    words[c * 4] = m.M;
    words[c * 4 + 1] = m.n;
    words[c * 4 + 2] = at(plan.hi, c);
    f[c * 4 + 3] = at(plan.scale, c);
  }
  return words;
}

/**
 * Requantizes an int32 accumulator tensor on the GPU (channel `c = (i / inner) % channels`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { requantGpu, requantPlan } from "./requant_kernel.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const acc = uploadTensor(dev, Int32Array.of(3, -3, 1000), [3]);
 *   const plan = requantPlan({ numerator: [0.5], divisor: 1 }, { dtype: "qint8", scale: 1 });
 *   const y = requantGpu(dev, acc, plan, { channels: 1, inner: 3, out: "int8" });
 *   assert((await readTensor(dev, y)).join() === "2,-1,127");
 *   dev.destroy();
 * }
 * ```
 */
export function requantGpu(
  dev: WebGpuDevice,
  acc: GpuTensor,
  plan: RequantPlan,
  o: RequantGpuOptions,
): GpuTensor {
  const params = uploadTensor(dev, packPlan(plan, o.channels), [o.channels * 4]);
  const float = o.out === "float32";
  const inputs = [{ name: "acc", dtype: "int32" as const }, { name: "p", dtype: "int32" as const }];
  if (o.bias) inputs.push({ name: "bias", dtype: "int32" });
  const y = runElem(
    dev,
    {
      name: `requant${o.bias ? "_bias" : ""}${float ? "_dequant" : ""}`,
      inputs,
      out: o.out,
      uniforms: [{ name: "ch", type: "u32" }, { name: "inner", type: "u32" }, { name: "lo", type: "i32" }],
      functions: [REQUANT, DEQUANT_EXACT],
      elem: `  let c = (i / u_inner()) % u_ch();
  let a = ld_acc(i)${o.bias ? " + ld_bias(c)" : ""};
  let y = requant(a, bitcast<u32>(ld_p(c * 4u)), bitcast<u32>(ld_p(c * 4u + 1u)), u_lo(), ld_p(c * 4u + 2u));
  return ${float ? "dequant_f64r(y, bitcast<f32>(ld_p(c * 4u + 3u)))" : "y"};`,
    },
    o.bias ? [acc, params, o.bias] : [acc, params],
    acc.shape,
    {
      ch: Math.max(1, o.channels),
      inner: Math.max(1, o.inner),
      lo: plan.lo,
    },
  );
  releaseTensor(dev, params);
  return y;
}

/**
 * Layer modules whose initial state is an imported model's: `@hqat/nn`'s own classes (so tracing, fusion
 * and quantization see `Conv2d`, `BatchNorm2d` and `Linear`), with initializers that return the ONNX
 * tensors instead of random ones.
 * @module
 */
import { BatchNorm2d, type StateSpec } from "@hqat/nn";
import { fromArray, type Tensor } from "@hqat/tensor";
import type { OnnxTensor } from "./tensor_proto.ts";

/**
 * A float32 tensor holding a copy of an ONNX tensor's values, in `shape` (default the tensor's own).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { tensorOf } from "./layers.ts";
 * const t = tensorOf({ name: "b", dataType: 1, dims: [2], data: Float32Array.of(1, 2) });
 * assert(t.shape.join() === "2" && t.data[1] === 2);
 * ```
 */
export function tensorOf(t: OnnxTensor, shape: readonly number[] = t.dims): Tensor {
  return fromArray(Float32Array.from(t.data), [...shape]);
}

/** The tensors of an imported batch normalization. */
export interface BatchNormTensors {
  /** Scale γ. */
  readonly weight: OnnxTensor;
  /** Shift β. */
  readonly bias: OnnxTensor;
  /** Running mean. */
  readonly mean: OnnxTensor;
  /** Running variance. */
  readonly variance: OnnxTensor;
}

/**
 * `BatchNorm2d` whose state starts at an ONNX BatchNormalization's scale, shift and statistics (and
 * `num_batches_tracked` 0, which ONNX does not store).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ImportedBatchNorm2d } from "./layers.ts";
 * import { initState } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const t = (v: number) => ({ name: "", dataType: 1, dims: [1], data: Float32Array.of(v) });
 * const bn = new ImportedBatchNorm2d(1, { weight: t(2), bias: t(0), mean: t(1), variance: t(4) });
 * assert(initState(bn, randomKey(0))["running_var"].item() === 4 && bn.typeName === "BatchNorm2d");
 * ```
 */
export class ImportedBatchNorm2d extends BatchNorm2d {
  readonly #tensors: BatchNormTensors;

  /** Creates the layer over `tensors` (each [numFeatures]). */
  constructor(
    numFeatures: number,
    tensors: BatchNormTensors,
    options: { eps?: number; momentum?: number } = {},
  ) {
    super(numFeatures, options);
    this.#tensors = tensors;
  }

  /** BatchNorm2d's state, initialized from the ONNX tensors. */
  override ownState(): StateSpec[] {
    const t = this.#tensors;
    const from: Record<string, OnnxTensor> = {
      weight: t.weight,
      bias: t.bias,
      running_mean: t.mean,
      running_var: t.variance,
    };
    return super.ownState().map((s) => {
      const src = from[s.name];
      return src ? { ...s, init: () => tensorOf(src, s.shape) } : s;
    });
  }
}

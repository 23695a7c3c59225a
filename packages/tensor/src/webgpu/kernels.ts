/**
 * The WebGPU kernel table — one entry per primitive op, typed over {@linkcode OpName} like the CPU
 * table, so an op without a WGSL kernel does not compile — and {@linkcode runOpOnGpu}, which runs one op
 * on host arrays.
 * @module
 */
import type { DType, TypedArray } from "../dtype.ts";
import type { OpAttrs, OpName } from "../ops.ts";
import type { Shape } from "../shape.ts";
import type { TensorInfo } from "../tensor.ts";
import type { WebGpuDevice } from "./device.ts";
import { conv2dAffineChainGpu, conv2dAffineGpu, conv2dGpu } from "./conv.ts";
import { conv2dBackwardInputGpu, conv2dBackwardWeightGpu } from "./conv_backward.ts";
import { binaryGpu, castGpu, clampBackwardGpu, clampGpu, unaryGpu, whereGpu } from "./elementwise.ts";
import { matmulGpu } from "./gemm.ts";
import { type GpuKernel, type GpuTensor, readTensor, releaseTensor, uploadTensor } from "./gpu_tensor.ts";
import { addFakeGpu, avgPoolFakeGpu, intLayerFakeGpu } from "./int_fake_ops.ts";
import {
  convTransposeFakeGpu,
  matmulFakeGpu,
  meanFakeGpu,
  resizeFakeGpu,
  softmaxFakeGpu,
} from "./int_twins.ts";
import { lutFakeGpu, mulFakeGpu, requantFakeGpu } from "./int_twins_elem.ts";
import {
  broadcastToGpu,
  concatGpu,
  oneHotGpu,
  padGpu,
  reshapeGpu,
  sliceGpu,
  transposeGpu,
} from "./movement.ts";
import { batchNormTrainBackwardGpu, batchNormTrainGpu, channelAffineGpu } from "./norm.ts";
import { avgPool2dBackwardGpu, avgPool2dGpu, maxPool2dBackwardGpu, maxPool2dGpu } from "./pool.ts";
import { fakeQuantizeBackwardGpu, fakeQuantizeGpu } from "./quant_ops.ts";
import { randomNormalGpu, randomUniformGpu } from "./random.ts";
import { argmaxGpu, logSoftmaxGpu, maxGpu, sumGpu, topkGpu } from "./reduce.ts";
import { resizeBackwardGpu, resizeGpu } from "./resize.ts";

/**
 * The WebGPU kernels, one per primitive op.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { GPU_KERNELS } from "./kernels.ts";
 * import { CPU_KERNELS } from "../cpu/backend.ts";
 * assert(Object.keys(GPU_KERNELS).length === Object.keys(CPU_KERNELS).length);
 * ```
 */
export const GPU_KERNELS: { readonly [K in OpName]: GpuKernel<OpAttrs[K]> } = {
  neg: unaryGpu("neg"),
  exp: unaryGpu("exp"),
  log: unaryGpu("log"),
  sqrt: unaryGpu("sqrt"),
  rsqrt: unaryGpu("rsqrt"),
  abs: unaryGpu("abs"),
  sign: unaryGpu("sign"),
  tanh: unaryGpu("tanh"),
  sigmoid: unaryGpu("sigmoid"),
  floor: unaryGpu("floor"),
  ceil: unaryGpu("ceil"),
  round: unaryGpu("round"),
  relu: unaryGpu("relu"),
  clamp: clampGpu,
  clampBackward: clampBackwardGpu,
  cast: castGpu,
  add: binaryGpu("add"),
  sub: binaryGpu("sub"),
  mul: binaryGpu("mul"),
  div: binaryGpu("div"),
  maximum: binaryGpu("maximum"),
  minimum: binaryGpu("minimum"),
  pow: binaryGpu("pow"),
  equal: binaryGpu("equal"),
  notEqual: binaryGpu("notEqual"),
  less: binaryGpu("less"),
  lessEqual: binaryGpu("lessEqual"),
  greater: binaryGpu("greater"),
  greaterEqual: binaryGpu("greaterEqual"),
  where: whereGpu,
  sum: sumGpu,
  max: maxGpu,
  argmax: argmaxGpu,
  topk: topkGpu,
  reshape: reshapeGpu,
  transpose: transposeGpu,
  broadcastTo: broadcastToGpu,
  slice: sliceGpu,
  pad: padGpu,
  concat: concatGpu,
  oneHot: oneHotGpu,
  matmul: matmulGpu,
  conv2d: conv2dGpu,
  conv2dAffine: conv2dAffineGpu,
  conv2dAffineChain: conv2dAffineChainGpu,
  conv2dBackwardInput: conv2dBackwardInputGpu,
  conv2dBackwardWeight: conv2dBackwardWeightGpu,
  maxPool2d: maxPool2dGpu,
  maxPool2dBackward: maxPool2dBackwardGpu,
  avgPool2d: avgPool2dGpu,
  avgPool2dBackward: avgPool2dBackwardGpu,
  resize: resizeGpu,
  resizeBackward: resizeBackwardGpu,
  batchNormTrain: batchNormTrainGpu,
  batchNormTrainBackward: batchNormTrainBackwardGpu,
  channelAffine: channelAffineGpu,
  logSoftmax: logSoftmaxGpu,
  fakeQuantize: fakeQuantizeGpu,
  fakeQuantizeBackward: fakeQuantizeBackwardGpu,
  addFake: addFakeGpu,
  avgPoolFake: avgPoolFakeGpu,
  intLayerFake: intLayerFakeGpu,
  lutFake: lutFakeGpu,
  resizeFake: resizeFakeGpu,
  meanFake: meanFakeGpu,
  matmulFake: matmulFakeGpu,
  convTransposeFake: convTransposeFakeGpu,
  softmaxFake: softmaxFakeGpu,
  requantFake: requantFakeGpu,
  mulFake: mulFakeGpu,
  randomUniform: randomUniformGpu,
  randomNormal: randomNormalGpu,
};

/** A host-side operand of {@linkcode runOpOnGpu}. */
export interface HostTensor {
  /** Row-major data. */
  readonly data: TypedArray;
  /** The shape. */
  readonly shape: Shape;
  /** The dtype (must match the array type). */
  readonly dtype: DType;
}

/**
 * Runs primitive op `op` on the GPU: uploads `inputs`, records the op's kernels, reads back one array
 * per entry of `outInfos` (the op's shape rule gives them) and returns every buffer to the pool.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { runOpOnGpu } from "./kernels.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = { data: Float32Array.of(1, 2, 3), shape: [3], dtype: "float32" } as const;
 *   const b = { data: Float32Array.of(10), shape: [1], dtype: "float32" } as const;
 *   const [y] = await runOpOnGpu(dev, "add", [a, b], {}, [{ shape: [3], dtype: "float32" }]);
 *   assert(y.join() === "11,12,13");
 *   dev.destroy();
 * }
 * ```
 */
export async function runOpOnGpu<K extends OpName>(
  dev: WebGpuDevice,
  op: K,
  inputs: readonly HostTensor[],
  attrs: OpAttrs[K],
  outInfos: readonly TensorInfo[],
): Promise<TypedArray[]> {
  const kernel = GPU_KERNELS[op] as GpuKernel<OpAttrs[K]>;
  if (!kernel) throw new TypeError(`Unknown op "${String(op)}"`);
  const ins: GpuTensor[] = [];
  let outs: GpuTensor[] = [];
  try {
    for (const t of inputs) {
      const g = uploadTensor(dev, t.data, t.shape);
      ins.push(g);
      if (g.dtype !== t.dtype) {
        throw new TypeError(`${op}(): input of dtype ${t.dtype} holds ${g.dtype} data`);
      }
    }
    outs = kernel(dev, ins, attrs, outInfos);
    return await Promise.all(outs.map((t) => readTensor(dev, t)));
  } finally {
    for (const t of [...ins, ...outs]) releaseTensor(dev, t);
  }
}

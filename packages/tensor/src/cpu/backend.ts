/**
 * The CPU backend: one kernel per primitive op, in plain TypeScript (convolutions and matmul use the
 * WebAssembly SIMD kernels where available).
 * @module
 */
import type { Backend } from "../backend.ts";
import type { TypedArray } from "../dtype.ts";
import type { OpAttrs, OpName } from "../ops.ts";
import type { Tensor, TensorInfo } from "../tensor.ts";
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, conv2dForwardAffine } from "./conv2d.ts";
import { conv2dAffineChainKernel } from "./conv2d_chain.ts";
import { chainSkips } from "../chain_skips.ts";
import {
  binaryKernel,
  castKernel,
  clampBackwardKernel,
  clampKernel,
  unaryKernel,
  whereKernel,
} from "./elementwise.ts";
import { matmulKernel } from "./matmul_op.ts";
import {
  broadcastKernel,
  concatKernel,
  oneHotKernel,
  padKernel,
  sliceKernel,
  transposeKernel,
} from "./movement.ts";
import {
  batchNormTrainBackwardKernel,
  batchNormTrainKernel,
  channelAffineKernel,
  logSoftmaxKernel,
} from "./norm.ts";
import { normalKernel, uniformKernel } from "./philox.ts";
import {
  addFakeKernel,
  avgPoolFakeKernel,
  fakeQuantizeBackwardKernel,
  fakeQuantizeKernel,
  intLayerFakeKernel,
} from "./quant.ts";
import {
  convTransposeFakeKernel,
  lutFakeKernel,
  matmulFakeKernel,
  meanFakeKernel,
  mulFakeKernel,
  requantFakeKernel,
  resizeFakeKernel,
  softmaxFakeKernel,
} from "./int_twins.ts";
import { avgPoolBackwardKernel, avgPoolKernel, maxPoolBackwardKernel, maxPoolKernel } from "./pool.ts";
import { argmaxKernel, maxKernel, sumKernel, topkKernel } from "./reduce.ts";
import { resizeBackwardKernel, resizeKernel } from "./resize.ts";

type CpuKernel<A> = (ins: readonly Tensor[], attrs: A, outs: readonly TensorInfo[]) => TypedArray[];
type None = OpAttrs["neg"];

const unary = (op: Parameters<typeof unaryKernel>[0]): CpuKernel<None> => (ins, _a, outs) => [
  unaryKernel(op, ins[0].data, outs[0].dtype),
];
const binary = (op: Parameters<typeof binaryKernel>[0]): CpuKernel<None> => (ins, _a, outs) => [
  binaryKernel(op, ins[0].data, ins[0].shape, ins[1].data, ins[1].shape, outs[0].shape, outs[0].dtype),
];

/** The CPU kernels, one per primitive op. */
export const CPU_KERNELS: { [K in OpName]: CpuKernel<OpAttrs[K]> } = {
  neg: unary("neg"),
  exp: unary("exp"),
  log: unary("log"),
  sqrt: unary("sqrt"),
  rsqrt: unary("rsqrt"),
  abs: unary("abs"),
  sign: unary("sign"),
  tanh: unary("tanh"),
  sigmoid: unary("sigmoid"),
  floor: unary("floor"),
  ceil: unary("ceil"),
  round: unary("round"),
  relu: unary("relu"),
  clamp: (ins, a, outs) => [clampKernel(ins[0].data, a.min, a.max, outs[0].dtype)],
  clampBackward: (ins, a) => [clampBackwardKernel(ins[0].data, ins[1].data, a.min, a.max, a.openGrad)],
  cast: (ins, a) => [castKernel(ins[0].data, a.dtype)],
  add: binary("add"),
  sub: binary("sub"),
  mul: binary("mul"),
  div: binary("div"),
  maximum: binary("maximum"),
  minimum: binary("minimum"),
  pow: binary("pow"),
  equal: binary("equal"),
  notEqual: binary("notEqual"),
  less: binary("less"),
  lessEqual: binary("lessEqual"),
  greater: binary("greater"),
  greaterEqual: binary("greaterEqual"),
  where: (ins, _a, outs) => [
    whereKernel(
      ins[0].data,
      ins[0].shape,
      ins[1].data,
      ins[1].shape,
      ins[2].data,
      ins[2].shape,
      outs[0].shape,
      outs[0].dtype,
    ),
  ],
  sum: (ins, a, outs) => [sumKernel(ins[0].data, ins[0].shape, a.axes, outs[0].dtype)],
  max: (ins, a, outs) => [maxKernel(ins[0].data, ins[0].shape, a.axes, outs[0].dtype)],
  argmax: (ins, a) => [argmaxKernel(ins[0].data, ins[0].shape, a.axis)],
  topk: (ins, a, outs) => topkKernel(ins[0].data, ins[0].shape, a.k, a.axis, outs[0].dtype),
  reshape: (ins) => [ins[0].data],
  transpose: (ins, a, outs) => [transposeKernel(ins[0].data, ins[0].shape, a.perm, outs[0].dtype)],
  broadcastTo: (ins, a, outs) => [broadcastKernel(ins[0].data, ins[0].shape, a.shape, outs[0].dtype)],
  slice: (ins, a, outs) => [
    sliceKernel(ins[0].data, ins[0].shape, a.starts, a.ends, outs[0].dtype, a.steps),
  ],
  pad: (ins, a, outs) => [padKernel(ins[0].data, ins[0].shape, a.pads, a.value, outs[0].dtype)],
  concat: (
    ins,
    a,
    outs,
  ) => [concatKernel(ins, a.axis < 0 ? a.axis + outs[0].shape.length : a.axis, outs[0].shape, outs[0].dtype)],
  oneHot: (ins, a) => [oneHotKernel(ins[0].data, a.numClasses)],
  matmul: (ins, a, outs) => [matmulKernel(ins[0], ins[1], a, outs[0].shape)],
  conv2d: (
    ins,
    a,
  ) => [
    conv2dForward(ins[0].data as Float32Array, ins[0].shape, ins[1].data as Float32Array, ins[1].shape, a),
  ],
  conv2dAffine: (ins, a) => [
    conv2dForwardAffine(
      ins[0].data as Float32Array,
      ins[0].shape,
      ins[1].data as Float32Array,
      ins[1].shape,
      {
        ...a,
        affine: {
          scale: ins[2].data as Float32Array,
          shift: ins[3].data as Float32Array,
          min: a.min,
          max: a.max,
        },
      },
    ),
  ],
  conv2dAffineChain: (ins, a) => [conv2dAffineChainKernel(ins, a.layers, chainSkips(a))],
  conv2dBackwardInput: (ins, a) => [
    conv2dBackwardInput(
      ins[0].data as Float32Array,
      ins[0].shape,
      ins[1].data as Float32Array,
      ins[1].shape,
      a,
    ),
  ],
  conv2dBackwardWeight: (ins, a) => [
    conv2dBackwardWeight(
      ins[0].data as Float32Array,
      ins[0].shape,
      ins[1].data as Float32Array,
      ins[1].shape,
      a,
    ),
  ],
  maxPool2d: (ins, a, outs) => [maxPoolKernel(ins[0].data, ins[0].shape, outs[0].shape, a, outs[0].dtype)],
  maxPool2dBackward: (
    ins,
    a,
  ) => [maxPoolBackwardKernel(ins[0].data, ins[1].data, ins[1].shape, ins[0].shape, a)],
  avgPool2d: (ins, a, outs) => [avgPoolKernel(ins[0].data, ins[0].shape, outs[0].shape, a)],
  avgPool2dBackward: (ins, a) => [avgPoolBackwardKernel(ins[0].data, ins[0].shape, a.xShape, a)],
  resize: (ins, a, outs) => [resizeKernel(ins[0].data, ins[0].shape, a, outs[0].dtype)],
  resizeBackward: (ins, a) => [resizeBackwardKernel(ins[0].data, a.xShape, a)],
  batchNormTrain: (ins, a) =>
    batchNormTrainKernel(ins[0].data, ins[0].shape, ins[1].data, ins[2].data, a.eps, a.clampMax),
  batchNormTrainBackward: (ins, a) =>
    batchNormTrainBackwardKernel(
      ins[0].data,
      ins[1].data,
      ins[2].data,
      ins[3].data,
      ins[3].shape,
      ins[4].data,
      ins[5].data,
      ins[6].data,
      a.eps,
      a.clampMax === undefined ? undefined : { y: ins[7].data, max: a.clampMax },
    ),
  channelAffine: (ins) => [channelAffineKernel(ins[0].data, ins[0].shape, ins[1].data, ins[2].data)],
  logSoftmax: (ins, a) => [logSoftmaxKernel(ins[0].data, ins[0].shape, a.axis)],
  fakeQuantize: (ins, a) => [fakeQuantizeKernel(ins[0], ins[1], a)],
  fakeQuantizeBackward: (ins, a) => fakeQuantizeBackwardKernel(ins[0], ins[1], ins[2], a),
  addFake: (ins, a) => [addFakeKernel(ins[0], ins[1], a)],
  avgPoolFake: (ins, a) => [avgPoolFakeKernel(ins[0], a)],
  intLayerFake: (ins, a) => [intLayerFakeKernel(ins[0], ins[1], ins[2], a)],
  lutFake: (ins, a) => [lutFakeKernel(ins[0], ins[1], a)],
  resizeFake: (ins, a) => [resizeFakeKernel(ins[0], a)],
  meanFake: (ins, a) => [meanFakeKernel(ins[0], a)],
  matmulFake: (ins, a) => [matmulFakeKernel(ins[0], ins[1], a)],
  convTransposeFake: (ins, a) => [convTransposeFakeKernel(ins[0], ins[1], ins[2], a)],
  softmaxFake: (ins, a) => [softmaxFakeKernel(ins[0], a)],
  requantFake: (ins, a) => [requantFakeKernel(ins[0], a)],
  mulFake: (ins, a) => [mulFakeKernel(ins[0], ins[1], a)],
  randomUniform: (_ins, a, outs) => [uniformKernel(outs[0].shape.reduce((p, d) => p * d, 1), a.k0, a.k1)],
  randomNormal: (_ins, a, outs) => [normalKernel(outs[0].shape.reduce((p, d) => p * d, 1), a.k0, a.k1)],
};

/** The CPU backend. */
export const cpuBackend: Backend = {
  device: "cpu",
  run(op, inputs, attrs, outs) {
    return CPU_KERNELS[op](inputs, attrs, outs);
  },
};

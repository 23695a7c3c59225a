/**
 * The closed set of primitive ops. Every other tensor function is composed from these. Each per-op
 * concern (shape rule, CPU kernel, VJP rule) is a table typed over {@linkcode OpName}, so an op cannot be
 * half-added: the tables do not type-check until each has its entry.
 * @module
 */
import type { DType } from "./dtype.ts";

/** Geometry of a 2-D convolution. */
export interface ConvAttrs {
  /** Stride [sh, sw]. */
  stride: readonly [number, number];
  /** Zero padding [ph, pw] on each side. */
  padding: readonly [number, number];
  /** Dilation [dh, dw]. */
  dilation: readonly [number, number];
  /** Number of groups (depthwise when equal to the input channels). */
  groups: number;
}

/** The attributes of an inference convolution with its batch norm and clamp fused (`conv2dAffine`). */
export type ConvAffineAttrs = ConvAttrs & {
  /** Lower clamp bound (−∞ for none). */
  min: number;
  /** Upper clamp bound (+∞ for none). */
  max: number;
  /** The clamp's gradient passes on the open interval. */
  openGrad: boolean;
};

/** Geometry of a 2-D pooling window. */
export interface PoolAttrs {
  /** Window [kh, kw]. */
  kernel: readonly [number, number];
  /** Stride [sh, sw]. */
  stride: readonly [number, number];
  /** Padding [ph, pw]. */
  padding: readonly [number, number];
  /** Use ceil instead of floor for the output size. */
  ceilMode: boolean;
  /** Average pooling: count padded cells in the divisor. */
  countIncludePad: boolean;
}

/** How an output coordinate of a resize maps to an input coordinate (ONNX Resize, opsets 11–19). */
export type CoordinateTransformation = "half_pixel" | "pytorch_half_pixel" | "align_corners" | "asymmetric";

/** How a nearest-neighbour resize rounds the input coordinate (ONNX Resize's `nearest_mode`). */
export type NearestMode = "round_prefer_floor" | "round_prefer_ceil" | "floor" | "ceil";

/** Geometry of a spatial resize of NCHW x (ONNX Resize on the last two axes). */
export interface ResizeAttrs {
  /** Output size [oh, ow]. */
  size: readonly [number, number];
  /** Nearest neighbour or (bi)linear interpolation. */
  mode: "nearest" | "linear";
  /** Output-to-input coordinate mapping. */
  coordinateTransformation: CoordinateTransformation;
  /** Rounding of nearest-neighbour coordinates (ignored by linear). */
  nearestMode: NearestMode;
  /** ONNX `scales` [sh, sw] used by the coordinate mapping instead of size / input size; null: from sizes. */
  scales: readonly [number, number] | null;
}

/** The attributes of an op that takes none. */
export type None = Record<never, never>;

/** The attributes of every primitive op, by name. */
export interface OpAttrs {
  // Unary elementwise (float).
  /** Negation −x. */
  neg: None;
  /** Natural exponential eˣ. */
  exp: None;
  /** Natural logarithm. */
  log: None;
  /** Square root. */
  sqrt: None;
  /** Reciprocal square root 1 / √x. */
  rsqrt: None;
  /** Absolute value. */
  abs: None;
  /** Sign: −1, 0 or 1. */
  sign: None;
  /** Hyperbolic tangent. */
  tanh: None;
  /** Logistic sigmoid 1 / (1 + e⁻ˣ). */
  sigmoid: None;
  /** Round toward −∞. */
  floor: None;
  /** Round toward +∞. */
  ceil: None;
  /** Round half to even. */
  round: None;
  /** max(x, 0). */
  relu: None;
  /** Clamp to [min, max]; the gradient passes inside the closed interval, or the open one when `openGrad`. */
  clamp: { min: number; max: number; openGrad: boolean };
  /** Inputs (g, x): g where x is inside the clamp interval (as `clamp`'s gradient), else 0. */
  clampBackward: { min: number; max: number; openGrad: boolean };
  /** Elementwise conversion; float → int truncates toward zero and wraps like the typed arrays do. */
  cast: { dtype: DType };
  // Binary elementwise with broadcasting.
  /** a + b. */
  add: None;
  /** a − b. */
  sub: None;
  /** a · b. */
  mul: None;
  /** a / b. */
  div: None;
  /** Elementwise max(a, b). */
  maximum: None;
  /** Elementwise min(a, b). */
  minimum: None;
  /** a raised to the power b. */
  pow: None;
  /** a = b, as uint8 0 or 1. */
  equal: None;
  /** a ≠ b, as uint8 0 or 1. */
  notEqual: None;
  /** a < b, as uint8 0 or 1. */
  less: None;
  /** a ≤ b, as uint8 0 or 1. */
  lessEqual: None;
  /** a > b, as uint8 0 or 1. */
  greater: None;
  /** a ≥ b, as uint8 0 or 1. */
  greaterEqual: None;
  /** where(cond, a, b) with broadcasting; cond is uint8. */
  where: None;
  // Reductions.
  /** Sum over `axes`; `keepDims` keeps them as size-1 dimensions. */
  sum: { axes: readonly number[]; keepDims: boolean };
  /** Maximum over `axes`; `keepDims` keeps them as size-1 dimensions. */
  max: { axes: readonly number[]; keepDims: boolean };
  /** int32 index of the maximum along `axis`; `keepDims` keeps it as a size-1 dimension. */
  argmax: { axis: number; keepDims: boolean };
  /** Largest k values along an axis (sorted, descending) and their int32 indices. */
  topk: { k: number; axis: number };
  // Movement.
  /** Same elements in row-major order, new `shape` of the same size. */
  reshape: { shape: readonly number[] };
  /** Permutes the axes: output axis i is input axis `perm[i]`. */
  transpose: { perm: readonly number[] };
  /** Broadcasts to `shape` by NumPy rules. */
  broadcastTo: { shape: readonly number[] };
  /**
   * Strided slice; per axis, indices `starts[i] + k · steps[i]` before `ends[i]` (steps default to 1),
   * already normalized: 0 ≤ start ≤ end ≤ size for a positive step, −1 ≤ end ≤ start < size for a
   * negative one.
   */
  slice: { starts: readonly number[]; ends: readonly number[]; steps?: readonly number[] };
  /** Constant padding; `pads[i] = [before, after]`. */
  pad: { pads: readonly (readonly [number, number])[]; value: number };
  /** Joins the inputs along `axis`. */
  concat: { axis: number };
  /** One-hot float32 rows from integer labels. */
  oneHot: { numClasses: number };
  // Linear algebra and neural-network ops.
  /** Batched matmul of [..., m, k] by [..., k, n] with batch broadcasting. */
  matmul: { transA: boolean; transB: boolean };
  /** Inputs (x, w): 2-D convolution of NCHW x by weights [Co, C / groups, kh, kw]. */
  conv2d: ConvAttrs;
  /** Inputs (dy, w): the gradient of conv2d with respect to an input of `xShape`. */
  conv2dBackwardInput: ConvAttrs & { xShape: readonly number[] };
  /** Inputs (dy, x): the gradient of conv2d with respect to a weight of `wShape`. */
  conv2dBackwardWeight: ConvAttrs & { wShape: readonly number[] };
  /**
   * Inputs (x, w, scale, shift): an inference convolution with its batch norm (fixed statistics) and its
   * ReLU-like activation fused, clamp(conv2d(x, w) · scale[c] + shift[c], min, max) — equal bit for bit to
   * conv2d, channelAffine and clamp in turn, and differentiated as they are (`openGrad` as clamp's).
   */
  conv2dAffine: ConvAffineAttrs;
  /**
   * Inputs (x, then w, scale, shift of each layer): conv2dAffine layer after layer, the intermediate results
   * kept inside the kernels — equal bit for bit to the separate ops, and differentiated as they are. Each of
   * `skips` adds the input of layer `from` to the result of layer `to` (from ≤ to, at most one per `to`, the
   * shapes equal), as `add(input, result)` would — skip connections inside the chain.
   */
  conv2dAffineChain: {
    layers: readonly ConvAffineAttrs[];
    skips?: readonly { readonly from: number; readonly to: number }[];
  };
  /** 2-D max pooling of NCHW x. */
  maxPool2d: PoolAttrs;
  /** Inputs (dy, x): routes dy to the argmax of each window. */
  maxPool2dBackward: PoolAttrs;
  /** 2-D average pooling of NCHW x. */
  avgPool2d: PoolAttrs;
  /** Input dy; output the gradient for an input of `xShape`. */
  avgPool2dBackward: PoolAttrs & { xShape: readonly number[] };
  /** Resizes the two spatial axes of NCHW x by ONNX Resize's rules (nearest or linear). */
  resize: ResizeAttrs;
  /** Input dy; output the gradient of resize for an input of `xShape`. */
  resizeBackward: ResizeAttrs & { xShape: readonly number[] };
  /** Inputs (x, gamma, beta); outputs (y, mean, biased variance) over axes 0, 2, 3. */
  batchNormTrain: {
    eps: number;
    /**
     * When given, y is clamped to [0, clampMax] (a fused ReLU6 with 6), as the `clamp` op does, and the
     * gradient passes where 0 < y < clampMax (the open interval, as relu6's).
     */
    clampMax?: number;
  };
  /** Inputs (dy, dmean, dvar, x, gamma, mean, var); outputs (dx, dgamma, dbeta). */
  /** With clampMax, an eighth input y (the clamped output): dy is first masked where 0 < y < clampMax. */
  batchNormTrainBackward: { eps: number; clampMax?: number };
  /** Inputs (x, scale, shift): x · scale[c] + shift[c] along axis 1 (batch norm with fixed statistics). */
  channelAffine: None;
  /** log(softmax(x)) along `axis`. */
  logSoftmax: { axis: number };
  /**
   * Inputs (x, scale): SPEC.md's fake quantization, dequantize(quantize(x, s), s), bit for bit;
   * per tensor (scale [1], axis -1) or per channel along `axis` (scale [C]).
   */
  fakeQuantize: { qmin: number; qmax: number; axis: number };
  /**
   * Inputs (dy, x, scale); outputs (dx, dscale): the straight-through gradient (zero where the rounded
   * value saturates) and the learnable-scale (LSQ) gradient of the scale.
   */
  fakeQuantizeBackward: { qmin: number; qmax: number; axis: number; scaleGrad: boolean };
  /**
   * Inputs (a, b), fake-quantized with scales `scaleA`, `scaleB`, b broadcast to a (each dimension equal
   * or 1): the integer model's add — or with `subtract` its sub, a − b — (SPEC.md's alignment and
   * requantization, fused activation), dequantized with `outScale`.
   */
  addFake: {
    scaleA: number;
    scaleB: number;
    dtypeIn: "qint8" | "qint16";
    outScale: number;
    dtype: "qint8" | "qint16";
    activation?: "relu" | "relu6";
    subtract?: boolean;
  };
  /**
   * Input x fake-quantized with `scaleIn`: the integer model's average pooling (window sum, SPEC.md's
   * requantization to `outScale`), dequantized. `kernel` [0, 0] means adaptive pooling to 1×1. With
   * `ceilMode` or `countIncludePad` false, PyTorch's windows and divisors: a window whose divisor `c` is not
   * the kernel area `K` sums to `round_half_up(sum · K / c)` before the one requantization.
   */
  avgPoolFake: {
    kernel: readonly [number, number];
    stride: readonly [number, number];
    padding: readonly [number, number];
    scaleIn: number;
    dtypeIn: "qint8" | "qint16";
    outScale: number;
    dtype: "qint8" | "qint16";
    ceilMode?: boolean;
    countIncludePad?: boolean;
  };
  /**
   * Inputs (x, w[, bias]) with x fake-quantized at scale `sx`: the integer model's convolution (or, with
   * `linear`, fully connected layer) — int8 weights at per-channel scales `sw`, int32 bias, exact
   * accumulation, requantization to `output` with the fused activation — dequantized. No gradient: it
   * is the VALIDATION path.
   */
  intLayerFake: {
    linear: boolean;
    sx: number;
    dtypeIn: "qint8" | "qint16";
    sw: readonly number[];
    output: { dtype: "qint8" | "qint16"; scale: number } | { dtype: "qint32" };
    activation?: "relu" | "relu6";
    stride: readonly [number, number];
    padding: readonly [number, number];
    dilation: readonly [number, number];
    groups: number;
  };
  /**
   * Inputs (x, table): x fake-quantized with `scaleIn` to `dtypeIn`, looked up in the int32 table (256
   * or 65536 entries, indexed by `q − qmin`, the `lut` instruction's), dequantized with `outScale`. No
   * gradient: it is the VALIDATION path.
   */
  lutFake: { scaleIn: number; dtypeIn: "qint8" | "qint16"; outScale: number };
  /**
   * Input x fake-quantized with `scaleIn` to `dtypeIn`: the `resize` instruction on its integers (a
   * gather for nearest; fixed-point bilinear weights into an int32 accumulator of scale `scaleIn / 2^16`
   * for linear), requantized to `outScale` and dequantized. No gradient: it is the VALIDATION path.
   */
  resizeFake: ResizeAttrs & {
    scaleIn: number;
    dtypeIn: "qint8" | "qint16";
    outScale: number;
    dtype: "qint8" | "qint16";
    activation?: "relu" | "relu6";
  };
  /**
   * Input x fake-quantized with `scaleIn` to `dtypeIn`: the `reduce_mean` instruction on its integers (the
   * exact int32 sum over `axes`, scale `scaleIn / count`), requantized to `outScale` (with the fused activation) and
   * dequantized. No gradient: it is the VALIDATION path.
   */
  meanFake: {
    axes: readonly number[];
    keepDims: boolean;
    scaleIn: number;
    dtypeIn: "qint8" | "qint16";
    outScale: number;
    dtype: "qint8" | "qint16";
    activation?: "relu" | "relu6";
  };
  /**
   * Inputs (a, b) fake-quantized with `scaleA` / `scaleB` to `dtypeA` / `dtypeB`: the `matmul` instruction
   * on their integers (`[..., m, k] × [..., k, n]`, equal ranks, batch dimensions equal or 1; the exact
   * int32 accumulator of scale `scaleA · scaleB`), requantized to `outScale` with the fused activation and
   * dequantized. No gradient: it is the VALIDATION path.
   */
  matmulFake: {
    scaleA: number;
    scaleB: number;
    dtypeA: "qint8" | "qint16";
    dtypeB: "qint8" | "qint16";
    outScale: number;
    dtype: "qint8" | "qint16";
    activation?: "relu" | "relu6";
  };
  /**
   * Inputs (x, w[, bias]) with x fake-quantized at scale `sx`: the `conv_transpose2d` instruction — int8
   * weights `[Cin, Cout/groups, kh, kw]` at per-output-channel scales `sw`, int32 bias, exact accumulation
   * of scale `sx · sw[c]`, requantization to `output` with the fused activation — dequantized. No
   * gradient: it is the VALIDATION path.
   */
  convTransposeFake: {
    sx: number;
    dtypeIn: "qint8" | "qint16";
    sw: readonly number[];
    output: { dtype: "qint8" | "qint16"; scale: number } | { dtype: "qint32" };
    activation?: "relu" | "relu6";
    stride: readonly [number, number];
    padding: readonly [number, number];
    outputPadding: readonly [number, number];
    dilation: readonly [number, number];
    groups: number;
  };
  /**
   * Input x fake-quantized with `scaleIn` to `dtypeIn`: the `softmax` instruction on its integers along
   * `axis` (the exp table of the input scale, an exact int32 sum, probabilities of scale 2^-16),
   * requantized to `outScale` and dequantized. No gradient: it is the VALIDATION path.
   */
  softmaxFake: {
    axis: number;
    scaleIn: number;
    dtypeIn: "qint8" | "qint16";
    outScale: number;
    dtype: "qint8" | "qint16";
  };
  /**
   * Input x fake-quantized with `scaleIn` to `dtypeIn`: its integers requantized to `outScale` (SPEC.md's
   * multiplier of `scaleIn / outScale`) and dequantized — what a `cat` does to each input, or a `requant`
   * stage to a value, with the fused activation. Its gradient is straight through, masked as `addFake`'s.
   */
  requantFake: {
    scaleIn: number;
    dtypeIn: "qint8" | "qint16";
    outScale: number;
    dtype: "qint8" | "qint16";
    activation?: "relu" | "relu6";
  };
  /**
   * Inputs (a, b) fake-quantized with `scaleA` / `scaleB` to `dtypeA` / `dtypeB`, b broadcast to a (each
   * dimension equal or 1): the `mul` instruction on their integers (the exact int32 product of scale
   * `scaleA · scaleB`), requantized to `outScale` with the fused activation and dequantized. Its gradient
   * is the product rule, straight through, masked as `addFake`'s.
   */
  mulFake: {
    scaleA: number;
    scaleB: number;
    dtypeA: "qint8" | "qint16";
    dtypeB: "qint8" | "qint16";
    outScale: number;
    dtype: "qint8" | "qint16";
    activation?: "relu" | "relu6";
  };
  /** Uniform [0, 1) float32 values from a counter-based generator keyed by (k0, k1). */
  randomUniform: { shape: readonly number[]; k0: number; k1: number };
  /** Standard normal float32 values, keyed like randomUniform. */
  randomNormal: { shape: readonly number[]; k0: number; k1: number };
}

/** The name of a primitive op. */
export type OpName = keyof OpAttrs;

/** Every op name (kept in step with {@linkcode OpAttrs} by the tables' types). */
export const UNARY_OPS = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "abs",
  "sign",
  "tanh",
  "sigmoid",
  "floor",
  "ceil",
  "round",
  "relu",
] as const;

/** Binary elementwise ops with a numeric result. */
export const BINARY_OPS = ["add", "sub", "mul", "div", "maximum", "minimum", "pow"] as const;

/** Comparison ops; their result is uint8. */
export const COMPARE_OPS = ["equal", "notEqual", "less", "lessEqual", "greater", "greaterEqual"] as const;

/** A unary op name. */
export type UnaryOp = typeof UNARY_OPS[number];
/** A binary op name. */
export type BinaryOp = typeof BINARY_OPS[number];
/** A comparison op name. */
export type CompareOp = typeof COMPARE_OPS[number];

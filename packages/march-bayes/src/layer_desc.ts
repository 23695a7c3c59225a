/**
 * The plain, typed description of one layer of an integer model: what the graph IR produces for
 * the target checks and the performance model, and what a test can write by hand.
 * @module
 */

/**
 * Element types of tensors in an integer model. `float32` appears only at the model boundary
 * (the input of a `quant`, the output of a `dequant`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { QDtype } from "@hqat/march-bayes";
 * const d: QDtype = "qint8";
 * assert(d === "qint8");
 * ```
 */
export type QDtype = "qint8" | "qint16" | "qint32" | "float32";

/**
 * Every {@linkcode QDtype}, in a stable order.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { QDTYPES } from "@hqat/march-bayes";
 * assert(QDTYPES.length === 4 && QDTYPES[0] === "qint8");
 * ```
 */
export const QDTYPES: readonly QDtype[] = ["qint8", "qint16", "qint32", "float32"];

/**
 * One tensor a layer reads or writes. Shapes are NCHW (`[N, C, H, W]`), `[N, F]` for features of a
 * linear layer; dimension 0 is the batch.
 *
 * `from` names the layer that produces an input. When it is left out, input 0 comes from the
 * previous layer in the list (the model input for the first layer and for a `quant`), and any
 * further input comes from an earlier layer the description does not name.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { TensorDesc } from "@hqat/march-bayes";
 * const t: TensorDesc = { shape: [1, 16, 8, 8], dtype: "qint8", from: "features.1.conv.1" };
 * assert(t.shape.length === 4);
 * ```
 */
export interface TensorDesc {
  /** Dimensions: `[N, C, H, W]`, or `[N, F]` for a linear layer's features. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: QDtype;
  /** The layer that produces this input (default: see above). */
  readonly from?: string;
}

/**
 * Layer attributes; each op reads the ones that apply to it. Pairs are `[height, width]`.
 *
 * - `kernel`, `stride`, `padding` (symmetric, per side), `dilation`, `groups`: convolution and pooling.
 * - `paddingMode`: how a convolution or `pad` fills the border.
 * - `fusedRelu`: a ReLU / ReLU6 folded into the layer's requantization.
 * - `fusedAdd`: a residual add folded into a convolution ("sumin"); its second input is the addend.
 * - `output32`: the layer writes its 32-bit accumulator (the "8-bit weight, 32-bit out" qconfig).
 * - `isModelOutput`: the layer's output leaves the model.
 * - `inFeatures`, `outFeatures`: a linear layer's sizes.
 * - `resizeMode`: how an `interpolate` samples; `centreAligned`: whether a nearest one reads the cells
 *   of centre alignment (output `o` reads `floor((o + ½) · in / out)`).
 * - `axes`: the axes a reduction (`mean`, `softmax`) works on.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { LayerAttrs } from "@hqat/march-bayes";
 * const a: LayerAttrs = { kernel: [3, 3], stride: [2, 2], padding: [1, 1], fusedRelu: "relu6" };
 * assert(a.kernel?.[0] === 3);
 * ```
 */
export interface LayerAttrs {
  /** Kernel `[height, width]` of a convolution or pooling. */
  readonly kernel?: readonly [number, number];
  /** Stride `[height, width]`. */
  readonly stride?: readonly [number, number];
  /** Symmetric padding per side, `[height, width]`. */
  readonly padding?: readonly [number, number];
  /** Dilation `[height, width]`. */
  readonly dilation?: readonly [number, number];
  /** Convolution groups. */
  readonly groups?: number;
  /** How a convolution or `pad` fills the border. */
  readonly paddingMode?: "zeros" | "reflect" | "replicate";
  /** A ReLU / ReLU6 folded into the layer's requantization. */
  readonly fusedRelu?: "relu" | "relu6";
  /** A residual add folded into a convolution; its second input is the addend. */
  readonly fusedAdd?: boolean;
  /** The layer writes its 32-bit accumulator. */
  readonly output32?: boolean;
  /** The layer's output leaves the model. */
  readonly isModelOutput?: boolean;
  /** A linear layer's input features. */
  readonly inFeatures?: number;
  /** A linear layer's output features. */
  readonly outFeatures?: number;
  /** How an `interpolate` samples. */
  readonly resizeMode?: "nearest" | "linear";
  /** Whether a nearest `interpolate` reads the cells of centre alignment. */
  readonly centreAligned?: boolean;
  /** The axes a reduction works on. */
  readonly axes?: readonly number[];
}

/**
 * One layer: its module name, its op (any string; an op the target lacks is reported, not
 * rejected here), its input and output tensors and its attributes.
 *
 * Ops hqat names: `conv2d`, `linear`, `add`, `mul`, `sub`, `cat`, `avg_pool2d`,
 * `adaptive_avg_pool2d`, `max_pool2d`, `relu`, `relu6`, `pad`, `interpolate`, `quant`, `dequant`,
 * `identity`, `dropout`, `flatten`, `reshape`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { LayerDesc } from "@hqat/march-bayes";
 * const conv: LayerDesc = {
 *   name: "features.0.0",
 *   op: "conv2d",
 *   inputs: [{ shape: [1, 3, 32, 32], dtype: "qint8" }],
 *   output: { shape: [1, 32, 16, 16], dtype: "qint8" },
 *   attrs: { kernel: [3, 3], stride: [2, 2], padding: [1, 1], fusedRelu: "relu6" },
 * };
 * assert(conv.output.shape[1] === 32);
 * ```
 */
export interface LayerDesc {
  /** Module name, e.g. `features.0.0`. */
  readonly name: string;
  /** The op, e.g. `conv2d`. */
  readonly op: string;
  /** Input tensors, in order. */
  readonly inputs: readonly TensorDesc[];
  /** Output tensor. */
  readonly output: TensorDesc;
  /** Attributes the op reads. */
  readonly attrs: LayerAttrs;
}

/**
 * Bytes per element of `dtype`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { dtypeBytes } from "@hqat/march-bayes";
 * assert(dtypeBytes("qint16") === 2 && dtypeBytes("qint32") === 4);
 * ```
 */
export function dtypeBytes(dtype: QDtype): number {
  switch (dtype) {
    case "qint8":
      return 1;
    case "qint16":
      return 2;
    case "qint32":
    case "float32":
      return 4;
  }
}

/**
 * A shape read as batch, channels, height and width: `[N, C, H, W]` as is, `[N, F]` as
 * `F × 1 × 1`, `[N, C, L]` as `C × 1 × L`; dimensions between C and the last one multiply into H.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { nchwOf } from "@hqat/march-bayes";
 * const d = nchwOf([2, 1280]);
 * assert(d.n === 2 && d.c === 1280 && d.h === 1 && d.w === 1);
 * ```
 */
export function nchwOf(shape: readonly number[]): { n: number; c: number; h: number; w: number } {
  const n = shape.length > 0 ? shape[0] : 1;
  const c = shape.length > 1 ? shape[1] : 1;
  if (shape.length <= 2) return { n, c, h: 1, w: 1 };
  const w = shape[shape.length - 1];
  let h = 1;
  for (let i = 2; i < shape.length - 1; i++) h *= shape[i];
  return { n, c, h, w };
}

/**
 * The number of elements of `shape` after the batch dimension.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { elementsPerFrame } from "@hqat/march-bayes";
 * assert(elementsPerFrame([4, 3, 32, 32]) === 3072);
 * ```
 */
export function elementsPerFrame(shape: readonly number[]): number {
  let e = 1;
  for (let i = 1; i < shape.length; i++) e *= shape[i];
  return e;
}

function checkShape(shape: unknown, where: string): void {
  if (!Array.isArray(shape) || shape.length === 0) {
    throw new TypeError(
      `${where}: shape must be a non-empty array of dimensions, got ${JSON.stringify(shape)}`,
    );
  }
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 1) {
      throw new TypeError(
        `${where}: shape ${JSON.stringify(shape)} has a dimension that is not a positive integer`,
      );
    }
  }
}

function checkPair(value: unknown, min: number, where: string): void {
  if (value === undefined) return;
  if (
    !Array.isArray(value) || value.length !== 2 ||
    !value.every((v) => Number.isSafeInteger(v) && v >= min)
  ) {
    throw new TypeError(`${where}: expected a pair of integers ≥ ${min}, got ${JSON.stringify(value)}`);
  }
}

/**
 * Checks that `layer` is well formed — a name, an op, known dtypes, shapes of positive integers and
 * attribute pairs of integers — and throws a `TypeError` naming the layer and the field otherwise.
 * Whether the target supports the layer is {@linkcode checkLayer}'s question, not this one's.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { validateLayerDesc } from "@hqat/march-bayes";
 * let message = "";
 * try {
 *   validateLayerDesc({ name: "x", op: "relu", inputs: [], output: { shape: [1, 0], dtype: "qint8" }, attrs: {} });
 * } catch (e) {
 *   message = (e as Error).message;
 * }
 * assert(message.includes("x.output"));
 * ```
 */
export function validateLayerDesc(layer: LayerDesc): void {
  if (typeof layer !== "object" || layer === null) {
    throw new TypeError(`layer description must be an object, got ${JSON.stringify(layer)}`);
  }
  if (typeof layer.name !== "string" || layer.name === "") {
    throw new TypeError(`layer description needs a non-empty name, got ${JSON.stringify(layer.name)}`);
  }
  const name = layer.name;
  if (typeof layer.op !== "string" || layer.op === "") {
    throw new TypeError(`${name}: op must be a non-empty string, got ${JSON.stringify(layer.op)}`);
  }
  if (!Array.isArray(layer.inputs)) throw new TypeError(`${name}: inputs must be an array`);
  const tensors: [TensorDesc, string][] = layer.inputs.map((t, i) => [t, `${name}.inputs[${i}]`]);
  tensors.push([layer.output, `${name}.output`]);
  for (const [t, where] of tensors) {
    if (typeof t !== "object" || t === null) throw new TypeError(`${where}: must be a tensor description`);
    checkShape(t.shape, where);
    if (!QDTYPES.includes(t.dtype)) {
      throw new TypeError(
        `${where}: unknown dtype ${JSON.stringify(t.dtype)}; expected one of ${QDTYPES.join(", ")}`,
      );
    }
    if (t.from !== undefined && typeof t.from !== "string") {
      throw new TypeError(`${where}: from must be a layer name`);
    }
  }
  const a = layer.attrs;
  if (typeof a !== "object" || a === null) throw new TypeError(`${name}: attrs must be an object`);
  checkPair(a.kernel, 1, `${name}.attrs.kernel`);
  checkPair(a.stride, 1, `${name}.attrs.stride`);
  checkPair(a.padding, 0, `${name}.attrs.padding`);
  checkPair(a.dilation, 1, `${name}.attrs.dilation`);
  for (const key of ["groups", "inFeatures", "outFeatures"] as const) {
    const v = a[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) {
      throw new TypeError(`${name}.attrs.${key}: expected a positive integer, got ${JSON.stringify(v)}`);
    }
  }
}

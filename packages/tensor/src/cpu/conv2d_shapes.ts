/**
 * Shape rules of 2-D convolution (NCHW, weights [Co, C / groups, kh, kw]): the geometry options,
 * the output size, and the checks that every convolution kernel runs first.
 * @module
 */

/** Stride, zero padding, dilation and groups of a 2-D convolution. */
export interface Conv2dGeometry {
  /** Step [sh, sw] between output positions. */
  readonly stride: readonly [number, number];
  /** Zero padding [ph, pw] on each side. */
  readonly padding: readonly [number, number];
  /** Spacing [dh, dw] between kernel taps. */
  readonly dilation: readonly [number, number];
  /** Channel groups; C and Co must both be multiples. */
  readonly groups: number;
}

/** Every size of one convolution, checked. */
export interface ConvDims {
  /** Images. */
  readonly n: number;
  /** Input channels, height, width. */
  readonly c: number;
  readonly h: number;
  readonly w: number;
  /** Output channels and kernel size. */
  readonly co: number;
  readonly kh: number;
  readonly kw: number;
  /** Output height and width. */
  readonly ho: number;
  readonly wo: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  readonly dh: number;
  readonly dw: number;
  readonly groups: number;
  /** Input and output channels per group. */
  readonly cg: number;
  readonly cog: number;
}

function checkDims4(shape: readonly number[], what: string, op: string): void {
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RangeError(`${op}: ${what} shape [${shape.join(",")}] must be 4 non-negative integers`);
  }
}

function checkPair(pair: readonly number[], what: string, min: number, op: string): void {
  if (pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v >= min)) {
    throw new RangeError(`${op}: ${what} [${pair.join(",")}] must be two integers >= ${min}`);
  }
}

/**
 * Checks a convolution of input `xShape` by weight `wShape` and returns all its sizes; throws a
 * RangeError naming the problem (channel mismatch, groups not dividing, empty output, ...).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { convDims } from "./conv2d_shapes.ts";
 * const geo = { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;
 * const d = convDims([1, 3, 32, 32], [32, 3, 3, 3], geo, "conv2d");
 * assert(d.ho === 16 && d.wo === 16);
 * ```
 */
export function convDims(
  xShape: readonly number[],
  wShape: readonly number[],
  geo: Conv2dGeometry,
  op: string,
): ConvDims {
  checkDims4(xShape, "input", op);
  checkDims4(wShape, "weight", op);
  checkPair(geo.stride, "stride", 1, op);
  checkPair(geo.padding, "padding", 0, op);
  checkPair(geo.dilation, "dilation", 1, op);
  const [n, c, h, w] = xShape;
  const [co, wc, kh, kw] = wShape;
  const groups = geo.groups;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new RangeError(`${op}: groups ${groups} must be a positive integer`);
  }
  if (c % groups !== 0) {
    throw new RangeError(
      `${op}: groups ${groups} does not divide the ${c} input channels of [${xShape.join(",")}]`,
    );
  }
  if (co % groups !== 0) {
    throw new RangeError(
      `${op}: groups ${groups} does not divide the ${co} output channels of weight [${wShape.join(",")}]`,
    );
  }
  if (wc !== c / groups) {
    throw new RangeError(
      `${op}: input [${xShape.join(",")}] has ${c} channels in ${groups} group(s), ${
        c / groups
      } per group, ` +
        `but weight [${wShape.join(",")}] expects ${wc} per group`,
    );
  }
  const [sh, sw] = geo.stride, [ph, pw] = geo.padding, [dh, dw] = geo.dilation;
  const ho = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const wo = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  if (kh < 1 || kw < 1 || ho < 1 || wo < 1) {
    throw new RangeError(
      `${op}: kernel ${kh}x${kw} (dilation ${dh}x${dw}) does not fit input ${h}x${w} with padding ${ph}x${pw}`,
    );
  }
  return { n, c, h, w, co, kh, kw, ho, wo, sh, sw, ph, pw, dh, dw, groups, cg: c / groups, cog: co / groups };
}

/**
 * The output shape [N, Co, Ho, Wo] of a convolution.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dOutputSize } from "./conv2d_shapes.ts";
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * assert(conv2dOutputSize([2, 3, 5, 5], [4, 3, 3, 3], geo).join() === "2,4,3,3");
 * ```
 */
export function conv2dOutputSize(
  xShape: readonly number[],
  wShape: readonly number[],
  geo: Conv2dGeometry,
): [number, number, number, number] {
  const d = convDims(xShape, wShape, geo, "conv2dOutputSize");
  return [d.n, d.co, d.ho, d.wo];
}

/**
 * Checks that `data` holds exactly the elements of `shape`.
 *
 * @example
 * ```ts
 * import { checkLength } from "./conv2d_shapes.ts";
 * checkLength(new Float32Array(6), [2, 3], "x", "conv2d");
 * ```
 */
export function checkLength(data: Float32Array, shape: readonly number[], what: string, op: string): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new RangeError(
      `${op}: ${what} has ${data.length} elements but its shape [${shape.join(",")}] needs ${size}`,
    );
  }
}

/**
 * Checks that a gradient's shape is the convolution's output shape.
 *
 * @example
 * ```ts
 * import { checkOutputShape, convDims } from "./conv2d_shapes.ts";
 * const geo = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } as const;
 * checkOutputShape([1, 2, 3, 3], convDims([1, 1, 3, 3], [2, 1, 1, 1], geo, "op"), "op");
 * ```
 */
export function checkOutputShape(dyShape: readonly number[], d: ConvDims, op: string): void {
  const want = [d.n, d.co, d.ho, d.wo];
  if (dyShape.length !== 4 || dyShape.some((v, i) => v !== want[i])) {
    throw new RangeError(
      `${op}: dy shape [${dyShape.join(",")}] should be the output shape [${want.join(",")}]`,
    );
  }
}

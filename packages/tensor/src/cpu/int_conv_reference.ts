/**
 * Plain-TypeScript integer convolution and linear accumulators (int8 / int16 activations, int8
 * weights, int32 sums with the bias): what the fast kernels compute, used where WebAssembly cannot run.
 * Every product and running sum is an exact integer below 2^53 before it is stored as int32.
 * @module
 */
import type { ConvDims } from "./conv2d_shapes.ts";

/**
 * acc[N, Co, Ho, Wo] = bias[o] + Σ x·w over each output's window (zero padding), for checked sizes `d`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intConv2dAccumulateReference } from "./int_conv_reference.ts";
 * import { convDims } from "./conv2d_shapes.ts";
 * const geo = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;
 * const d = convDims([1, 1, 2, 2], [1, 1, 2, 2], geo, "example");
 * const acc = intConv2dAccumulateReference(Int8Array.of(1, 2, 3, 4), Int8Array.of(1, 1, 1, 1), d);
 * assert(acc.length === 9 && acc[4] === 10 && acc[0] === 1);
 * ```
 */
export function intConv2dAccumulateReference(
  x: Int8Array | Int16Array,
  w: Int8Array,
  d: ConvDims,
  bias?: Int32Array,
): Int32Array {
  const { n: N, c: C, h: H, w: W, co: O, kh: KH, kw: KW, ho: OH, wo: OW, cg: Cg, cog: Og } = d;
  const { sh, sw, ph, pw, dh, dw } = d;
  const plane = OH * OW;
  const acc = new Int32Array(N * O * plane);
  const row = new Float64Array(OW);
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < O; oc++) {
      const g = Math.floor(oc / Og);
      for (let oh = 0; oh < OH; oh++) {
        row.fill(bias === undefined ? 0 : bias[oc]);
        for (let icg = 0; icg < Cg; icg++) {
          const xBase = (n * C + g * Cg + icg) * H * W;
          const wBase = (oc * Cg + icg) * KH * KW;
          for (let ky = 0; ky < KH; ky++) {
            const iy = oh * sh + ky * dh - ph;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < KW; kx++) {
              const wv = w[wBase + ky * KW + kx];
              if (wv === 0) continue;
              const dx = kx * dw - pw;
              const owLo = Math.max(0, Math.ceil(-dx / sw));
              const owHi = Math.min(OW, Math.floor((W - 1 - dx) / sw) + 1);
              const xRow = xBase + iy * W + dx;
              for (let ow = owLo; ow < owHi; ow++) row[ow] += wv * x[xRow + ow * sw];
            }
          }
        }
        acc.set(row, (n * O + oc) * plane + oh * OW);
      }
    }
  }
  return acc;
}

/**
 * acc[r, o] = bias[o] + Σ_k x[r, k] · w[o, k] for `rows` rows of `k` inputs and `o` outputs.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intLinearAccumulateReference } from "./int_conv_reference.ts";
 * const acc = intLinearAccumulateReference(Int8Array.of(1, 2, 3), Int8Array.of(1, 1, 1, -1, 0, 1), {
 *   rows: 1, k: 3, o: 2,
 * });
 * assert(acc.join() === "6,2");
 * ```
 */
export function intLinearAccumulateReference(
  x: Int8Array | Int16Array,
  w: Int8Array,
  dims: { rows: number; k: number; o: number },
  bias?: Int32Array,
): Int32Array {
  const { rows, k: K, o: O } = dims;
  const acc = new Int32Array(rows * O);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < O; o++) {
      let s = bias === undefined ? 0 : bias[o];
      for (let k = 0; k < K; k++) s += x[r * K + k] * w[o * K + k];
      acc[r * O + o] = s;
    }
  }
  return acc;
}

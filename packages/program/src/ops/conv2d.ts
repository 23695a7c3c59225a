/**
 * `conv2d`: the exact int32 accumulator `Σ x·w + bias` of a quantized 2-d convolution (int8 weights
 * per output channel, int8/int16 input), `[N, O, OH, OW]`, computed in row tiles of `tileRows` output
 * rows (the O3 tiling; each tile reads its input rows with the halo, rows outside the image are the
 * zero padding) — the same integers however it is tiled.
 * @module
 */

import { intConv2dAccumulate, qtensor } from "@hqat/qtensor";
import { convAccResident, intConv2dAccumulateFast } from "@hqat/tensor";
import type { Pair } from "../fields.ts";
import type { InstrBase, InstrDef } from "../instr.ts";
import type { Stage } from "../stage.ts";
import { asQTensor, innerOfAxis1, type IntValue } from "../value.ts";
import {
  accumulatorScale,
  activationInput,
  checkPairs,
  checkWeights,
  windowLabel,
  windowOut,
} from "./checks.ts";

/**
 * A `conv2d` instruction: weights `[O, C/g, kh, kw]` with one scale per output channel, an optional
 * int32 bias, the geometry, and the output rows per tile.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { Conv2dInstr } from "@hqat/program";
 * const c: Conv2dInstr = {
 *   op: "conv2d", name: "c", inputs: [0], output: 1, epilogue: [], weight: Int8Array.of(1), weightShape: [1, 1, 1, 1],
 *   weightScale: Float32Array.of(0.1), stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, tileRows: 4,
 * };
 * assert(c.weightShape[0] === 1);
 * ```
 */
export interface Conv2dInstr extends InstrBase {
  /** The kind. */
  readonly op: "conv2d";
  /** The int8 weights. */
  readonly weight: Int8Array;
  /** `[O, C/groups, kh, kw]`. */
  readonly weightShape: readonly [number, number, number, number];
  /** One scale per output channel. */
  readonly weightScale: Float32Array;
  /** The int32 bias, one per output channel. */
  readonly bias?: Int32Array;
  /** Stride `[sh, sw]`. */
  readonly stride: Pair;
  /** Zero padding per side `[ph, pw]`. */
  readonly padding: Pair;
  /** Dilation `[dh, dw]`. */
  readonly dilation: Pair;
  /** Groups. */
  readonly groups: number;
  /** Output rows per tile. */
  readonly tileRows: number;
}

type Accumulate = (x: IntValue, shape: readonly number[], padding: Pair) => Int32Array;

/** The accumulator of `i` on `x`, tile by tile when `tileRows` is below the output height. */
function tiled(i: Conv2dInstr, x: IntValue, acc: Accumulate): IntValue {
  const [n, c, h, wd] = x.shape, [o, , kh, kw] = i.weightShape;
  const [sh, sw] = i.stride, [ph, pw] = i.padding, [dh, dw] = i.dilation;
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const scale = accumulatorScale(x.scale[0], i.weightScale);
  const shape = [n, o, oh, ow];
  if (i.tileRows >= oh) return { data: acc(x, x.shape, i.padding), shape, dtype: "qint32", scale };
  const out = new Int32Array(n * o * oh * ow);
  for (let r0 = 0; r0 < oh; r0 += i.tileRows) {
    const r1 = Math.min(oh, r0 + i.tileRows);
    const lo = r0 * sh - ph, rows = (r1 - 1 - r0) * sh + (kh - 1) * dh + 1;
    const tile = new (x.data.constructor as Int8ArrayConstructor)(n * c * rows * wd);
    for (let p = 0; p < n * c; p++) {
      for (let r = 0; r < rows; r++) {
        const y = lo + r;
        if (y < 0 || y >= h) continue;
        tile.set(x.data.subarray((p * h + y) * wd, (p * h + y + 1) * wd), (p * rows + r) * wd);
      }
    }
    const part = acc({ ...x, data: tile }, [n, c, rows, wd], [0, pw]);
    for (let p = 0; p < n * o; p++) {
      out.set(part.subarray(p * (r1 - r0) * ow, (p + 1) * (r1 - r0) * ow), (p * oh + r0) * ow);
    }
  }
  return { data: out, shape, dtype: "qint32", scale };
}

const geometry = (i: Conv2dInstr, padding: Pair) => ({
  stride: i.stride,
  padding,
  dilation: i.dilation,
  groups: i.groups,
});

/** Whether a conv takes `stages`: an `add` only into a lone requantization, at stride 1×1 or 2×2. */
function acceptsStages(i: Conv2dInstr, stages: readonly Stage[]): boolean {
  if (!stages.some((s) => s.kind === "add")) return true;
  const last = i.epilogue[0];
  const [sh, sw] = i.stride;
  return i.epilogue.length === 1 && last.kind === "requant" && last.act === "none" &&
    last.dtype !== "qint32" &&
    sh === sw && (sh === 1 || sh === 2);
}

/**
 * The table entry of `conv2d`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { CONV2D } from "@hqat/program";
 * assert(CONV2D.code === 1 && CONV2D.arity.join() === "1,1");
 * ```
 */
export const CONV2D: InstrDef<Conv2dInstr> = {
  code: 1,
  arity: [1, 1],
  encode: (i, w) => {
    for (const d of i.weightShape) w.u32(d);
    w.ref(i.weight);
    w.ref(i.weightScale);
    w.ref(i.bias);
    w.pair(i.stride);
    w.pair(i.padding);
    w.pair(i.dilation);
    w.u32(i.groups);
    w.u32(i.tileRows);
  },
  decode: (r, base, where) => {
    const weightShape = [0, 1, 2, 3].map(() =>
      r.u32(`the weight shape of ${where}`)
    ) as unknown as Conv2dInstr[
      "weightShape"
    ];
    const weight = r.i8s(`the weights of ${where}`), weightScale = r.f32s(`the weight scales of ${where}`);
    const b = r.i32s(`the bias of ${where}`);
    return {
      ...base,
      weightShape,
      weight,
      weightScale,
      ...(b.length > 0 ? { bias: b } : {}),
      stride: r.pair(`the stride of ${where}`),
      padding: r.pair(`the padding of ${where}`),
      dilation: r.pair(`the dilation of ${where}`),
      groups: r.u32(`the groups of ${where}`),
      tileRows: r.u32(`the rows per tile of ${where}`),
    };
  },
  infer: (i, [x], ctx) => {
    activationInput(ctx, x, "the input");
    const [o, cg, kh, kw] = i.weightShape, g = i.groups, c = x.shape[1];
    checkPairs(ctx, [i.stride, 1, "stride"], [i.padding, 0, "padding"], [i.dilation, 1, "dilation"], [
      [kh, kw],
      1,
      "kernel",
    ]);
    if (!(g >= 1) || c % g !== 0 || o % g !== 0 || c / g !== cg) {
      ctx.fail(`${ctx.where}: ${c} channels, weight [${i.weightShape}] and ${g} groups do not fit`);
    }
    checkWeights(ctx, i, x);
    const [oh, ow] = windowOut(ctx, x, { kernel: [kh, kw], ...geometry(i, i.padding) });
    if (!(i.tileRows >= 1 && i.tileRows <= oh)) {
      ctx.fail(`${ctx.where}: ${i.tileRows} rows per tile for ${oh} output rows`);
    }
    return {
      dtype: "qint32",
      shape: [x.shape[0], o, oh, ow],
      scale: accumulatorScale(x.scale[0], i.weightScale),
    };
  },
  cpu: (i, [x]) =>
    tiled(i, x, (v, shape, padding) =>
      intConv2dAccumulateFast(
        v.data as Int8Array | Int16Array,
        shape,
        i.weight,
        i.weightShape,
        geometry(i, padding),
        i.bias,
      )),
  reference: (i, [x]) =>
    tiled(i, x, (v, shape, padding) => {
      const w = qtensor(i.weight, { shape: i.weightShape, scale: i.weightScale, axis: 0, dtype: "qint8" });
      return intConv2dAccumulate(asQTensor({ ...v, shape }), w, {
        ...geometry(i, padding),
        quantizedBias: i.bias,
      })
        .data;
    }),
  gpu: (i, ctx) => {
    const weight = ctx.u.up(i.weight, i.weightShape);
    const bias = i.bias && ctx.u.up(i.bias, [i.bias.length]);
    // Row tiles bound the BPU's feature memory; every output row is the same integer whether its tile is
    // accumulated alone or with the others, so the device runs the convolution whole.
    return (dev, [x]) => {
      const t = convAccResident(dev, x, { weight, geometry: geometry(i, i.padding) });
      return { t, bias: bias && { tensor: bias, inner: innerOfAxis1(t.shape) } };
    };
  },
  layer: (i) => ({
    op: "conv2d",
    attrs: {
      kernel: [i.weightShape[2], i.weightShape[3]],
      stride: [...i.stride],
      padding: [...i.padding],
      dilation: [...i.dilation],
      groups: i.groups,
      paddingMode: "zeros",
    },
  }),
  cost: (i, { out }) => {
    const [o, cg, kh, kw] = i.weightShape;
    return {
      gemm: { m: out.shape[2] * out.shape[3], n: Math.ceil(o / i.groups), k: cg * kh * kw, groups: i.groups },
    };
  },
  label: (i) =>
    [
      "conv2d",
      windowLabel({ kernel: [i.weightShape[2], i.weightShape[3]], ...geometry(i, i.padding) }),
      ...(i.groups > 1 ? [`g${i.groups}`] : []),
    ]
      .join(" "),
  accepts: acceptsStages,
};

/**
 * `resize`: the spatial resize of NCHW integers with the float `resize`'s coordinate rule (ONNX Resize's
 * coordinate transformations and nearest roundings, `@hqat/tensor`'s `resizeTaps`). Nearest: the cells
 * the float resize reads, moved (dtype and scale kept). Linear: fixed-point weights of 8 bits per axis
 * (`resizeWeight` of the float weight) into an exact int32 accumulator of scale `sx / 2^16`, which the
 * epilogue requantizes (hqat choice).
 * @module
 */

import {
  fixedPointTaps,
  intResizeLinear,
  type QArray,
  RESIZE_WEIGHT_BITS,
  resizeNearestIndex,
} from "@hqat/qtensor";
import {
  type CoordinateTransformation,
  type NearestMode,
  packTaps,
  resizeLinearResident,
  type ResizeTaps,
  resizeTaps,
} from "@hqat/tensor";
import type { Pair } from "../fields.ts";
import type { InstrBase, InstrDef } from "../instr.ts";
import type { ValueInfo } from "../value.ts";
import { activationInput, checkPairs, integerInput, MAX_GEOMETRY, perFrame } from "./checks.ts";
import { cpuMove, gpuMove } from "./moves.ts";

/**
 * A `resize` instruction: the output size and the float `resize`'s rule (with ONNX's `scales` where the
 * model gives them; float32 values).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { ResizeInstr } from "@hqat/program";
 * const r: ResizeInstr = {
 *   op: "resize", name: "up", inputs: [0], output: 1, epilogue: [], size: [16, 16], mode: "nearest",
 *   coordinateTransformation: "asymmetric", nearestMode: "floor",
 * };
 * assert(r.size[0] === 16);
 * ```
 */
export interface ResizeInstr extends InstrBase {
  /** The kind. */
  readonly op: "resize";
  /** Output size `[oh, ow]`. */
  readonly size: Pair;
  /** Nearest neighbour or bilinear. */
  readonly mode: "nearest" | "linear";
  /** How an output coordinate maps to an input coordinate. */
  readonly coordinateTransformation: CoordinateTransformation;
  /** How nearest rounds the input coordinate (ignored by linear). */
  readonly nearestMode: NearestMode;
  /** ONNX `scales` `[sh, sw]` the coordinate rule divides by, when the model gives scales (float32). */
  readonly scales?: Pair;
}

const MODES = ["nearest", "linear"] as const;
const TRANSFORMS: readonly CoordinateTransformation[] = [
  "half_pixel",
  "pytorch_half_pixel",
  "align_corners",
  "asymmetric",
];
const ROUNDINGS: readonly NearestMode[] = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];
const DIVISOR = 2 ** (2 * RESIZE_WEIGHT_BITS);

const attrsOf = (i: ResizeInstr) => ({
  size: i.size,
  mode: i.mode,
  coordinateTransformation: i.coordinateTransformation,
  nearestMode: i.nearestMode,
  scales: i.scales ?? null,
});
const taps = (i: ResizeInstr, frame: readonly number[]): ResizeTaps => resizeTaps(frame, attrsOf(i));
const nearest = (i: ResizeInstr) => (frame: number[]) => {
  const t = taps(i, frame), [, c, h, w] = frame;
  return { index: resizeNearestIndex([c, h, w], t.h.i0, t.w.i0), shape: [1, c, ...i.size] };
};

/**
 * Whether a nearest resize of `[h, w]` reads the cells of centre alignment (`half_pixel` +
 * `round_prefer_ceil`: output `o` reads `floor((o + ½) · in / out)`), as Horizon's BPU resizes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { centreAligned } from "@hqat/program";
 * const r = { size: [8, 8], mode: "nearest", coordinateTransformation: "asymmetric", nearestMode: "floor" } as const;
 * assert(centreAligned(r, [4, 4]) && !centreAligned({ ...r, size: [2, 2] }, [4, 4]));
 * ```
 */
export function centreAligned(
  i: Pick<ResizeInstr, "size" | "mode" | "coordinateTransformation" | "nearestMode" | "scales">,
  hw: readonly [number, number],
): boolean {
  const frame = [1, 1, hw[0], hw[1]];
  const own = resizeTaps(frame, { ...i, mode: "nearest", scales: i.scales ?? null });
  const centre = resizeTaps(frame, {
    ...i,
    mode: "nearest",
    coordinateTransformation: "half_pixel",
    nearestMode: "round_prefer_ceil",
    scales: null,
  });
  const same = (a: Int32Array, b: Int32Array) => a.every((v, k) => v === b[k]);
  return same(own.h.i0, centre.h.i0) && same(own.w.i0, centre.w.i0);
}

/**
 * The table entry of `resize`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { RESIZE } from "@hqat/program";
 * assert(RESIZE.code === 16 && RESIZE.arity.join() === "1,1");
 * ```
 */
export const RESIZE: InstrDef<ResizeInstr> = {
  code: 16,
  arity: [1, 1],
  encode: (i, w) => {
    w.pair(i.size);
    w.u8(MODES.indexOf(i.mode));
    w.u8(TRANSFORMS.indexOf(i.coordinateTransformation));
    w.u8(ROUNDINGS.indexOf(i.nearestMode));
    w.u8(i.scales ? 1 : 0);
    w.f32(i.scales?.[0] ?? 0);
    w.f32(i.scales?.[1] ?? 0);
  },
  decode: (r, base, where) => {
    const size = r.pair(`the size of ${where}`);
    const codes = [0, 1, 2, 3].map(() => r.u8(`the rule of ${where}`));
    const scales: Pair = [r.f32(`the scales of ${where}`), r.f32(`the scales of ${where}`)];
    if (
      codes[0] >= MODES.length || codes[1] >= TRANSFORMS.length || codes[2] >= ROUNDINGS.length ||
      codes[3] > 1
    ) {
      r.fail(`the rule of ${where} has unknown codes ${codes}`);
    }
    return {
      ...base,
      size,
      mode: MODES[codes[0]],
      coordinateTransformation: TRANSFORMS[codes[1]],
      nearestMode: ROUNDINGS[codes[2]],
      ...(codes[3] ? { scales } : {}),
    };
  },
  infer: (i, [x], ctx): ValueInfo => {
    if (i.mode === "linear") activationInput(ctx, x, "the input");
    else integerInput(ctx, x, "the input");
    if (x.shape.length !== 4) ctx.fail(`${ctx.where}: the input [${x.shape}] is not 4-d`);
    checkPairs(ctx, [i.size, 1, "size"]);
    if (!MODES.includes(i.mode) || !TRANSFORMS.includes(i.coordinateTransformation)) {
      ctx.fail(`${ctx.where}: unknown mode "${i.mode}" or coordinate rule "${i.coordinateTransformation}"`);
    }
    if (!ROUNDINGS.includes(i.nearestMode)) ctx.fail(`${ctx.where}: unknown nearest mode "${i.nearestMode}"`);
    if (i.scales && !i.scales.every((s) => s > 0 && s < MAX_GEOMETRY && Math.fround(s) === s)) {
      ctx.fail(`${ctx.where}: scales [${i.scales}] are not positive float32 values below ${MAX_GEOMETRY}`);
    }
    const shape = [x.shape[0], x.shape[1], i.size[0], i.size[1]];
    if (i.mode === "nearest") return { ...x, shape };
    return { dtype: "qint32", shape, scale: x.scale.map((s) => s / DIVISOR) };
  },
  cpu: (i, [x]) => {
    if (i.mode === "nearest") return cpuMove(i, x, nearest(i));
    const t = taps(i, x.shape);
    return {
      data: intResizeLinear(x.data as QArray, x.shape, fixedPointTaps(t.h), fixedPointTaps(t.w)),
      shape: [x.shape[0], x.shape[1], i.size[0], i.size[1]],
      dtype: "qint32",
      scale: x.scale.map((s) => s / DIVISOR),
    };
  },
  gpu: (i, ctx) => {
    if (i.mode === "nearest") return gpuMove(i, ctx, nearest(i));
    const t = taps(i, ctx.ins[0].shape);
    const rows = ctx.u.up(packTaps(fixedPointTaps(t.h)), [3 * i.size[0]]);
    const cols = ctx.u.up(packTaps(fixedPointTaps(t.w)), [3 * i.size[1]]);
    return (dev, [x]) => ({ t: resizeLinearResident(dev, x, { rows, cols }) });
  },
  layer: (i, { ins }) => ({
    op: "interpolate",
    attrs: {
      resizeMode: i.mode,
      ...(i.mode === "nearest"
        ? { centreAligned: centreAligned(i, [ins[0].shape[2], ins[0].shape[3]]) }
        : {}),
    },
  }),
  cost: (i, { out }) => ({ vector: { elements: perFrame(out.shape), work: i.mode === "nearest" ? 1 : 4 } }),
  label: (i) => `resize ${i.mode} ${i.size[0]}×${i.size[1]} ${i.coordinateTransformation}`,
};

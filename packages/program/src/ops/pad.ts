/**
 * `pad`: padding by `pads[i] = [before, after]` cells per axis (negative values crop, as ONNX Pad), in
 * `constant` mode (the integer `value`), `edge` (the border cell repeated) or `reflect` (mirrored without
 * the border), on integers of any dtype; dtype and scale are kept. The batch axis is not padded.
 * @module
 */

import { type PadFill, padIndex, padOutShape, QDTYPE_RANGES } from "@hqat/qtensor";
import type { InstrBase, InstrDef } from "../instr.ts";
import { perFrame } from "./checks.ts";
import { checkMove, cpuMove, gpuMove, readInts, writeInts } from "./moves.ts";

/**
 * A `pad` instruction: per axis `[before, after]`, the mode, and the fill of constant mode.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { PadInstr } from "@hqat/program";
 * const p: PadInstr = { op: "pad", name: "p", inputs: [0], output: 1, epilogue: [], pads: [[0, 0], [0, 0], [1, 1], [1, 1]], mode: "reflect", value: 0 };
 * assert(p.mode === "reflect");
 * ```
 */
export interface PadInstr extends InstrBase {
  /** The kind. */
  readonly op: "pad";
  /** Per axis `[before, after]` (negative crops). */
  readonly pads: readonly (readonly [number, number])[];
  /** How the new cells are filled. */
  readonly mode: PadFill;
  /** The integer fill of constant mode (on the output's grid). */
  readonly value: number;
}

const MODES: readonly PadFill[] = ["constant", "edge", "reflect"];
const MAX_PAD = 1 << 24;
const frame = (i: PadInstr) => [[0, 0] as const, ...i.pads.slice(1)];

/**
 * The table entry of `pad`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { PAD } from "@hqat/program";
 * assert(PAD.code === 15 && PAD.arity.join() === "1,1");
 * ```
 */
export const PAD: InstrDef<PadInstr> = {
  code: 15,
  arity: [1, 1],
  encode: (i, w) => {
    w.u8(MODES.indexOf(i.mode));
    w.u8(0);
    w.u16(0);
    w.i32(i.value);
    writeInts(w, i.pads.flat());
  },
  decode: (r, base, where) => {
    const m = r.u8(`the mode of ${where}`);
    r.u8(where);
    r.u16(where);
    if (m >= MODES.length) r.fail(`the mode of ${where} has unknown code ${m}`);
    const value = r.i32(`the fill of ${where}`), flat = readInts(r, `the pads of ${where}`);
    if (flat.length % 2 !== 0) r.fail(`the pads of ${where} are ${flat.length} values, not pairs`);
    const pads = Array.from({ length: flat.length / 2 }, (_, a) => [flat[2 * a], flat[2 * a + 1]] as const);
    return { ...base, mode: MODES[m], value, pads };
  },
  infer: (i, [x], ctx) => {
    const flat = i.pads.flat();
    checkMove(ctx, x, i.pads.length, {
      batchKept: flat[0] === 0 && flat[1] === 0,
      channelsKept: x.shape.length < 2 || (flat[2] === 0 && flat[3] === 0),
    });
    if (!MODES.includes(i.mode)) ctx.fail(`${ctx.where}: unknown padding mode "${i.mode}"`);
    if (flat.some((p) => !Number.isInteger(p) || Math.abs(p) > MAX_PAD)) {
      ctx.fail(`${ctx.where}: pads [${flat}] are not integers within ±${MAX_PAD}`);
    }
    const r = QDTYPE_RANGES[x.dtype as "qint8"];
    if (!(Number.isInteger(i.value) && i.value >= r.qmin && i.value <= r.qmax)) {
      ctx.fail(`${ctx.where}: the fill ${i.value} is not a ${x.dtype} integer`);
    }
    let shape: number[] = [];
    try {
      shape = padOutShape(x.shape, i.pads, i.mode);
    } catch (e) {
      ctx.fail(`${ctx.where}: ${(e as Error).message}`);
    }
    return { ...x, shape };
  },
  cpu: (i, [x]) => cpuMove(i, x, (f) => padIndex(f, frame(i), i.mode), i.value),
  gpu: (i, ctx) => gpuMove(i, ctx, (f) => padIndex(f, frame(i), i.mode), i.value),
  layer: (i) => ({
    op: "pad",
    attrs: { paddingMode: i.mode === "edge" ? "replicate" : i.mode === "reflect" ? "reflect" : "zeros" },
  }),
  cost: (_i, { out }) => ({ vector: { elements: perFrame(out.shape), work: 1 } }),
  label: (i) => `pad ${i.mode} ${i.pads.slice(1).map((p) => p.join(",")).join(" ")}`,
};

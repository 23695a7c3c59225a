/**
 * The semantic checks of a loaded program: buffers consistent with their shapes and inside the
 * arena, every instruction's operands valid buffers written before it, shapes and dtypes
 * re-derived op by op, parameters of the right length and range, and no two buffers that are live
 * at once sharing arena bytes. A program that passes runs without any exception from the kernels.
 * @module
 */

import { checkAccumulator, MAX_MANTISSA, MAX_SHIFT, QDTYPE_RANGES } from "@hqat/qtensor";
import type { BufferDtype, HbmProgram, Instr, Pair, Requant, Stage } from "./hbm_program.ts";
import { bufferDtypeBytes } from "./hbm_program.ts";
import { ARENA_ALIGNMENT, lifetimes, overlaps } from "./memory_plan.ts";

/**
 * The largest arena a program may ask for (2 GiB).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { MAX_ARENA_BYTES } from "@hqat/hbdk";
 * assert(MAX_ARENA_BYTES === 2 ** 31);
 * ```
 */
export const MAX_ARENA_BYTES = 2 ** 31;
const MAX_DIM = 65535;

interface Value {
  dtype: BufferDtype;
  shape: readonly number[];
  scale?: Float32Array;
}

const isInt = (d: BufferDtype) => d !== "float32";
const isAct = (d: BufferDtype) => d === "qint8" || d === "qint16";
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);
const goodScales = (s: Float32Array) => s.length > 0 && s.every((v) => v > 0 && v < Infinity);

/**
 * Checks `program` (see the module description); `fail` raises the error, with the problem as its
 * message. `loadHbm` calls this on every file.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { verifyProgram } from "@hqat/hbdk";
 * let problem = "";
 * try {
 *   verifyProgram({ name: "x", march: "bayes", opt: "O0", inputSource: "ddr", inputShape: [1, 2], buffers: [],
 *     arenaBytes: 0, instructions: [], output: 0 }, { fail: (m) => { throw new Error(m); } });
 * } catch (e) { problem = (e as Error).message; }
 * assert(problem === "the output buffer 0 does not exist (0 buffers)");
 * ```
 */
export function verifyProgram(
  program: HbmProgram,
  options: { readonly fail: (message: string) => never },
): void {
  const { fail } = options;
  const { buffers, inputShape, instructions } = program;
  if (!inputShape.every((d) => d >= 1 && d <= 1 << 24) || size(inputShape) > MAX_ARENA_BYTES) {
    fail(`the input shape [${inputShape}] is empty or too large`);
  }
  const batch = inputShape[0];
  if (program.arenaBytes > MAX_ARENA_BYTES) {
    fail(`the arena of ${program.arenaBytes} bytes exceeds ${MAX_ARENA_BYTES}`);
  }
  let extent = 0;
  buffers.forEach((b, i) => {
    const what = `buffer ${i} ("${b.name}")`;
    if (!b.shape.every((d) => d >= 1 && d <= 1 << 24) || b.shape[0] !== batch) {
      fail(`${what} has shape [${b.shape}]; dimensions must be positive and dimension 0 the batch ${batch}`);
    }
    const elements = size(b.shape);
    if (elements > MAX_ARENA_BYTES || elements * bufferDtypeBytes(b.dtype) !== b.bytes) {
      fail(
        `${what} is ${b.bytes} bytes, but [${b.shape}] ${b.dtype} needs ${
          elements * bufferDtypeBytes(b.dtype)
        }`,
      );
    }
    if (b.offset % ARENA_ALIGNMENT !== 0 || b.offset + b.bytes > program.arenaBytes) {
      fail(
        `${what} (${b.bytes} bytes at ${b.offset}) is not aligned or lies outside the ${program.arenaBytes}-byte arena`,
      );
    }
    if (!goodScales(b.scale) || (b.scale.length !== 1 && b.scale.length !== b.shape[1])) {
      fail(`${what} has ${b.scale.length} scales (need 1 or one per channel, positive and finite)`);
    }
    extent = Math.max(extent, Math.ceil((b.offset + b.bytes) / ARENA_ALIGNMENT) * ARENA_ALIGNMENT);
  });
  if (extent !== program.arenaBytes) {
    fail(`the arena is ${program.arenaBytes} bytes but the buffers end at ${extent}`);
  }
  if (program.output >= buffers.length) {
    fail(`the output buffer ${program.output} does not exist (${buffers.length} buffers)`);
  }
  if (buffers[program.output].dtype !== "float32") fail(`the output buffer ${program.output} is not float32`);

  const written = new Array<boolean>(buffers.length).fill(false);
  let quantizes = 0, dequantizes = 0;
  const readable = (id: number, where: string) => {
    if (id >= buffers.length) {
      fail(`${where} reads buffer ${id}, which does not exist (${buffers.length} buffers)`);
    }
    if (!written[id]) fail(`${where} reads buffer ${id} before any instruction writes it`);
    if (buffers[id].dtype === "float32") fail(`${where} reads the float32 output buffer ${id}`);
    return buffers[id];
  };
  instructions.forEach((instr, i) => {
    const where = `instruction ${i} (${instr.op} "${instr.name}")`;
    const ins = instr.inputs.map((id) => readable(id, where));
    if (instr.output >= buffers.length) fail(`${where} writes buffer ${instr.output}, which does not exist`);
    if (written[instr.output]) {
      fail(`${where} writes buffer ${instr.output}, which an earlier instruction wrote`);
    }
    const out = buffers[instr.output];
    let v = mainValue(instr, ins as Value[], { where, fail, inputShape, outDtype: out.dtype });
    if (instr.op === "quantize") quantizes++;
    if (instr.op === "dequantize") {
      dequantizes++;
      if (instr.output !== program.output) fail(`${where} does not write the output buffer`);
      if (instr.epilogue.length > 0) fail(`${where} has an epilogue`);
    } else if (out.dtype === "float32") fail(`${where} writes the float32 output buffer`);
    instr.epilogue.forEach((s, k) => {
      v = stageValue(s, v, {
        where: `stage ${k} of ${where}`,
        fail,
        addend: s.kind === "add" ? readable(s.addend, where) : undefined,
      });
    });
    const reshapes = instr.op === "move" || instr.op === "dequantize";
    if (v.dtype !== out.dtype || !(reshapes ? size(v.shape) === size(out.shape) : same(v.shape, out.shape))) {
      fail(
        `${where} computes [${v.shape}] ${v.dtype} but its output buffer ${instr.output} is [${out.shape}] ${out.dtype}`,
      );
    }
    if (
      v.scale && v.dtype !== "float32" &&
      (v.scale.length !== out.scale.length || v.scale.some((s, c) => s !== out.scale[c]))
    ) {
      fail(
        `${where} computes scale [${v.scale.slice(0, 4)}] but its output buffer has [${
          out.scale.slice(0, 4)
        }]`,
      );
    }
    written[instr.output] = true;
  });
  if (quantizes !== 1 || dequantizes !== 1) {
    fail(`the program needs one quantize and one dequantize, has ${quantizes} and ${dequantizes}`);
  }
  const unwritten = written.indexOf(false);
  if (unwritten >= 0) fail(`buffer ${unwritten} is never written`);
  const raw = instructions.find((x) => x.op === "dequantize")!.inputs[0];
  const life = lifetimes(instructions, { bufferCount: buffers.length, live: [program.output, raw] });
  const order = buffers.map((_, i) => i).sort((a, b) => buffers[a].offset - buffers[b].offset);
  for (let x = 0; x < order.length; x++) {
    const a = order[x], end = buffers[a].offset + buffers[a].bytes;
    for (let y = x + 1; y < order.length && buffers[order[y]].offset < end; y++) {
      if (overlaps(life[a], life[order[y]])) {
        fail(`buffers ${a} and ${order[y]} share arena bytes while both are live`);
      }
    }
  }
}

interface Ctx {
  readonly where: string;
  readonly fail: (message: string) => never;
}

function pairs(ctx: Ctx, ...ps: [Pair, number, string][]): void {
  for (const [p, min, what] of ps) {
    if (!p.every((d) => d >= min && d <= MAX_DIM)) {
      ctx.fail(`${ctx.where}: ${what} [${p}] is not in ${min}..${MAX_DIM}`);
    }
  }
}

function window(ctx: Ctx, x: Value, k: Pair, s: Pair, p: Pair, d: Pair): [number, number] {
  if (x.shape.length !== 4) ctx.fail(`${ctx.where}: the input [${x.shape}] is not 4-d`);
  const dims = [0, 1].map((a) => Math.floor((x.shape[2 + a] + 2 * p[a] - d[a] * (k[a] - 1) - 1) / s[a]) + 1);
  if (dims[0] < 1 || dims[1] < 1) {
    ctx.fail(`${ctx.where}: a ${k[0]}×${k[1]} window does not fit the input [${x.shape}]`);
  }
  return [dims[0], dims[1]];
}

function actInput(ctx: Ctx, x: Value, what: string): void {
  if (!isAct(x.dtype) || x.scale?.length !== 1) {
    ctx.fail(`${ctx.where}: ${what} must be qint8/qint16 with one scale`);
  }
}

function layer(ctx: Ctx, instr: Extract<Instr, { op: "conv2d" | "linear" }>, x: Value, o: number): void {
  const count = instr.weightShape.reduce((a, b) => a * b, 1);
  if (instr.weightShape.some((d) => d < 1 || d > 1 << 24) || count !== instr.weight.length) {
    ctx.fail(
      `${ctx.where}: weight shape [${instr.weightShape}] does not match its ${instr.weight.length} weights`,
    );
  }
  if (instr.weightScale.length !== o || !goodScales(instr.weightScale)) {
    ctx.fail(`${ctx.where}: needs ${o} positive weight scales`);
  }
  if (instr.bias !== undefined && instr.bias.length !== o) {
    ctx.fail(`${ctx.where}: ${instr.bias.length} biases for ${o} channels`);
  }
  try {
    checkAccumulator(instr.weight, {
      channels: o,
      bias: instr.bias,
      inputRange: QDTYPE_RANGES[x.dtype as "qint8"],
    });
  } catch (e) {
    ctx.fail(`${ctx.where}: ${(e as Error).message}`);
  }
}

function mainValue(
  instr: Instr,
  ins: Value[],
  ctx: Ctx & { inputShape: readonly number[]; outDtype: BufferDtype },
): Value {
  const arity: Record<Instr["op"], number> = {
    quantize: 0,
    conv2d: 1,
    linear: 1,
    add: 2,
    avg_pool2d: 1,
    max_pool2d: 1,
    cat: -1,
    move: 1,
    dequantize: 1,
  };
  const want = arity[instr.op];
  if (want >= 0 ? ins.length !== want : ins.length < 1) {
    ctx.fail(`${ctx.where}: takes ${want} inputs, has ${ins.length}`);
  }
  const [x] = ins;
  switch (instr.op) {
    case "quantize":
      if (!(instr.scale > 0 && instr.scale < Infinity)) {
        ctx.fail(`${ctx.where}: scale ${instr.scale} is not positive and finite`);
      }
      if (!isAct(ctx.outDtype)) ctx.fail(`${ctx.where}: quantizes to ${ctx.outDtype}, not qint8/qint16`);
      return { dtype: ctx.outDtype, shape: ctx.inputShape, scale: Float32Array.of(instr.scale) };
    case "conv2d": {
      actInput(ctx, x, "the input");
      const [o, cg, kh, kw] = instr.weightShape, g = instr.groups, c = x.shape[1];
      pairs(
        ctx,
        [instr.stride, 1, "stride"],
        [instr.padding, 0, "padding"],
        [instr.dilation, 1, "dilation"],
        [[kh, kw], 1, "kernel"],
      );
      if (g < 1 || c % g !== 0 || o % g !== 0 || c / g !== cg) {
        ctx.fail(`${ctx.where}: ${c} channels, weight [${instr.weightShape}] and ${g} groups do not fit`);
      }
      layer(ctx, instr, x, o);
      const [oh, ow] = window(ctx, x, [kh, kw], instr.stride, instr.padding, instr.dilation);
      if (instr.tileRows < 1 || instr.tileRows > oh) {
        ctx.fail(`${ctx.where}: ${instr.tileRows} rows per tile for ${oh} output rows`);
      }
      return { dtype: "qint32", shape: [x.shape[0], o, oh, ow] };
    }
    case "linear": {
      actInput(ctx, x, "the input");
      const [o, k] = instr.weightShape;
      if (size(x.shape) / x.shape[0] !== k) {
        ctx.fail(`${ctx.where}: the input [${x.shape}] does not hold ${k} features per frame`);
      }
      layer(ctx, instr, x, o);
      return { dtype: "qint32", shape: [x.shape[0], o] };
    }
    case "add": {
      const [a, b] = ins;
      actInput(ctx, a, "operand 0");
      actInput(ctx, b, "operand 1");
      if (!same(a.shape, b.shape)) ctx.fail(`${ctx.where}: shapes [${a.shape}] and [${b.shape}] differ`);
      addRule(ctx, instr.shiftSecond ? b : a, instr.shiftSecond ? a : b, instr);
      return { dtype: "qint32", shape: a.shape };
    }
    case "avg_pool2d":
    case "max_pool2d": {
      if (instr.op === "avg_pool2d") actInput(ctx, x, "the input");
      else if (!isInt(x.dtype)) ctx.fail(`${ctx.where}: the input is not an integer buffer`);
      pairs(ctx, [instr.kernel, 1, "kernel"], [instr.stride, 1, "stride"], [instr.padding, 0, "padding"]);
      if (2 * instr.padding[0] > instr.kernel[0] || 2 * instr.padding[1] > instr.kernel[1]) {
        ctx.fail(`${ctx.where}: padding [${instr.padding}] exceeds half the kernel [${instr.kernel}]`);
      }
      const [oh, ow] = window(ctx, x, instr.kernel, instr.stride, instr.padding, [1, 1]);
      const shape = [x.shape[0], x.shape[1], oh, ow];
      return instr.op === "avg_pool2d"
        ? { dtype: "qint32", shape }
        : { dtype: x.dtype, shape, scale: x.scale };
    }
    case "cat": {
      const rank = x.shape.length;
      if (instr.axis >= rank) ctx.fail(`${ctx.where}: axis ${instr.axis} is out of range for rank ${rank}`);
      const shape = [...x.shape];
      shape[instr.axis] = 0;
      ins.forEach((t, i) => {
        if (
          !isInt(t.dtype) || t.shape.length !== rank ||
          t.shape.some((d, j) => j !== instr.axis && d !== x.shape[j])
        ) {
          ctx.fail(
            `${ctx.where}: input ${i} [${t.shape}] does not match [${x.shape}] off axis ${instr.axis}`,
          );
        }
        shape[instr.axis] += t.shape[instr.axis];
        const r = instr.requants[i];
        requantCheck(ctx, r, t);
        if (
          !isAct(r.dtype) || r.act !== "none" || r.scale.length !== 1 ||
          r.dtype !== instr.requants[0].dtype || r.scale[0] !== instr.requants[0].scale[0]
        ) {
          ctx.fail(
            `${ctx.where}: requantization ${i} must give the one qint8/qint16 output scale, without activation`,
          );
        }
      });
      return { dtype: instr.requants[0].dtype, shape, scale: instr.requants[0].scale };
    }
    case "move":
      return x;
    case "dequantize":
      if (!isInt(x.dtype)) ctx.fail(`${ctx.where}: the input is not an integer buffer`);
      return { dtype: "float32", shape: x.shape };
  }
}

function addRule(ctx: Ctx, shifted: Value, other: Value, r: { k: number; t: number }): void {
  if (!(shifted.scale![0] >= other.scale![0])) {
    ctx.fail(`${ctx.where}: the shifted operand must have the larger scale`);
  }
  const kMax = shifted.dtype === "qint8" ? 23 : 15;
  if (r.k > kMax || Math.abs(r.t) > 32767) {
    ctx.fail(`${ctx.where}: k ${r.k} or t ${r.t} is out of range (k ≤ ${kMax}, |t| ≤ 32767)`);
  }
}

function requantCheck(ctx: Ctx, r: Requant, v: Value): void {
  const channels = v.shape.length >= 2 ? v.shape[1] : 1;
  const m = r.M.length;
  if (
    m !== r.n.length || (m !== 1 && m !== channels) || (v.scale && v.scale.length > 1 && m !== v.scale.length)
  ) {
    ctx.fail(`${ctx.where}: ${m} multipliers and ${r.n.length} shifts for ${channels} channels`);
  }
  if (!r.M.every((x) => x >= 0 && x <= MAX_MANTISSA) || !r.n.every((x) => x <= MAX_SHIFT)) {
    ctx.fail(`${ctx.where}: a multiplier is outside [0, ${MAX_MANTISSA}] or a shift above ${MAX_SHIFT}`);
  }
  if (!goodScales(r.scale) || (r.scale.length !== 1 && (r.dtype !== "qint32" || r.scale.length !== m))) {
    ctx.fail(
      `${ctx.where}: ${r.scale.length} output scales (need positive values: one, or one per multiplier for qint32)`,
    );
  }
}

function stageValue(s: Stage, v: Value, ctx: Ctx & { addend?: Value }): Value {
  if (!isInt(v.dtype)) ctx.fail(`${ctx.where}: follows a float32 value`);
  switch (s.kind) {
    case "requant":
      requantCheck(ctx, s, v);
      return { dtype: s.dtype, shape: v.shape, scale: s.scale };
    case "add": {
      const a = ctx.addend!;
      actInput(ctx, v, "the value");
      actInput(ctx, a, "the addend");
      if (!same(a.shape, v.shape)) {
        ctx.fail(`${ctx.where}: the addend [${a.shape}] does not match the value [${v.shape}]`);
      }
      addRule(ctx, s.shiftAddend ? a : v, s.shiftAddend ? v : a, s);
      return { dtype: "qint32", shape: v.shape };
    }
    case "relu":
    case "relu6":
      if (
        s.kind === "relu6" &&
        (v.scale === undefined || (v.scale.length !== 1 && v.scale.length !== v.shape[1]))
      ) {
        ctx.fail(`${ctx.where}: ReLU6 needs the value's scale`);
      }
      return v;
  }
}

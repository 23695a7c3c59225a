/**
 * The checks every program passes before anything runs it, compiles it or reports on it: buffers of
 * sane shapes and scales, every instruction's operands existing buffers written before it, each
 * buffer written once, every main operation and stage re-derived through the instruction and stage
 * tables (shapes, dtypes, scales, parameter lengths and ranges, the int32 accumulator bound) and equal
 * to the buffer it writes, one input transfer and one output transfer — and, for a placed program,
 * every buffer aligned inside the arena with no two live buffers sharing bytes. A program that passes
 * runs without an exception from the kernels.
 * @module
 */

import type { Instr } from "./instr.ts";
import { ARENA_ALIGNMENT, lifetimes, MAX_ARENA_BYTES, overlaps } from "./lifetime.ts";
import { instrDef, isInputTransfer } from "./op_table.ts";
import { bufferBytes, elementCount, type Program, type ProgramBuffer } from "./program.ts";
import { stageDef } from "./stage.ts";
import type { ValueInfo } from "./value.ts";

const MAX_DIM = 1 << 24;

/**
 * The bounds a program's buffers keep, per frame (an element of dimension 0, the batch): each buffer
 * at most `bufferElements` elements and all buffers together at most `totalBytes` bytes. A file of a
 * few hundred bytes can describe any shapes, so these bound what running or compiling it allocates.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { FRAME_LIMITS } from "@hqat/program";
 * assert(FRAME_LIMITS.bufferElements === 2 ** 24 && FRAME_LIMITS.totalBytes === 2 ** 28);
 * ```
 */
export const FRAME_LIMITS = { bufferElements: 2 ** 24, totalBytes: 2 ** 28 } as const;
const goodScales = (s: Float32Array) => s.length > 0 && s.every((v) => v > 0 && v < Infinity);
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * The buffer the final `dequantize` reads: the raw integer output.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { rawOutput } from "@hqat/program";
 * assert(rawOutput({ output: 1, instructions: [{ op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] }] } as never) === 0);
 * ```
 */
export function rawOutput(program: Pick<Program, "instructions" | "output">): number {
  const i = program.instructions.find((x) => x.output === program.output);
  if (i === undefined || i.inputs.length !== 1) {
    throw new RangeError(`no instruction writes the output buffer ${program.output} from one input`);
  }
  return i.inputs[0];
}

function checkBuffers(program: Program, fail: (m: string) => never): void {
  const { buffers, inputShape } = program;
  if (!inputShape.every((d) => d >= 1 && d <= MAX_DIM) || elementCount(inputShape) > MAX_ARENA_BYTES) {
    fail(`the input shape [${inputShape}] is empty or too large`);
  }
  const batch = inputShape[0];
  let frameBytes = 0;
  buffers.forEach((b, i) => {
    const what = `buffer ${i} ("${b.name}")`;
    if (b.shape.length === 0 || !b.shape.every((d) => d >= 1 && d <= MAX_DIM) || b.shape[0] !== batch) {
      fail(`${what} has shape [${b.shape}]; dimensions must be positive and dimension 0 the batch ${batch}`);
    }
    if (elementCount(b.shape) / batch > FRAME_LIMITS.bufferElements) {
      fail(`${what} [${b.shape}] has more than ${FRAME_LIMITS.bufferElements} elements per frame`);
    }
    frameBytes += bufferBytes(b) / batch;
    if (!goodScales(b.scale) || (b.scale.length !== 1 && b.scale.length !== b.shape[1])) {
      fail(`${what} has ${b.scale.length} scales (need 1 or one per channel, positive and finite)`);
    }
  });
  if (frameBytes > FRAME_LIMITS.totalBytes) {
    fail(`the buffers take ${frameBytes} bytes per frame, more than ${FRAME_LIMITS.totalBytes}`);
  }
  if (!(program.output < buffers.length)) {
    fail(`the output buffer ${program.output} does not exist (${buffers.length} buffers)`);
  }
  if (buffers[program.output].dtype !== "float32") fail(`the output buffer ${program.output} is not float32`);
}

function checkPlacement(program: Program, fail: (m: string) => never): void {
  const p = program.placement!;
  const { buffers } = program;
  if (p.buffers.length !== buffers.length) {
    fail(`the placement has ${p.buffers.length} entries for ${buffers.length} buffers`);
  }
  if (p.arenaBytes > MAX_ARENA_BYTES) fail(`the arena of ${p.arenaBytes} bytes exceeds ${MAX_ARENA_BYTES}`);
  let extent = 0;
  buffers.forEach((b, i) => {
    const { offset } = p.buffers[i], bytes = bufferBytes(b);
    if (offset % ARENA_ALIGNMENT !== 0 || offset + bytes > p.arenaBytes) {
      fail(
        `buffer ${i} ("${b.name}", ${bytes} bytes at ${offset}) is not aligned or lies outside the ${p.arenaBytes}-byte arena`,
      );
    }
    extent = Math.max(extent, Math.ceil((offset + bytes) / ARENA_ALIGNMENT) * ARENA_ALIGNMENT);
  });
  if (extent !== p.arenaBytes) fail(`the arena is ${p.arenaBytes} bytes but the buffers end at ${extent}`);
  const life = lifetimes(program.instructions, {
    bufferCount: buffers.length,
    live: [program.output, rawOutput(program)],
  });
  const order = buffers.map((_, i) => i).sort((a, b) => p.buffers[a].offset - p.buffers[b].offset);
  for (let x = 0; x < order.length; x++) {
    const a = order[x], end = p.buffers[a].offset + bufferBytes(buffers[a]);
    for (let y = x + 1; y < order.length && p.buffers[order[y]].offset < end; y++) {
      if (overlaps(life[a], life[order[y]])) {
        fail(`buffers ${a} and ${order[y]} share arena bytes while both are live`);
      }
    }
  }
}

/** The value `instr` computes, checked; `readable` gives the value of a buffer it reads. */
function instrValue(
  program: Program,
  instr: Instr,
  where: string,
  readable: (id: number) => ProgramBuffer,
  fail: (m: string) => never,
): ValueInfo {
  const def = instrDef(instr);
  const [lo, hi] = def.arity;
  if (instr.inputs.length < lo || instr.inputs.length > hi) {
    fail(`${where}: takes ${lo === hi ? lo : `${lo}..${hi}`} inputs, has ${instr.inputs.length}`);
  }
  const ins = instr.inputs.map(readable);
  const out = program.buffers[instr.output];
  let v = def.infer(instr, ins, { where, fail, inputShape: program.inputShape, out });
  instr.epilogue.forEach((s, k) => {
    const addend = s.kind === "add" ? readable(s.addend) : undefined;
    v = stageDef(s).infer(s, v, { where: `stage ${k} of ${where}`, fail, addend });
  });
  return v;
}

/**
 * Checks `program` (see the module description); `fail` raises the error with the problem as its
 * message. `decodeProgram` runs it on every file, `compileProgram` on every program it writes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { verifyProgram } from "@hqat/program";
 * let problem = "";
 * try {
 *   verifyProgram({ name: "x", march: "bayes", opt: "O0", inputShape: [1, 2], buffers: [], instructions: [], output: 0 },
 *     { fail: (m) => { throw new Error(m); } });
 * } catch (e) { problem = (e as Error).message; }
 * assert(problem === "the output buffer 0 does not exist (0 buffers)");
 * ```
 */
export function verifyProgram(
  program: Program,
  options: { readonly fail: (message: string) => never },
): void {
  const { fail } = options;
  const { buffers, instructions } = program;
  checkBuffers(program, fail);
  const written = new Array<boolean>(buffers.length).fill(false);
  let inputs = 0, outputs = 0;
  instructions.forEach((instr, i) => {
    const where = `instruction ${i} (${instr.op} "${instr.name}")`;
    const readable = (id: number) => {
      if (!(id < buffers.length)) {
        fail(`${where} reads buffer ${id}, which does not exist (${buffers.length} buffers)`);
      }
      if (!written[id]) fail(`${where} reads buffer ${id} before any instruction writes it`);
      if (buffers[id].dtype === "float32") fail(`${where} reads the float32 output buffer ${id}`);
      return buffers[id];
    };
    if (!(instr.output < buffers.length)) {
      fail(`${where} writes buffer ${instr.output}, which does not exist`);
    }
    if (written[instr.output]) {
      fail(`${where} writes buffer ${instr.output}, which an earlier instruction wrote`);
    }
    const v = instrValue(program, instr, where, readable, fail);
    const out = buffers[instr.output];
    if (v.dtype !== out.dtype || !sameShape(v.shape, out.shape)) {
      fail(
        `${where} computes [${v.shape}] ${v.dtype} but its output buffer ${instr.output} is [${out.shape}] ${out.dtype}`,
      );
    }
    if (v.dtype === "float32") {
      outputs++;
      if (instr.output !== program.output) fail(`${where} writes a float32 buffer that is not the output`);
      if (instr.epilogue.length > 0) fail(`${where} has an epilogue`);
    } else if (v.scale.length !== out.scale.length || v.scale.some((s, c) => s !== out.scale[c])) {
      fail(
        `${where} computes scale [${v.scale.slice(0, 4)}] but its output buffer has [${
          out.scale.slice(0, 4)
        }]`,
      );
    }
    if (isInputTransfer(instr)) inputs++;
    written[instr.output] = true;
  });
  if (inputs !== 1 || outputs !== 1) {
    fail(
      `the program needs one input transfer (quantize) and one output (dequantize), has ${inputs} and ${outputs}`,
    );
  }
  const unwritten = written.indexOf(false);
  if (unwritten >= 0) fail(`buffer ${unwritten} is never written`);
  if (program.placement) checkPlacement(program, fail);
}

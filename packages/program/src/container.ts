/**
 * The program container (docs/hbm_format.md): a 64-byte header, the model section (the program's
 * structure) and the parameter section (weights, biases, scales, multipliers), each with its CRC-32,
 * little-endian. The `.hbm` file is a placed program in it; the `int_model` file an unplaced one. Every
 * instruction and stage kind writes and reads its own fields through its table entry.
 * @module
 */

import { ByteWriter, crc32, fieldWriter, SectionReader } from "./container_io.ts";
import type { Instr, InstrBase } from "./instr.ts";
import { INSTR_OPS, INSTR_TABLE, instrDef } from "./op_table.ts";
import type { BufferLayout, Program, ProgramBuffer } from "./program.ts";
import { OPT_LEVELS } from "./program.ts";
import { type Stage, STAGE_CODES, STAGE_TABLE, stageDef } from "./stage.ts";
import { DTYPE_CODES } from "./stage_rules.ts";
import { verifyProgram } from "./verify.ts";

/**
 * The constants of the format: magic, version, header size, and the codes of its enumerations.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { PROGRAM_FORMAT } from "@hqat/program";
 * assert(PROGRAM_FORMAT.magic === "HQATHBM\0" && PROGRAM_FORMAT.major === 3);
 * ```
 */
export const PROGRAM_FORMAT = {
  magic: "HQATHBM\0",
  major: 3,
  minor: 0,
  headerBytes: 64,
  marches: ["bayes", "bayes-e"],
  inputSources: ["ddr", "pyramid", "resizer"],
  layouts: ["nchw", "nhwc"],
} as const;

/**
 * A program file that cannot be loaded; the message names the file and the problem.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { decodeProgram, ProgramFormatError } from "@hqat/program";
 * let e: unknown;
 * try { decodeProgram(new Uint8Array(10), { fileName: "m.hbm" }); } catch (x) { e = x; }
 * assert(e instanceof ProgramFormatError && String(e).includes('"m.hbm"'));
 * ```
 */
export class ProgramFormatError extends SyntaxError {
  /** Creates the error for `file`. */
  constructor(file: string, message: string) {
    super(`Cannot load "${file}": ${message}`);
    this.name = "ProgramFormatError";
  }
}

function code<T extends string>(list: readonly T[], v: T, what: string): number {
  const i = list.indexOf(v);
  if (i < 0) throw new RangeError(`encodeProgram: unknown ${what} ${JSON.stringify(v)}`);
  return i;
}

/**
 * The container bytes of `program` (layout in docs/hbm_format.md).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { decodeProgram, encodeProgram, type Program } from "@hqat/program";
 * const p: Program = {
 *   name: "tiny", march: "bayes", opt: "O0", inputShape: [1, 2], output: 1,
 *   buffers: [
 *     { name: "q", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5) },
 *     { name: "d", shape: [1, 2], dtype: "float32", scale: Float32Array.of(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * assert(decodeProgram(encodeProgram(p), { fileName: "tiny" }).instructions.length === 2);
 * ```
 */
export function encodeProgram(program: Program): Uint8Array {
  const m = new ByteWriter(), params = new ByteWriter();
  const w = fieldWriter(m, params);
  const pl = program.placement;
  m.u8(code(PROGRAM_FORMAT.marches, program.march as "bayes", "march"));
  m.u8(code(OPT_LEVELS, program.opt, "opt level"));
  m.u8(pl ? 1 : 0);
  m.u8(pl ? code(PROGRAM_FORMAT.inputSources, pl.inputSource, "input source") : 0);
  m.str(program.name);
  m.u8(program.inputShape.length);
  for (const d of program.inputShape) m.u32(d);
  m.u32(program.output);
  m.u32(pl?.arenaBytes ?? 0);
  m.u32(program.buffers.length);
  program.buffers.forEach((b, i) => {
    m.str(b.name);
    m.u8(code(DTYPE_CODES, b.dtype, "dtype"));
    m.u8(code(PROGRAM_FORMAT.layouts, pl?.buffers[i].layout ?? "nchw", "layout"));
    m.u8(b.shape.length);
    m.u8(0);
    for (const d of b.shape) m.u32(d);
    m.u32(pl?.buffers[i].offset ?? 0);
    w.ref(b.scale);
  });
  m.u32(program.instructions.length);
  for (const instr of program.instructions) {
    m.u8(instrDef(instr).code);
    m.u8(instr.inputs.length);
    m.u8(instr.epilogue.length);
    m.u8(0);
    m.str(instr.name);
    for (const i of instr.inputs) m.u32(i);
    m.u32(instr.output);
    const merged = instr.merged ?? [];
    m.u16(merged.length);
    for (const name of merged) m.str(name);
    instrDef(instr).encode(instr, w);
    for (const s of instr.epilogue) {
      m.u8(stageDef(s).code);
      m.u8(0);
      m.u16(0);
      stageDef(s).encode(s, w);
    }
  }
  const model = m.done(), par = params.done();
  const head = PROGRAM_FORMAT.headerBytes;
  const paramAt = Math.ceil((head + model.length) / 8) * 8, total = paramAt + par.length;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode(PROGRAM_FORMAT.magic), 0);
  v.setUint16(8, PROGRAM_FORMAT.major, true);
  v.setUint16(10, PROGRAM_FORMAT.minor, true);
  [head, total, head, model.length, paramAt, par.length, crc32(model), crc32(par)].forEach((x, i) =>
    v.setUint32(12 + 4 * i, x, true)
  );
  v.setUint32(44, crc32(out.subarray(0, 44)), true);
  out.set(model, head);
  out.set(par, paramAt);
  return out;
}

function readInstr(c: SectionReader, index: number): Instr {
  const where = `instruction ${index}`;
  const op = c.enumOf(INSTR_OPS, `the opcode of ${where}`);
  const nIn = c.u8(where), nStages = c.u8(where);
  c.u8(where);
  const name = c.str(`the name of ${where}`);
  const inputs = Array.from({ length: nIn }, () => c.u32(`an input of ${where}`));
  const output = c.u32(`the output of ${where}`);
  const nMerged = c.u16(`the merged count of ${where}`);
  if (2 * nMerged > c.left) {
    c.fail(`${where} names ${nMerged} merged nodes, but only ${c.left} bytes are left`);
  }
  const merged = Array.from({ length: nMerged }, () => c.str(`a merged name of ${where}`));
  const base: InstrBase & { op: typeof op } = {
    op,
    name,
    inputs,
    output,
    epilogue: [],
    ...(merged.length > 0 ? { merged } : {}),
  };
  const instr = (INSTR_TABLE[op].decode as (r: SectionReader, b: typeof base, w: string) => Instr)(
    c,
    base,
    where,
  );
  const epilogue: Stage[] = [];
  for (let s = 0; s < nStages; s++) {
    const what = `stage ${s} of ${where}`;
    const kind = c.enumOf(STAGE_CODES, `the kind of ${what}`);
    c.u8(what);
    c.u16(what);
    epilogue.push(STAGE_TABLE[kind].decode(c, what));
  }
  return { ...instr, epilogue };
}

/**
 * Parses and checks container bytes: magic, version, header CRC, section bounds, the CRC-32 of both
 * sections, every field bounds-checked before it is used, then the program's semantics
 * (`verifyProgram`). Throws a {@linkcode ProgramFormatError} naming `fileName` and the problem; never
 * allocates more than the file's own size while reading.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { decodeProgram } from "@hqat/program";
 * const bytes = new Uint8Array(64);
 * bytes.set(new TextEncoder().encode("HQATHBM\0"));
 * new DataView(bytes.buffer).setUint16(8, 1, true);
 * let message = "";
 * try { decodeProgram(bytes, { fileName: "x.hbm" }); } catch (e) { message = (e as Error).message; }
 * assert(message.startsWith('Cannot load "x.hbm": format version 1.0 is not supported'));
 * ```
 */
export function decodeProgram(bytes: Uint8Array, options: { readonly fileName?: string } = {}): Program {
  const file = options.fileName ?? "model.hbm";
  const fail = (m: string): never => {
    throw new ProgramFormatError(file, m);
  };
  const head = PROGRAM_FORMAT.headerBytes;
  if (bytes.length < head) fail(`the file has ${bytes.length} bytes, less than the ${head}-byte header`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== PROGRAM_FORMAT.magic) {
    fail(
      bytes[8] === 0x7b || magic.startsWith("{")
        ? "not an hqat program file (it looks like a safetensors file: an int model of format version 1, " +
          `which this reader does not know; it reads version ${PROGRAM_FORMAT.major}. Run hqat convert again)`
        : `not an hqat program file (magic ${JSON.stringify(magic)})`,
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, head);
  const [major, minor] = [v.getUint16(8, true), v.getUint16(10, true)];
  if (major !== PROGRAM_FORMAT.major) {
    fail(
      `format version ${major}.${minor} is not supported (this reader knows ${PROGRAM_FORMAT.major}.x; ` +
        "compile or convert the model again with this version of hqat)",
    );
  }
  if (crc32(bytes.subarray(0, 44)) !== v.getUint32(44, true)) {
    fail("the header CRC does not match (the header is corrupt)");
  }
  const u = (o: number) => v.getUint32(o, true);
  if (u(12) !== head) fail(`header size ${u(12)} is not ${head}`);
  if (u(16) !== bytes.length) {
    fail(`the header says ${u(16)} bytes but the file has ${bytes.length} (truncated or padded)`);
  }
  const section = (at: number, what: string): Uint8Array => {
    const offset = u(at), size = u(at + 4);
    if (offset < head || offset > bytes.length || size > bytes.length - offset) {
      fail(`the ${what} section (${size} bytes at ${offset}) lies outside the file (${bytes.length} bytes)`);
    }
    return bytes.subarray(offset, offset + size);
  };
  const model = section(20, "model"), params = section(28, "parameter");
  if (u(20) + model.length > u(28)) fail("the model and parameter sections overlap");
  if (crc32(model) !== u(36)) fail("the CRC-32 of the model section does not match (the file is corrupt)");
  if (crc32(params) !== u(40)) {
    fail("the CRC-32 of the parameter section does not match (the file is corrupt)");
  }
  const c = new SectionReader(model, params, fail);
  const march = c.enumOf(PROGRAM_FORMAT.marches, "the march");
  const opt = c.enumOf(OPT_LEVELS, "the opt level");
  const flags = c.u8("the flags");
  if (flags > 1) fail(`the flags ${flags} are not 0 or 1`);
  const inputSource = c.enumOf(PROGRAM_FORMAT.inputSources, "the input source");
  const name = c.str("the model name");
  const rank = c.u8("the input rank");
  if (rank < 1 || rank > 8) fail(`the input rank ${rank} is not in 1..8`);
  const inputShape = Array.from({ length: rank }, () => c.u32("the input shape"));
  const output = c.u32("the output buffer");
  const arenaBytes = c.u32("the arena size");
  const nBuffers = c.count("the buffer count", 22);
  const buffers: ProgramBuffer[] = [];
  const places: { layout: BufferLayout; offset: number }[] = [];
  for (let b = 0; b < nBuffers; b++) {
    const what = `buffer ${b}`;
    const bname = c.str(`the name of ${what}`);
    const dtype = c.enumOf(DTYPE_CODES, `the dtype of ${what}`);
    const layout = c.enumOf(PROGRAM_FORMAT.layouts, `the layout of ${what}`);
    const r = c.u8(`the rank of ${what}`);
    c.u8(what);
    if (r < 1 || r > 8) fail(`${what} has rank ${r}, not in 1..8`);
    const shape = Array.from({ length: r }, () => c.u32(`the shape of ${what}`));
    places.push({ layout, offset: c.u32(`the offset of ${what}`) });
    buffers.push({ name: bname, shape, dtype, scale: c.f32s(`the scale of ${what}`) });
  }
  const nInstr = c.count("the instruction count", 12);
  const instructions: Instr[] = [];
  for (let i = 0; i < nInstr; i++) instructions.push(readInstr(c, i));
  if (c.left !== 0) fail(`${c.left} bytes follow the last instruction in the model section`);
  const program: Program = {
    name,
    march,
    opt,
    inputShape,
    buffers,
    instructions,
    output,
    ...(flags === 1 ? { placement: { inputSource, arenaBytes, buffers: places } } : {}),
  };
  verifyProgram(program, { fail });
  return program;
}

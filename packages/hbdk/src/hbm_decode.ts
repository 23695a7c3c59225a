/**
 * Reading the `.hbm` container: header, CRCs, and the structure of the model section, every field
 * bounds-checked before it is used (counts against the bytes left, references inside the
 * parameter section, enumeration codes known). `loadHbm` adds the semantic checks of
 * `verifyProgram`.
 * @module
 */

import { crc32 } from "./crc32.ts";
import { HBM_FORMAT } from "./hbm_encode.ts";
import type { HbmBuffer, HbmProgram, Instr, Pair, Requant, Stage } from "./hbm_program.ts";
import { INSTR_OPS } from "./hbm_program.ts";
import { verifyProgram } from "./hbm_verify.ts";

/**
 * A `.hbm` file that cannot be loaded; the message names the file and the problem.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { HbmFormatError, loadHbm } from "@hqat/hbdk";
 * let e: unknown;
 * try { loadHbm(new Uint8Array(10), { fileName: "m.hbm" }); } catch (x) { e = x; }
 * assert(e instanceof HbmFormatError && String(e).includes('"m.hbm"'));
 * ```
 */
export class HbmFormatError extends SyntaxError {
  /** Creates the error for `file`. */
  constructor(file: string, message: string) {
    super(`Cannot load "${file}": ${message}`);
    this.name = "HbmFormatError";
  }
}

type Fail = (message: string) => never;

class Cursor {
  private at = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array, readonly fail: Fail) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get left(): number {
    return this.bytes.length - this.at;
  }
  private take(n: number, what: string): number {
    if (n > this.left) {
      this.fail(`the model section ends inside ${what} (needs ${n} bytes at ${this.at}, has ${this.left})`);
    }
    const at = this.at;
    this.at += n;
    return at;
  }
  u8(what: string): number {
    return this.view.getUint8(this.take(1, what));
  }
  u16(what: string): number {
    return this.view.getUint16(this.take(2, what), true);
  }
  u32(what: string): number {
    return this.view.getUint32(this.take(4, what), true);
  }
  i32(what: string): number {
    return this.view.getInt32(this.take(4, what), true);
  }
  f32(what: string): number {
    return this.view.getFloat32(this.take(4, what), true);
  }
  str(what: string): string {
    const n = this.u16(`the length of ${what}`);
    const at = this.take(n, what);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(at, at + n));
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }
  /** A count whose records take at least `minBytes` each, checked against the bytes left. */
  count(what: string, minBytes: number): number {
    const n = this.u32(what);
    if (n * minBytes > this.left) {
      this.fail(`${what} says ${n}, but only ${this.left} bytes are left for them`);
    }
    return n;
  }
  enumOf<T extends string>(list: readonly T[], what: string): T {
    const v = this.u8(what);
    if (v >= list.length) this.fail(`${what} has unknown code ${v}`);
    return list[v];
  }
  pair(what: string): Pair {
    return [this.u32(what), this.u32(what)];
  }
}

/** Views into one copy of the parameter section (so references never allocate). */
class ParamSection {
  private readonly buffer: ArrayBuffer;
  constructor(bytes: Uint8Array, private readonly fail: Fail) {
    this.buffer = bytes.slice().buffer;
  }
  private check(c: Cursor, size: number, what: string): [number, number] {
    const offset = c.u32(`the offset of ${what}`), count = c.u32(`the count of ${what}`);
    if (count === 0) return [0, 0];
    if (offset % size !== 0) {
      this.fail(`${what} starts at parameter byte ${offset}, not a multiple of ${size}`);
    }
    if (count > (this.buffer.byteLength - offset) / size || offset > this.buffer.byteLength) {
      this.fail(
        `${what} (${count} values at parameter byte ${offset}) runs past the parameter section (${this.buffer.byteLength} bytes)`,
      );
    }
    return [offset, count];
  }
  i8(c: Cursor, what: string): Int8Array {
    const [o, n] = this.check(c, 1, what);
    return new Int8Array(this.buffer, o, n);
  }
  u8(c: Cursor, what: string): Uint8Array {
    const [o, n] = this.check(c, 1, what);
    return new Uint8Array(this.buffer, o, n);
  }
  i32(c: Cursor, what: string): Int32Array {
    const [o, n] = this.check(c, 4, what);
    return new Int32Array(this.buffer, o, n);
  }
  f32(c: Cursor, what: string): Float32Array {
    const [o, n] = this.check(c, 4, what);
    return new Float32Array(this.buffer, o, n);
  }
}

function readRequant(c: Cursor, p: ParamSection, what: string): Requant {
  const dtype = c.enumOf(HBM_FORMAT.dtypes, `the dtype of ${what}`);
  const act = c.enumOf(HBM_FORMAT.activations, `the activation of ${what}`);
  c.u16(what);
  const M = p.i32(c, `the multipliers of ${what}`);
  const n = p.u8(c, `the shifts of ${what}`);
  const scale = p.f32(c, `the scale of ${what}`);
  if (dtype === "float32") c.fail(`${what} requantizes to float32`);
  return { M, n, dtype: dtype as Requant["dtype"], scale, act };
}

function readStage(c: Cursor, p: ParamSection, what: string): Stage {
  const kind = c.enumOf(HBM_FORMAT.stages, `the kind of ${what}`);
  c.u8(what);
  c.u16(what);
  if (kind === "requant") return { kind, ...readRequant(c, p, what) };
  if (kind === "add") {
    const addend = c.u32(`the addend of ${what}`);
    const shiftAddend = c.u8(what) !== 0;
    const k = c.u8(what);
    c.u16(what);
    return { kind, addend, shiftAddend, k, t: c.i32(what) };
  }
  return { kind };
}

function readInstr(c: Cursor, p: ParamSection, index: number): Instr {
  const where = `instruction ${index}`;
  const op = c.enumOf(INSTR_OPS, `the opcode of ${where}`);
  const nIn = c.u8(where), nStages = c.u8(where);
  c.u8(where);
  const name = c.str(`the name of ${where}`);
  const inputs = Array.from({ length: nIn }, () => c.u32(`an input of ${where}`));
  const output = c.u32(`the output of ${where}`);
  const base = { name, inputs, output };
  let instr: Instr;
  switch (op) {
    case "quantize":
      instr = { op, ...base, epilogue: [], scale: c.f32(where) };
      break;
    case "conv2d":
    case "linear": {
      const dims = Array.from(
        { length: op === "conv2d" ? 4 : 2 },
        () => c.u32(`the weight shape of ${where}`),
      );
      const weight = p.i8(c, `the weights of ${where}`);
      const weightScale = p.f32(c, `the weight scales of ${where}`);
      const b = p.i32(c, `the bias of ${where}`);
      const bias = b.length > 0 ? b : undefined;
      instr = op === "conv2d"
        ? {
          op,
          ...base,
          epilogue: [],
          weight,
          weightScale,
          bias,
          weightShape: dims as [number, number, number, number],
          stride: c.pair(where),
          padding: c.pair(where),
          dilation: c.pair(where),
          groups: c.u32(where),
          tileRows: c.u32(where),
        }
        : { op, ...base, epilogue: [], weight, weightScale, bias, weightShape: dims as [number, number] };
      break;
    }
    case "add": {
      const shiftSecond = c.u8(where) !== 0, k = c.u8(where);
      c.u16(where);
      instr = { op, ...base, epilogue: [], shiftSecond, k, t: c.i32(where) };
      break;
    }
    case "avg_pool2d":
    case "max_pool2d":
      instr = {
        op,
        ...base,
        epilogue: [],
        kernel: c.pair(where),
        stride: c.pair(where),
        padding: c.pair(where),
      };
      break;
    case "cat": {
      const axis = c.u32(where);
      const requants = inputs.map((_, i) => readRequant(c, p, `requantization ${i} of ${where}`));
      instr = { op, ...base, epilogue: [], axis, requants };
      break;
    }
    case "move":
    case "dequantize":
      instr = { op, ...base, epilogue: [] };
      break;
  }
  const epilogue = Array.from({ length: nStages }, (_, s) => readStage(c, p, `stage ${s} of ${where}`));
  return { ...instr, epilogue };
}

/**
 * Parses and checks `.hbm` bytes: magic, version, header CRC, section bounds, the CRC-32 of the
 * model and parameter sections, then every field (see {@linkcode verifyProgram}). Throws an
 * {@linkcode HbmFormatError} naming `fileName` and the problem; never allocates more than the
 * file's own size while reading.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { HbmFormatError, loadHbm } from "@hqat/hbdk";
 * const bytes = new Uint8Array(64);
 * bytes.set(new TextEncoder().encode("HQATHBM\0"));
 * let message = "";
 * try { loadHbm(bytes, { fileName: "x.hbm" }); } catch (e) { message = (e as HbmFormatError).message; }
 * assert(message.startsWith('Cannot load "x.hbm": format version 0.0'));
 * ```
 */
export function loadHbm(bytes: Uint8Array, options: { readonly fileName?: string } = {}): HbmProgram {
  const file = options.fileName ?? "model.hbm";
  const fail: Fail = (m) => {
    throw new HbmFormatError(file, m);
  };
  const head = HBM_FORMAT.headerBytes;
  if (bytes.length < head) fail(`the file has ${bytes.length} bytes, less than the ${head}-byte header`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== HBM_FORMAT.magic) fail(`not an hqat .hbm file (magic ${JSON.stringify(magic)})`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, head);
  const [major, minor] = [v.getUint16(8, true), v.getUint16(10, true)];
  if (major !== HBM_FORMAT.major) {
    fail(`format version ${major}.${minor} is not supported (this reader knows ${HBM_FORMAT.major}.x)`);
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
  const c = new Cursor(model, fail);
  const p = new ParamSection(params, fail);
  const march = c.enumOf(HBM_FORMAT.marches, "the march");
  const opt = c.enumOf(HBM_FORMAT.opts, "the opt level");
  const inputSource = c.enumOf(HBM_FORMAT.inputSources, "the input source");
  c.u8("the header of the model section");
  const name = c.str("the model name");
  const rank = c.u8("the input rank");
  if (rank < 1 || rank > 8) fail(`the input rank ${rank} is not in 1..8`);
  const inputShape = Array.from({ length: rank }, () => c.u32("the input shape"));
  const output = c.u32("the output buffer");
  const arenaBytes = c.u32("the arena size");
  const nBuffers = c.count("the buffer count", 26);
  const buffers: HbmBuffer[] = [];
  for (let b = 0; b < nBuffers; b++) {
    const what = `buffer ${b}`;
    const bname = c.str(`the name of ${what}`);
    const dtype = c.enumOf(HBM_FORMAT.dtypes, `the dtype of ${what}`);
    const layout = c.enumOf(HBM_FORMAT.layouts, `the layout of ${what}`);
    const r = c.u8(`the rank of ${what}`);
    c.u8(what);
    if (r < 1 || r > 8) fail(`${what} has rank ${r}, not in 1..8`);
    const shape = Array.from({ length: r }, () => c.u32(`the shape of ${what}`));
    const offset = c.u32(`the offset of ${what}`), size = c.u32(`the size of ${what}`);
    buffers.push({
      name: bname,
      shape,
      dtype,
      layout,
      offset,
      bytes: size,
      scale: p.f32(c, `the scale of ${what}`),
    });
  }
  const nInstr = c.count("the instruction count", 14);
  const instructions: Instr[] = [];
  for (let i = 0; i < nInstr; i++) instructions.push(readInstr(c, p, i));
  if (c.left !== 0) fail(`${c.left} bytes follow the last instruction in the model section`);
  const program: HbmProgram = {
    name,
    march,
    opt,
    inputSource,
    inputShape,
    buffers,
    arenaBytes,
    instructions,
    output,
  };
  verifyProgram(program, { fail });
  return program;
}

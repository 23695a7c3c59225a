/**
 * Writing the `.hbm` container (docs/hbm_format.md): a 64-byte header, the model section (the
 * program's structure) and the parameter section (weights, biases, scales, multipliers), each
 * with its CRC-32, all little-endian.
 * @module
 */

import { crc32 } from "./crc32.ts";
import type { HbmProgram, Instr, Requant, Stage } from "./hbm_program.ts";
import { INSTR_OPS } from "./hbm_program.ts";

/**
 * The constants of the format: magic, version, header size, and the codes of the enumerations.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { HBM_FORMAT } from "@hqat/hbdk";
 * assert(HBM_FORMAT.magic === "HQATHBM\0" && HBM_FORMAT.headerBytes === 64);
 * ```
 */
export const HBM_FORMAT = {
  magic: "HQATHBM\0",
  major: 1,
  minor: 0,
  headerBytes: 64,
  marches: ["bayes", "bayes-e"],
  opts: ["O0", "O1", "O2", "O3"],
  inputSources: ["ddr", "pyramid", "resizer"],
  dtypes: ["qint8", "qint16", "qint32", "float32"],
  layouts: ["nchw", "nhwc"],
  activations: ["none", "relu", "relu6"],
  stages: ["requant", "add", "relu", "relu6"],
} as const;

class Writer {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf);
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  u8(v: number) {
    const at = this.room(1);
    this.view.setUint8(at, v);
  }
  u16(v: number) {
    const at = this.room(2);
    this.view.setUint16(at, v, true);
  }
  u32(v: number) {
    const at = this.room(4);
    this.view.setUint32(at, v, true);
  }
  i32(v: number) {
    const at = this.room(4);
    this.view.setInt32(at, v, true);
  }
  f32(v: number) {
    const at = this.room(4);
    this.view.setFloat32(at, v, true);
  }
  bytes(b: Uint8Array) {
    const at = this.room(b.length);
    this.buf.set(b, at);
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    if (b.length > 0xffff) {
      throw new RangeError(`encodeHbm: name "${s.slice(0, 40)}…" is longer than 65535 bytes`);
    }
    this.u16(b.length);
    this.bytes(b);
  }
  align(a: number) {
    while (this.length % a !== 0) this.u8(0);
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Appends typed arrays to the parameter section; a reference is `u32 offset, u32 count`. */
class Params {
  readonly w = new Writer();
  ref(out: Writer, data: Int8Array | Uint8Array | Int32Array | Float32Array | undefined) {
    if (data === undefined || data.length === 0) {
      out.u32(0);
      out.u32(0);
      return;
    }
    this.w.align(8);
    out.u32(this.w.length);
    out.u32(data.length);
    this.w.bytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
}

function code<T extends string>(list: readonly T[], v: T, what: string): number {
  const i = list.indexOf(v);
  if (i < 0) throw new RangeError(`encodeHbm: unknown ${what} ${JSON.stringify(v)}`);
  return i;
}

function requant(m: Writer, p: Params, r: Requant) {
  m.u8(code(HBM_FORMAT.dtypes, r.dtype, "dtype"));
  m.u8(code(HBM_FORMAT.activations, r.act, "activation"));
  m.u16(0);
  p.ref(m, r.M);
  p.ref(m, r.n);
  p.ref(m, r.scale);
}

function stage(m: Writer, p: Params, s: Stage) {
  m.u8(code(HBM_FORMAT.stages, s.kind, "stage"));
  m.u8(0);
  m.u16(0);
  if (s.kind === "requant") requant(m, p, s);
  else if (s.kind === "add") {
    m.u32(s.addend);
    m.u8(s.shiftAddend ? 1 : 0);
    m.u8(s.k);
    m.u16(0);
    m.i32(s.t);
  }
}

const pair = (m: Writer, v: readonly [number, number]) => {
  m.u32(v[0]);
  m.u32(v[1]);
};

function instruction(m: Writer, p: Params, instr: Instr) {
  m.u8(INSTR_OPS.indexOf(instr.op));
  m.u8(instr.inputs.length);
  m.u8(instr.epilogue.length);
  m.u8(0);
  m.str(instr.name);
  for (const i of instr.inputs) m.u32(i);
  m.u32(instr.output);
  switch (instr.op) {
    case "quantize":
      m.f32(instr.scale);
      break;
    case "conv2d":
    case "linear":
      for (const d of instr.weightShape) m.u32(d);
      p.ref(m, instr.weight);
      p.ref(m, instr.weightScale);
      p.ref(m, instr.bias);
      if (instr.op === "conv2d") {
        pair(m, instr.stride);
        pair(m, instr.padding);
        pair(m, instr.dilation);
        m.u32(instr.groups);
        m.u32(instr.tileRows);
      }
      break;
    case "add":
      m.u8(instr.shiftSecond ? 1 : 0);
      m.u8(instr.k);
      m.u16(0);
      m.i32(instr.t);
      break;
    case "avg_pool2d":
    case "max_pool2d":
      pair(m, instr.kernel);
      pair(m, instr.stride);
      pair(m, instr.padding);
      break;
    case "cat":
      m.u32(instr.axis);
      for (const r of instr.requants) requant(m, p, r);
      break;
  }
  for (const s of instr.epilogue) stage(m, p, s);
}

/**
 * The `.hbm` bytes of `program` (layout in docs/hbm_format.md).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { encodeHbm, loadHbm, type HbmProgram } from "@hqat/hbdk";
 * const p: HbmProgram = {
 *   name: "tiny", march: "bayes", opt: "O2", inputSource: "ddr", inputShape: [1, 2], arenaBytes: 128, output: 1,
 *   buffers: [
 *     { name: "q", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5), layout: "nchw", offset: 0, bytes: 2 },
 *     { name: "d", shape: [1, 2], dtype: "float32", scale: Float32Array.of(1), layout: "nchw", offset: 64, bytes: 8 },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * const bytes = encodeHbm(p);
 * assert(loadHbm(bytes, { fileName: "tiny.hbm" }).instructions.length === 2);
 * ```
 */
export function encodeHbm(program: HbmProgram): Uint8Array {
  const m = new Writer(), p = new Params();
  m.u8(code(HBM_FORMAT.marches, program.march as "bayes", "march"));
  m.u8(code(HBM_FORMAT.opts, program.opt, "opt level"));
  m.u8(code(HBM_FORMAT.inputSources, program.inputSource, "input source"));
  m.u8(0);
  m.str(program.name);
  m.u8(program.inputShape.length);
  for (const d of program.inputShape) m.u32(d);
  m.u32(program.output);
  m.u32(program.arenaBytes);
  m.u32(program.buffers.length);
  for (const b of program.buffers) {
    m.str(b.name);
    m.u8(code(HBM_FORMAT.dtypes, b.dtype, "dtype"));
    m.u8(code(HBM_FORMAT.layouts, b.layout, "layout"));
    m.u8(b.shape.length);
    m.u8(0);
    for (const d of b.shape) m.u32(d);
    m.u32(b.offset);
    m.u32(b.bytes);
    p.ref(m, b.scale);
  }
  m.u32(program.instructions.length);
  for (const instr of program.instructions) instruction(m, p, instr);
  const model = m.done(), params = p.w.done();
  const head = HBM_FORMAT.headerBytes;
  const modelAt = head, paramAt = Math.ceil((head + model.length) / 8) * 8;
  const total = paramAt + params.length;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode(HBM_FORMAT.magic), 0);
  v.setUint16(8, HBM_FORMAT.major, true);
  v.setUint16(10, HBM_FORMAT.minor, true);
  v.setUint32(12, head, true);
  v.setUint32(16, total, true);
  v.setUint32(20, modelAt, true);
  v.setUint32(24, model.length, true);
  v.setUint32(28, paramAt, true);
  v.setUint32(32, params.length, true);
  v.setUint32(36, crc32(model), true);
  v.setUint32(40, crc32(params), true);
  v.setUint32(44, crc32(out.subarray(0, 44)), true);
  out.set(model, modelAt);
  out.set(params, paramAt);
  return out;
}

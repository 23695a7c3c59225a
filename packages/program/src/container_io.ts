/**
 * The byte-level pieces of the program container: a growing little-endian writer, the parameter
 * section that arrays are appended to (aligned to 8 bytes, referenced as `u32 offset, u32 count`), and
 * the bounds-checked reader over the model section with views into one copy of the parameter section
 * (so reading never allocates more than the file's size).
 * @module
 */

import type { FieldReader, FieldWriter, Pair } from "./fields.ts";

/**
 * A growing little-endian byte writer.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ByteWriter } from "@hqat/program";
 * const w = new ByteWriter();
 * w.u32(1);
 * w.str("ab");
 * assert(w.done().length === 8);
 * ```
 */
export class ByteWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  /** Bytes written. */
  length = 0;
  /** Reserves `n` bytes, growing the buffer, and returns where they start. */
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
  /** An unsigned byte. */
  u8(v: number): void {
    const at = this.room(1);
    this.view.setUint8(at, v);
  }
  /** An unsigned 16-bit integer. */
  u16(v: number): void {
    const at = this.room(2);
    this.view.setUint16(at, v, true);
  }
  /** An unsigned 32-bit integer. */
  u32(v: number): void {
    const at = this.room(4);
    this.view.setUint32(at, v, true);
  }
  /** A signed 32-bit integer. */
  i32(v: number): void {
    const at = this.room(4);
    this.view.setInt32(at, v, true);
  }
  /** A float32. */
  f32(v: number): void {
    const at = this.room(4);
    this.view.setFloat32(at, v, true);
  }
  /** Raw bytes. */
  bytes(b: Uint8Array): void {
    const at = this.room(b.length);
    this.buf.set(b, at);
  }
  /** A UTF-8 string with a `u16` length. */
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    if (b.length > 0xffff) throw new RangeError(`the name "${s.slice(0, 40)}…" is longer than 65535 bytes`);
    this.u16(b.length);
    this.bytes(b);
  }
  /** Zero bytes up to a multiple of `a`. */
  align(a: number): void {
    while (this.length % a !== 0) this.u8(0);
  }
  /** The bytes written. */
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * A {@linkcode FieldWriter} over a model-section writer and a parameter-section writer.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ByteWriter, fieldWriter } from "@hqat/program";
 * const model = new ByteWriter(), params = new ByteWriter();
 * fieldWriter(model, params).ref(Int32Array.of(1, 2));
 * assert(model.length === 8 && params.length === 8);
 * ```
 */
export function fieldWriter(model: ByteWriter, params: ByteWriter): FieldWriter {
  return {
    u8: (v) => model.u8(v),
    u16: (v) => model.u16(v),
    u32: (v) => model.u32(v),
    i32: (v) => model.i32(v),
    f32: (v) => model.f32(v),
    pair: (v) => {
      model.u32(v[0]);
      model.u32(v[1]);
    },
    ref: (data) => {
      if (data === undefined || data.length === 0) {
        model.u32(0);
        model.u32(0);
        return;
      }
      params.align(8);
      model.u32(params.length);
      model.u32(data.length);
      params.bytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    },
  };
}

/**
 * A bounds-checked reader over the model section, with the parameter section's arrays as views into
 * one copy of it. Every read names what it reads in the error (`fail`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SectionReader } from "@hqat/program";
 * const r = new SectionReader(Uint8Array.of(7, 0, 0, 0), new Uint8Array(0), (m) => { throw new Error(m); });
 * assert(r.u32("a count") === 7 && r.left === 0);
 * ```
 */
export class SectionReader implements FieldReader {
  private at = 0;
  private readonly view: DataView;
  private readonly params: ArrayBuffer;
  /** Creates the reader; `fail` raises the container's error. */
  constructor(
    private readonly bytes: Uint8Array,
    params: Uint8Array,
    readonly fail: (message: string) => never,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.params = params.slice().buffer;
  }
  /** Bytes left in the model section. */
  get left(): number {
    return this.bytes.length - this.at;
  }
  /** Consumes `n` bytes of the section (failing when fewer are left) and returns where they start. */
  private take(n: number, what: string): number {
    if (n > this.left) {
      this.fail(`the model section ends inside ${what} (needs ${n} bytes at ${this.at}, has ${this.left})`);
    }
    const at = this.at;
    this.at += n;
    return at;
  }
  /** An unsigned byte. */
  u8(what: string): number {
    return this.view.getUint8(this.take(1, what));
  }
  /** An unsigned 16-bit integer. */
  u16(what: string): number {
    return this.view.getUint16(this.take(2, what), true);
  }
  /** An unsigned 32-bit integer. */
  u32(what: string): number {
    return this.view.getUint32(this.take(4, what), true);
  }
  /** A signed 32-bit integer. */
  i32(what: string): number {
    return this.view.getInt32(this.take(4, what), true);
  }
  /** A float32. */
  f32(what: string): number {
    return this.view.getFloat32(this.take(4, what), true);
  }
  /** Two unsigned 32-bit integers. */
  pair(what: string): Pair {
    return [this.u32(what), this.u32(what)];
  }
  /** A UTF-8 string with a `u16` length. */
  str(what: string): string {
    const n = this.u16(`the length of ${what}`);
    const at = this.take(n, what);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(at, at + n));
    } catch {
      return this.fail(`${what} is not valid UTF-8`);
    }
  }
  /** A `u32` count of records that take at least `minBytes` each, checked against the bytes left. */
  count(what: string, minBytes: number): number {
    const n = this.u32(what);
    if (n * minBytes > this.left) {
      this.fail(`${what} says ${n}, but only ${this.left} bytes are left for them`);
    }
    return n;
  }
  /** The code of an enumeration `list`, checked. */
  enumOf<T extends string>(list: readonly T[], what: string): T {
    const v = this.u8(what);
    if (v >= list.length) this.fail(`${what} has unknown code ${v}`);
    return list[v];
  }
  /** Reads and checks a reference to `size`-byte elements: its byte offset and element count. */
  private ref(size: number, what: string): [number, number] {
    const offset = this.u32(`the offset of ${what}`), count = this.u32(`the count of ${what}`);
    if (count === 0) return [0, 0];
    if (offset % size !== 0) {
      this.fail(`${what} starts at parameter byte ${offset}, not a multiple of ${size}`);
    }
    if (offset > this.params.byteLength || count > (this.params.byteLength - offset) / size) {
      this.fail(
        `${what} (${count} values at parameter byte ${offset}) runs past the parameter section (${this.params.byteLength} bytes)`,
      );
    }
    return [offset, count];
  }
  /** An int8 array reference. */
  i8s(what: string): Int8Array {
    const [o, n] = this.ref(1, what);
    return new Int8Array(this.params, o, n);
  }
  /** A uint8 array reference. */
  u8s(what: string): Uint8Array {
    const [o, n] = this.ref(1, what);
    return new Uint8Array(this.params, o, n);
  }
  /** An int16 array reference. */
  i16s(what: string): Int16Array {
    const [o, n] = this.ref(2, what);
    return new Int16Array(this.params, o, n);
  }
  /** An int32 array reference. */
  i32s(what: string): Int32Array {
    const [o, n] = this.ref(4, what);
    return new Int32Array(this.params, o, n);
  }
  /** A float32 array reference. */
  f32s(what: string): Float32Array {
    const [o, n] = this.ref(4, what);
    return new Float32Array(this.params, o, n);
  }
}

/**
 * The CRC-32 (IEEE 802.3, reflected, initial and final value `0xFFFFFFFF`) of `bytes`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { crc32 } from "@hqat/program";
 * assert(crc32(new TextEncoder().encode("123456789")) === 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

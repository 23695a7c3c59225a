/**
 * A small bounds-checked reader of (ustar / GNU / pax) tar archives: regular files only.
 * @module
 */

/** One regular file of a tar archive. */
export interface TarEntry {
  /** The path inside the archive. */
  readonly name: string;
  /** The file's bytes (a view into the archive). */
  readonly data: Uint8Array;
}

/** Options of {@linkcode readTar}. */
export interface TarOptions {
  /** The archive name used in error messages. */
  name?: string;
}

const BLOCK = 512;
const decoder = new TextDecoder();

function field(block: Uint8Array, start: number, length: number): string {
  const bytes = block.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function octal(block: Uint8Array, start: number, length: number, fail: (p: string) => Error): number {
  const bytes = block.subarray(start, start + length);
  if (bytes[0] & 0x80) {
    // GNU base-256: big-endian, the top bit of the first byte is the marker.
    let n = bytes[0] & 0x7f;
    for (let i = 1; i < bytes.length; i++) {
      n = n * 256 + bytes[i];
      if (n > Number.MAX_SAFE_INTEGER) throw fail("a base-256 size field is too large");
    }
    return n;
  }
  const text = field(block, start, length).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw fail(`a numeric header field holds "${text}", not an octal number`);
  return parseInt(text, 8);
}

/**
 * Lists the regular files of a tar archive. Directories, links and other entries are skipped; pax
 * extended headers and GNU long names set the following entry's path. Every size is checked against
 * the archive's length: a truncated archive, a corrupt header (bad checksum) or a size that runs past
 * the end is a SyntaxError naming the archive.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { readTar, writeTar } from "@hqat/data";
 * const tar = writeTar([{ name: "a/b.bin", data: new Uint8Array([1, 2]) }]);
 * const [entry] = readTar(tar);
 * assert(entry.name === "a/b.bin" && entry.data.join() === "1,2");
 * ```
 */
export function readTar(bytes: Uint8Array, options: TarOptions = {}): TarEntry[] {
  const archive = options.name ?? "<tar>";
  const fail = (problem: string) => new SyntaxError(`Cannot read "${archive}": ${problem}`);
  const entries: TarEntry[] = [];
  let offset = 0;
  let nextName: string | undefined;
  while (offset + BLOCK <= bytes.length) {
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) return entries; // end-of-archive marker
    const stored = octal(header, 148, 8, fail);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
    if (sum !== stored) {
      throw fail(`header at byte ${offset} has a bad checksum (${stored}, computed ${sum})`);
    }
    const size = octal(header, 124, 12, fail);
    const dataStart = offset + BLOCK;
    if (size > bytes.length - dataStart) {
      throw fail(`entry at byte ${offset} says ${size} bytes but only ${bytes.length - dataStart} remain`);
    }
    const data = bytes.subarray(dataStart, dataStart + size);
    const type = String.fromCharCode(header[156] || 48);
    const magic = field(header, 257, 6);
    const prefix = magic.startsWith("ustar") ? field(header, 345, 155) : "";
    const base = field(header, 0, 100);
    const path = nextName ?? (prefix ? `${prefix}/${base}` : base);
    if (type === "L") {
      nextName = field(data, 0, data.length);
    } else if (type === "x") {
      nextName = paxPath(data) ?? nextName;
    } else {
      nextName = undefined;
      if (type === "0" || type === "7") entries.push({ name: path, data });
    }
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (offset !== bytes.length) {
    throw fail(`truncated: ${bytes.length - offset} bytes after the last full block`);
  }
  return entries;
}

function paxPath(data: Uint8Array): string | undefined {
  // Records are "<length> <key>=<value>\n".
  const text = decoder.decode(data);
  for (const line of text.split("\n")) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Writes regular files as a ustar archive (names up to 100 bytes); the inverse of
 * {@linkcode readTar}, used for small archives and tests.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { writeTar } from "@hqat/data";
 * assert(writeTar([{ name: "x", data: new Uint8Array(3) }]).length === 512 * 4);
 * ```
 */
export function writeTar(entries: readonly TarEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  let total = 2 * BLOCK;
  for (const e of entries) total += BLOCK + Math.ceil(e.data.length / BLOCK) * BLOCK;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const e of entries) {
    const name = encoder.encode(e.name);
    if (name.length > 100) {
      throw new RangeError(`Cannot write tar entry "${e.name}": names are limited to 100 bytes`);
    }
    const h = out.subarray(offset, offset + BLOCK);
    h.set(name, 0);
    h.set(encoder.encode("0000644\0"), 100);
    h.set(encoder.encode("0000000\0"), 108);
    h.set(encoder.encode("0000000\0"), 116);
    h.set(encoder.encode(e.data.length.toString(8).padStart(11, "0") + "\0"), 124);
    h.set(encoder.encode("00000000000\0"), 136);
    h[156] = 48; // '0': regular file
    h.set(encoder.encode("ustar\x0000"), 257);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    h.set(encoder.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    out.set(e.data, offset + BLOCK);
    offset += BLOCK + Math.ceil(e.data.length / BLOCK) * BLOCK;
  }
  return out;
}

/**
 * The idx format of MNIST and Fashion-MNIST: a big-endian magic (two zero bytes, a type code, the
 * number of dimensions), one uint32 per dimension, then the data. Only unsigned bytes (type 0x08)
 * are read: `0x00000803` images (count, rows, cols) and `0x00000801` labels.
 * @module
 */

/** The magic of idx3 unsigned-byte image files. */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** The magic of idx1 unsigned-byte label files. */
export const IDX_LABELS_MAGIC = 0x00000801;

/** An idx array: its dimensions and row-major bytes (a view into the input). */
export interface IdxArray {
  /** Dimensions, outermost first. */
  readonly dims: readonly number[];
  /** The elements, row-major. */
  readonly data: Uint8Array;
}

/** Options of the idx readers. */
export interface IdxOptions {
  /** The file name used in error messages. */
  name?: string;
}

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

/**
 * Parses an idx file whose magic must be `magic` (`0x0000080N`, N dimensions of unsigned bytes).
 * Rejects with a SyntaxError naming the file: a wrong magic, a truncated header, a header whose
 * dimensions need more data than the file has, or bytes left after the data.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseIdx, IDX_LABELS_MAGIC } from "@hqat/data";
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]);
 * const a = parseIdx(bytes, IDX_LABELS_MAGIC);
 * assert(a.dims.join() === "2" && a.data.join() === "7,9");
 * ```
 */
export function parseIdx(bytes: Uint8Array, magic: number, options: IdxOptions = {}): IdxArray {
  const name = options.name ?? "<idx>";
  const fail = (problem: string) => new SyntaxError(`Cannot read "${name}": ${problem}`);
  if (bytes.length < 4) {
    throw fail(`truncated header: the file has ${bytes.length} bytes, fewer than the 4-byte magic`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const got = view.getUint32(0);
  if (got !== magic) {
    throw fail(`wrong magic ${hex(got)}, expected ${hex(magic)}`);
  }
  const ndims = magic & 0xff;
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw fail(
      `truncated header: ${ndims} dimensions need ${headerBytes} bytes but the file has ${bytes.length}`,
    );
  }
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i);
    dims.push(d);
    size *= d; // exact up to 2^53; anything that large is rejected below
  }
  const available = bytes.length - headerBytes;
  if (size > available) {
    throw fail(`header says ${describe(dims)} (${size} bytes) but the file has ${available} bytes of data`);
  }
  if (size < available) {
    throw fail(
      `header says ${describe(dims)} (${size} bytes) but the file has ${available - size} bytes more`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes, headerBytes + size) };
}

function describe(dims: readonly number[]): string {
  if (dims.length === 3) return `${dims[0]} images of ${dims[1]}x${dims[2]}`;
  if (dims.length === 1) return `${dims[0]} labels`;
  return `dimensions [${dims.join(",")}]`;
}

/** Images read from an idx3 file. */
export interface IdxImages {
  /** Number of images. */
  readonly count: number;
  /** Rows per image. */
  readonly height: number;
  /** Columns per image. */
  readonly width: number;
  /** `count × height × width` bytes, row-major. */
  readonly data: Uint8Array;
}

/**
 * Parses an idx3 unsigned-byte image file (magic `0x00000803`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseIdxImages } from "@hqat/data";
 * const bytes = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 5, 6]);
 * const img = parseIdxImages(bytes, { name: "x.idx" });
 * assert(img.count === 1 && img.width === 2 && img.data.join() === "5,6");
 * ```
 */
export function parseIdxImages(bytes: Uint8Array, options: IdxOptions = {}): IdxImages {
  const { dims, data } = parseIdx(bytes, IDX_IMAGES_MAGIC, options);
  return { count: dims[0], height: dims[1], width: dims[2], data };
}

/**
 * Parses an idx1 unsigned-byte label file (magic `0x00000801`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseIdxLabels } from "@hqat/data";
 * const labels = parseIdxLabels(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 3]));
 * assert(labels.join() === "3");
 * ```
 */
export function parseIdxLabels(bytes: Uint8Array, options: IdxOptions = {}): Uint8Array {
  return parseIdx(bytes, IDX_LABELS_MAGIC, options).data;
}

/**
 * Encodes unsigned bytes as an idx file with the given dimensions (the inverse of
 * {@linkcode parseIdx}); used to write small data sets and test files.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { encodeIdx, parseIdxLabels } from "@hqat/data";
 * assert(parseIdxLabels(encodeIdx(new Uint8Array([4, 2]), [2])).join() === "4,2");
 * ```
 */
export function encodeIdx(data: Uint8Array, dims: readonly number[]): Uint8Array {
  if (dims.length < 1 || dims.length > 255) {
    throw new RangeError(`Cannot encode idx with ${dims.length} dimensions: expected 1 to 255`);
  }
  let size = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new RangeError(`Cannot encode idx dimensions [${dims.join(",")}]: each must be a uint32`);
    }
    size *= d;
  }
  if (size !== data.length) {
    throw new RangeError(
      `Cannot encode idx: dimensions [${dims.join(",")}] need ${size} bytes, got ${data.length}`,
    );
  }
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

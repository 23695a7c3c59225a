/**
 * NumPy's `.npy` format, versions 1.0, 2.0 and 3.0: the magic string `\x93NUMPY`, a version, a header
 * length, a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` and the
 * elements. Little-endian, C-order arrays of the stored dtypes are read; everything else gets a clear error.
 * @module
 */

import { checkStoredTensor, STORED_DTYPES, type StoredDType, type StoredTensor } from "./stored_tensor.ts";
import { littleEndianBytes, readElements } from "./tensor_bytes.ts";

/**
 * The largest header accepted, in bytes (NumPy's own default limit for `np.load`).
 *
 * @example
 * ```ts
 * import { MAX_NPY_HEADER_BYTES } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(MAX_NPY_HEADER_BYTES === 10_000);
 * ```
 */
export const MAX_NPY_HEADER_BYTES = 10_000;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** NumPy type code (without byte order) of each stored dtype; NumPy has no bfloat16. */
const DESCR: Record<Exclude<StoredDType, "BF16">, string> = {
  F32: "f4",
  F64: "f8",
  F16: "f2",
  I64: "i8",
  I32: "i4",
  I16: "i2",
  I8: "i1",
  U8: "u1",
  BOOL: "b1",
};
const FROM_CODE = new Map(Object.entries(DESCR).map(([dtype, code]) => [code, dtype as StoredDType]));
const NUMPY_NAMES: Record<string, string> = {
  u2: "uint16",
  u4: "uint32",
  u8: "uint64",
  c8: "complex64",
  c16: "complex128",
  f16: "longdouble",
  f12: "longdouble",
  O: "object",
};

/** Options of {@linkcode parseNpy}. */
export interface ParseNpyOptions {
  /** The file name that error messages give. */
  fileName?: string;
}

type ErrorClass = typeof SyntaxError | typeof RangeError | typeof TypeError;
type Value = string | boolean | number | number[];

/** Parses the header's dict literal: string keys; string, bool, int or int-tuple values. */
function parseDict(text: string, fail: (Class: ErrorClass, message: string) => never): Map<string, Value> {
  let i = 0;
  const bad = (what: string): never =>
    fail(SyntaxError, `header is not a valid dict literal: ${what} at ${i}`);
  const skip = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const expect = (c: string) => {
    skip();
    if (text[i] !== c) bad(`expected '${c}'`);
    i++;
  };
  const string = (): string => {
    const quote = text[i];
    const end = text.indexOf(quote, i + 1);
    if (end < 0) bad("unterminated string");
    const s = text.slice(i + 1, end);
    if (s.includes("\\")) bad("escape sequences are not supported");
    i = end + 1;
    return s;
  };
  const integer = (): number => {
    const m = /^-?[0-9]+/.exec(text.slice(i, i + 40));
    if (m === null) bad("expected an integer");
    i += m![0].length;
    const v = Number(m![0]);
    if (!Number.isSafeInteger(v)) fail(RangeError, `header holds the integer ${m![0]}, which is too large`);
    return v;
  };
  const value = (): Value => {
    skip();
    const c = text[i];
    if (c === "'" || c === '"') return string();
    if (text.startsWith("True", i)) return (i += 4, true);
    if (text.startsWith("False", i)) return (i += 5, false);
    if (c === "(") {
      i++;
      const items: number[] = [];
      let comma = false;
      for (skip(); text[i] !== ")"; skip()) {
        items.push(integer());
        skip();
        comma = text[i] === ",";
        if (comma) i++;
        else if (text[i] !== ")") bad("expected ',' or ')'");
      }
      i++;
      if (items.length === 1 && !comma) return items[0]; // `(3)` is the integer 3, not a tuple
      return items;
    }
    if (c === "[") fail(TypeError, "structured dtypes (a descr list) are not supported");
    return integer();
  };
  const dict = new Map<string, Value>();
  expect("{");
  for (skip(); text[i] !== "}"; skip()) {
    if (text[i] !== "'" && text[i] !== '"') bad("expected a string key");
    const key = string();
    if (dict.has(key)) bad(`duplicate key '${key}'`);
    expect(":");
    dict.set(key, value());
    skip();
    if (text[i] === ",") i++;
    else if (text[i] !== "}") bad("expected ',' or '}'");
  }
  i++;
  skip();
  if (i < text.length) bad("unexpected text after the dict");
  return dict;
}

function dtypeOfDescr(descr: string, fail: (Class: ErrorClass, message: string) => never): StoredDType {
  const order = "<>|=".includes(descr[0]) ? descr[0] : "";
  const code = descr.slice(order.length);
  const dtype = FROM_CODE.get(code);
  const supported = `supported: ${
    Object.values(DESCR).map((c) => (c.endsWith("1") ? "|" : "<") + c).join(", ")
  }`;
  if (dtype === undefined) {
    const name = NUMPY_NAMES[code] ? ` (${NUMPY_NAMES[code]})` : "";
    fail(TypeError, `dtype '${descr}'${name} is not supported; ${supported}`);
  }
  if (STORED_DTYPES[dtype!].itemSize > 1 && order !== "<") {
    if (order === ">") {
      fail(
        TypeError,
        `dtype '${descr}' is big-endian; only little-endian data is supported (save a.astype('<${code}'))`,
      );
    }
    fail(TypeError, `dtype '${descr}' does not say little-endian ('<'); ${supported}`);
  }
  return dtype!;
}

/**
 * Parses `.npy` bytes into a stored tensor (a fresh aligned typed array). Fortran-order arrays (unless the
 * order makes no difference), big-endian data and dtypes other than the stored ones are rejected; every
 * error is a `SyntaxError`, `RangeError` or `TypeError` naming the file and the fault.
 *
 * @example
 * ```ts
 * import { encodeNpy, parseNpy } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const bytes = encodeNpy({ dtype: "I16", shape: [2], data: new Int16Array([-3, 4]) });
 * const t = parseNpy(bytes, { fileName: "a.npy" });
 * assert(t.dtype === "I16" && t.data[0] === -3);
 * ```
 */
export function parseNpy(bytes: Uint8Array, options: ParseNpyOptions = {}): StoredTensor {
  const where = options.fileName === undefined ? ".npy data" : JSON.stringify(options.fileName);
  const fail = (Class: ErrorClass, message: string): never => {
    throw new Class(`Cannot read ${where}: ${message}`);
  };
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot read ${where}: the data is not a Uint8Array`);
  }
  if (bytes.length < 10) fail(RangeError, `the file has ${bytes.length} bytes, too few for a .npy header`);
  if (!MAGIC.every((b, k) => bytes[k] === b)) fail(SyntaxError, "the file does not start with '\\x93NUMPY'");
  const [major, minor] = [bytes[6], bytes[7]];
  if (minor !== 0 || major < 1 || major > 3) {
    fail(RangeError, `format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) fail(RangeError, `the file has ${bytes.length} bytes, too few for a .npy header`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > MAX_NPY_HEADER_BYTES) {
    fail(RangeError, `header length ${headerLength} exceeds the limit of ${MAX_NPY_HEADER_BYTES} bytes`);
  }
  if (start + headerLength > bytes.length) {
    fail(RangeError, `header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  }
  const raw = bytes.subarray(start, start + headerLength);
  let text = "";
  if (major === 3) {
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
    } catch {
      fail(SyntaxError, "header is not valid UTF-8");
    }
  } else {
    text = String.fromCharCode(...raw); // latin-1
  }
  const dict = parseDict(text, fail);
  const keys = [...dict.keys()].sort().join(",");
  if (keys !== "descr,fortran_order,shape") {
    fail(
      SyntaxError,
      `header must have exactly the keys 'descr', 'fortran_order' and 'shape', not ${keys || "none"}`,
    );
  }
  const descr = dict.get("descr");
  const fortran = dict.get("fortran_order");
  const shape = dict.get("shape");
  if (typeof descr !== "string") fail(TypeError, "header 'descr' must be a string");
  if (typeof fortran !== "boolean") fail(TypeError, "header 'fortran_order' must be True or False");
  if (!Array.isArray(shape)) fail(TypeError, "header 'shape' must be a tuple of integers");
  const dims = shape as number[];
  const shapeText = `(${dims.join(", ")}${dims.length === 1 ? "," : ""})`;
  if (dims.some((d) => d < 0)) fail(RangeError, `shape ${shapeText} has a negative dimension`);
  const dtype = dtypeOfDescr(descr as string, fail);
  if (fortran && dims.filter((d) => d !== 1).length > 1) {
    fail(
      TypeError,
      "the array is stored in Fortran order; only C order is supported (save np.ascontiguousarray(a))",
    );
  }
  const itemSize = STORED_DTYPES[dtype].itemSize;
  let needed = itemSize;
  for (const d of dims) {
    needed *= d;
    if (needed > Number.MAX_SAFE_INTEGER) fail(RangeError, `shape ${shapeText} is too large`);
  }
  const available = bytes.length - start - headerLength;
  if (needed !== available) {
    fail(
      RangeError,
      `shape ${shapeText} of '${descr}' needs ${needed} bytes of data but the file has ${available}`,
    );
  }
  return { dtype, shape: dims, data: readElements(bytes, start + headerLength, dtype, needed / itemSize) };
}

/**
 * Encodes a stored tensor as `.npy` bytes exactly as `np.save` writes them: version 1.0 (2.0 if the header
 * needs it), the dict with NumPy's spare space for growing the first axis, padded so the data starts at a
 * multiple of 64 bytes. BF16 has no NumPy dtype and is rejected.
 *
 * @example
 * ```ts
 * import { encodeNpy } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const bytes = encodeNpy({ dtype: "F32", shape: [3], data: new Float32Array([1, 2, 3]) });
 * assert(bytes.length === 128 + 12);
 * ```
 */
export function encodeNpy(stored: StoredTensor): Uint8Array {
  const { dtype, shape, data } = checkStoredTensor(stored, "Cannot encode .npy: the tensor");
  if (dtype === "BF16") {
    throw new TypeError("Cannot encode .npy: NumPy has no bfloat16 dtype (convert with toFloat32() first)");
  }
  const code = DESCR[dtype];
  const descr = `${code.endsWith("1") ? "|" : "<"}${code}`;
  const tuple = `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  if (shape.length > 0) dict += " ".repeat(Math.max(0, 21 - String(shape[0]).length));
  const lineLength = dict.length + 1;
  let prefix = 10;
  let pad = 64 - ((prefix + lineLength) % 64);
  if (lineLength + pad > 0xffff) {
    prefix = 12;
    pad = 64 - ((prefix + lineLength) % 64);
  }
  const payload = littleEndianBytes(data);
  const out = new Uint8Array(prefix + lineLength + pad + payload.length);
  out.set(MAGIC);
  out[6] = prefix === 10 ? 1 : 2;
  const view = new DataView(out.buffer);
  if (prefix === 10) view.setUint16(8, lineLength + pad, true);
  else view.setUint32(8, lineLength + pad, true);
  for (let k = 0; k < dict.length; k++) out[prefix + k] = dict.charCodeAt(k);
  out.fill(0x20, prefix + dict.length, prefix + dict.length + pad);
  out[prefix + lineLength + pad - 1] = 0x0a;
  out.set(payload, prefix + lineLength + pad);
  return out;
}

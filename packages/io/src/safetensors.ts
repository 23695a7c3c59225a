/**
 * The safetensors format: an 8-byte little-endian header length `N`, `N` bytes of UTF-8 JSON
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { key: value } }` and the data
 * buffer, with offsets relative to its start. Every field read from a file is checked before use.
 * @module
 */

import {
  checkStoredTensor,
  formatShape,
  isStoredDType,
  shapeSize,
  STORED_DTYPES,
  type StoredDType,
  type StoredTensor,
} from "./stored_tensor.ts";
import { littleEndianBytes, readElements } from "./tensor_bytes.ts";

/**
 * The largest header accepted, in bytes (the reference implementation's limit).
 *
 * @example
 * ```ts
 * import { MAX_SAFETENSORS_HEADER_BYTES } from "@hqat/io";
 * import { assert } from "@std/assert";
 * assert(MAX_SAFETENSORS_HEADER_BYTES === 100_000_000);
 * ```
 */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

/** Dtypes of the format that this package does not store. */
const UNSUPPORTED_DTYPES = new Set(["U16", "U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E4M3FNUZ", "F8_E5M2FNUZ"]);

/** The reference implementation's dtype order (increasing alignment); it writes larger ranks first. */
const DTYPE_RANK: Record<StoredDType, number> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  I16: 5,
  F16: 7,
  BF16: 8,
  I32: 9,
  F32: 11,
  F64: 12,
  I64: 13,
};

/** What a safetensors file holds: tensors in header order and the string metadata. */
export interface SafetensorsContents {
  /** The tensors by name, in header order. */
  tensors: Map<string, StoredTensor>;
  /** The `__metadata__` string map. */
  metadata: Record<string, string>;
}

/** Options of {@linkcode parseSafetensors}. */
export interface ParseSafetensorsOptions {
  /** The file name that error messages give. */
  fileName?: string;
}

/** Options of {@linkcode encodeSafetensors}. */
export interface EncodeSafetensorsOptions {
  /** String metadata written under `__metadata__` (omitted when empty). */
  metadata?: Record<string, string>;
}

type ErrorClass = typeof SyntaxError | typeof RangeError | typeof TypeError;

/**
 * Parses safetensors bytes. Tensors come back in the header's key order, each in a fresh aligned typed
 * array. Malformed input throws a `SyntaxError`, `RangeError` or `TypeError` naming the file and the fault.
 *
 * @example
 * ```ts
 * import { encodeSafetensors, parseSafetensors } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const bytes = encodeSafetensors([["w", { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) }]]);
 * const { tensors } = parseSafetensors(bytes, { fileName: "w.safetensors" });
 * assert(tensors.get("w")!.data[1] === 2);
 * ```
 */
export function parseSafetensors(
  bytes: Uint8Array,
  options: ParseSafetensorsOptions = {},
): SafetensorsContents {
  const where = options.fileName === undefined ? "safetensors data" : JSON.stringify(options.fileName);
  const fail = (Class: ErrorClass, message: string): never => {
    throw new Class(`Cannot read ${where}: ${message}`);
  };
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot read ${where}: the data is not a Uint8Array`);
  }
  if (bytes.length < 8) {
    fail(RangeError, `the file has ${bytes.length} bytes, too few for the 8-byte header length`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    fail(
      RangeError,
      `header length ${headerLength} exceeds the limit of ${MAX_SAFETENSORS_HEADER_BYTES} bytes`,
    );
  }
  const n = Number(headerLength);
  if (8 + n > bytes.length) {
    fail(RangeError, `header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  }
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(SyntaxError, "header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(SyntaxError, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail(
      SyntaxError,
      `header must be a JSON object, not ${Array.isArray(header) ? "an array" : typeof header}`,
    );
  }
  const fields = header as Record<string, unknown>;
  const keys = topLevelKeys(text, (key) => fail(SyntaxError, `header lists ${JSON.stringify(key)} twice`));
  const buffer = bytes.subarray(8 + n);
  const metadata = readMetadata(fields["__metadata__"], fail);

  const infos: { name: string; dtype: StoredDType; shape: number[]; begin: number; end: number }[] = [];
  for (const name of keys) {
    if (name === "__metadata__") continue;
    const tensor = `tensor ${JSON.stringify(name)}`;
    const info = fields[name];
    if (typeof info !== "object" || info === null || Array.isArray(info)) {
      fail(TypeError, `${tensor} must be described by an object with dtype, shape and data_offsets`);
    }
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (!isStoredDType(dtype)) {
      if (typeof dtype === "string" && UNSUPPORTED_DTYPES.has(dtype)) {
        fail(
          TypeError,
          `${tensor} has dtype ${dtype}, which is not supported (${Object.keys(STORED_DTYPES)})`,
        );
      }
      fail(TypeError, `${tensor} has unknown dtype ${JSON.stringify(dtype) ?? "(none)"}`);
    }
    const d = dtype as StoredDType;
    if (!Array.isArray(shape)) fail(TypeError, `${tensor} has no shape array`);
    const dims = shape as unknown[];
    if (!dims.every((x) => typeof x === "number" && Number.isInteger(x))) {
      fail(TypeError, `${tensor} has shape ${formatShape(dims)}; dimensions must be integers`);
    }
    if (dims.some((x) => (x as number) < 0)) {
      fail(RangeError, `${tensor} has shape ${formatShape(dims)} with a negative dimension`);
    }
    const itemSize = STORED_DTYPES[d].itemSize;
    const size = shapeSize(dims, itemSize);
    if (size === undefined) fail(RangeError, `${tensor} has shape ${formatShape(dims)} whose size overflows`);
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((x) => typeof x === "number" && Number.isSafeInteger(x) && x >= 0) ||
      offsets[0] > offsets[1]
    ) {
      fail(
        RangeError,
        `${tensor} has data_offsets ${JSON.stringify(offsets) ?? "(none)"}; need [begin, end]`,
      );
    }
    const [begin, end] = offsets as [number, number];
    const needed = size! * itemSize;
    if (end - begin !== needed) {
      fail(
        RangeError,
        `${tensor} has data_offsets [${begin}, ${end}] but shape ${
          formatShape(dims)
        } of ${d} needs ${needed} bytes`,
      );
    }
    if (end > buffer.length) {
      fail(
        RangeError,
        `${tensor} has data_offsets [${begin}, ${end}] beyond the ${buffer.length}-byte data buffer`,
      );
    }
    infos.push({ name, dtype: d, shape: dims as number[], begin, end });
  }

  const byOffset = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = "";
  for (const { name, begin, end } of byOffset) {
    if (begin < cursor) {
      fail(
        RangeError,
        `tensors ${JSON.stringify(previous)} and ${JSON.stringify(name)} overlap in the data buffer`,
      );
    }
    if (begin > cursor) {
      fail(RangeError, `bytes [${cursor}, ${begin}) of the data buffer belong to no tensor`);
    }
    cursor = end;
    previous = name;
  }
  if (cursor !== buffer.length) {
    fail(RangeError, `the data buffer has ${buffer.length} bytes but the tensors end at byte ${cursor}`);
  }

  const tensors = new Map<string, StoredTensor>();
  for (const { name, dtype, shape, begin, end } of infos) {
    const count = (end - begin) / STORED_DTYPES[dtype].itemSize;
    tensors.set(name, { dtype, shape, data: readElements(buffer, begin, dtype, count) });
  }
  return { tensors, metadata };
}

function readMetadata(
  value: unknown,
  fail: (Class: ErrorClass, message: string) => never,
): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    fail(TypeError, "__metadata__ must be a JSON object");
  }
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [key, v] of entries) {
    if (typeof v !== "string") {
      fail(TypeError, `__metadata__ must map keys to strings, but ${JSON.stringify(key)} holds ${typeof v}`);
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/**
 * The keys of the top-level object of valid JSON `text`, in the order they appear (`JSON.parse` moves
 * integer-like keys first). Calls `duplicate` for a key that appears twice.
 */
function topLevelKeys(text: string, duplicate: (key: string) => never): string[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  let i = text.indexOf("{") + 1;
  let depth = 0;
  let expectKey = true;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 0 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) duplicate(key);
        seen.add(key);
        keys.push(key);
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (depth === 0) break;
      depth--;
    } else if (c === "," && depth === 0) expectKey = true;
    i++;
  }
  return keys;
}

/** Orders names by Unicode code point, as the reference implementation orders its UTF-8 strings. */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * Encodes tensors in the reference layout: sorted by descending dtype alignment, then by name, so every
 * tensor's data is aligned to its element size; `__metadata__` first; compact JSON padded with spaces to a
 * multiple of 8 bytes. Bad entries throw a `TypeError` or `RangeError` naming the tensor.
 *
 * @example
 * ```ts
 * import { encodeSafetensors } from "@hqat/io";
 * import { assert } from "@std/assert";
 * const bytes = encodeSafetensors([], { metadata: { format: "pt" } });
 * assert(new TextDecoder().decode(bytes.subarray(8)) === '{"__metadata__":{"format":"pt"}}');
 * ```
 */
export function encodeSafetensors(
  entries: Iterable<readonly [string, StoredTensor]>,
  options: EncodeSafetensorsOptions = {},
): Uint8Array {
  const list: [string, StoredTensor][] = [];
  const names = new Set<string>();
  for (const [name, stored] of entries) {
    const label = `Cannot encode tensor ${JSON.stringify(name)}:`;
    if (typeof name !== "string") throw new TypeError(`${label} tensor names must be strings`);
    if (name === "__metadata__") throw new TypeError(`${label} the name is reserved for metadata`);
    if (names.has(name)) throw new TypeError(`${label} the name appears twice`);
    names.add(name);
    list.push([name, checkStoredTensor(stored, `${label} it`)]);
  }
  list.sort(([a, x], [b, y]) => DTYPE_RANK[y.dtype] - DTYPE_RANK[x.dtype] || compareCodePoints(a, b));

  const parts: string[] = [];
  const metadata = Object.entries(options.metadata ?? {});
  for (const [key, value] of metadata) {
    if (typeof value !== "string") {
      throw new TypeError(`Cannot encode metadata ${JSON.stringify(key)}: values must be strings`);
    }
  }
  if (metadata.length > 0) parts.push(`"__metadata__":${JSON.stringify(Object.fromEntries(metadata))}`);
  let offset = 0;
  for (const [name, { dtype, shape, data }] of list) {
    const end = offset + data.byteLength;
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > MAX_SAFETENSORS_HEADER_BYTES) {
    throw new RangeError(`Cannot encode safetensors: the header would take ${headerLength} bytes`);
  }
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const [, { data }] of list) {
    out.set(littleEndianBytes(data), at);
    at += data.byteLength;
  }
  return out;
}

/**
 * Transparent gzip decoding with a bound on the decoded size.
 * @module
 */

import { gunzipSync } from "node:zlib";

/** The largest decoded file the readers accept by default (1 GiB). */
export const MAX_DECODED_BYTES = 1 << 30;

/** Options of {@linkcode gunzipIfNeeded}. */
export interface GunzipOptions {
  /** The file name used in error messages. */
  name?: string;
  /** The largest decoded size accepted, in bytes (default {@linkcode MAX_DECODED_BYTES}). */
  maxBytes?: number;
}

/**
 * Returns `bytes` decoded when they start with the gzip magic (0x1f 0x8b), else `bytes` itself.
 * A corrupt stream or one that decodes to more than `maxBytes` is a SyntaxError naming the file.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gunzipIfNeeded } from "@hqat/data";
 * import { gzipSync } from "node:zlib";
 * const z = new Uint8Array(gzipSync(new Uint8Array([1, 2, 3])));
 * assert(gunzipIfNeeded(z).join() === "1,2,3");
 * assert(gunzipIfNeeded(new Uint8Array([4])).join() === "4");
 * ```
 */
export function gunzipIfNeeded(bytes: Uint8Array, options: GunzipOptions = {}): Uint8Array {
  const name = options.name ?? "<bytes>";
  const maxBytes = options.maxBytes ?? MAX_DECODED_BYTES;
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    const out = gunzipSync(bytes, { maxOutputLength: maxBytes });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === "ERR_BUFFER_TOO_LARGE") {
      throw new SyntaxError(`Cannot read "${name}": it decompresses to more than ${maxBytes} bytes`);
    }
    throw new SyntaxError(`Cannot read "${name}": corrupt or truncated gzip data (${err.message})`);
  }
}

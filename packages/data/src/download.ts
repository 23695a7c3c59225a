/**
 * Downloading with a size bound and an MD5 check, and atomic file writes.
 * @module
 */

import { atomicWriteFile } from "@hqat/io";
import { createHash } from "node:crypto";

/**
 * A data set's published location: an `https` base URL, the publisher's MD5 of each file under it
 * and, where known, the SHA-256 of each file's decompressed content (see the data set's source for
 * where those digests come from).
 */
export interface DataSource {
  /** The base URL (`https://…`); file names are appended to it. */
  readonly baseUrl: string;
  /** File name → published MD5 (lowercase hex). */
  readonly md5: Readonly<Record<string, string>>;
  /** File name → SHA-256 of its decompressed content (lowercase hex). */
  readonly contentSha256?: Readonly<Record<string, string>>;
}

/**
 * The hosts hqat downloads data sets from; `deno task hqat` grants network access to these only.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { DATA_HOSTS } from "@hqat/data";
 * assert(DATA_HOSTS.includes("www.cs.toronto.edu"));
 * ```
 */
export const DATA_HOSTS: readonly string[] = ["raw.githubusercontent.com", "www.cs.toronto.edu"];

/**
 * The SHA-256 of `bytes`, lowercase hex.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sha256Hex } from "@hqat/data";
 * assert(sha256Hex(new TextEncoder().encode("abc")).startsWith("ba7816bf8f01cfea"));
 * ```
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Checks that `content` (a downloaded file, decompressed) has the SHA-256 `want`; throws naming `url`.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { checkContentSha256, sha256Hex } from "@hqat/data";
 * const body = new Uint8Array([1, 2]);
 * checkContentSha256("https://x.test/a", body, sha256Hex(body));
 * assertThrows(() => checkContentSha256("https://x.test/a", body, "00"), Error, "SHA-256");
 * ```
 */
export function checkContentSha256(url: string, content: Uint8Array, want: string): void {
  const got = sha256Hex(content);
  if (got !== want.toLowerCase()) {
    throw new Error(`Cannot use ${url}: the SHA-256 of its content is ${got}, not the expected ${want}`);
  }
}

/**
 * A data set could not be found locally nor downloaded; the message lists the folders searched.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { DatasetUnavailableError } from "@hqat/data";
 * const e = new DatasetUnavailableError("Fashion-MNIST (train) was not found in /data");
 * assert(e instanceof Error && e.name === "DatasetUnavailableError");
 * ```
 */
export class DatasetUnavailableError extends Error {
  /** Always "DatasetUnavailableError". */
  override name = "DatasetUnavailableError";
}

/**
 * The lowercase hex MD5 of some bytes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { md5Hex } from "@hqat/data";
 * assert(md5Hex(new TextEncoder().encode("a")) === "0cc175b9c0f1b6a831c399e269772661");
 * ```
 */
export function md5Hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

/** Options of {@linkcode downloadVerified}. */
export interface DownloadOptions {
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** The largest body accepted, in bytes (default 512 MiB). */
  maxBytes?: number;
}

/**
 * Fetches `url`, reading at most `maxBytes`, and checks the body's MD5 against `md5`. Network
 * failures, HTTP errors, oversized bodies and checksum mismatches are errors that name the URL.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { downloadVerified, md5Hex } from "@hqat/data";
 * const body = new Uint8Array([1, 2, 3]);
 * const fetch = () => Promise.resolve(new Response(body));
 * const got = await downloadVerified("https://example.test/f", md5Hex(body), { fetch });
 * assert(got.join() === "1,2,3");
 * ```
 */
export async function downloadVerified(
  url: string,
  md5: string,
  options: DownloadOptions = {},
): Promise<Uint8Array> {
  const doFetch = options.fetch ?? fetch;
  const maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
  if (!url.startsWith("https://")) {
    throw new Error(`Cannot download ${url}: hqat downloads over https only (use an https mirror)`);
  }
  let response: Response;
  try {
    response = await doFetch(url, { redirect: "follow" });
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      const host = new URL(url).host;
      throw new Error(
        `Cannot download ${url}: this run has no network access to ${host}. "deno task hqat" allows ` +
          `${DATA_HOSTS.join(" and ")}; with "deno run", add --allow-net=${host}`,
      );
    }
    throw new Error(`Cannot download ${url}: ${(e as Error).message ?? e}`);
  }
  if (response.url && !response.url.startsWith("https://")) {
    await response.body?.cancel();
    throw new Error(`Cannot download ${url}: it redirected to ${response.url}, which is not https`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`Cannot download ${url}: HTTP ${response.status} ${response.statusText}`.trim());
  }
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new RangeError(
      `Cannot download ${url}: it is ${declared} bytes, more than the ${maxBytes} allowed`,
    );
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    for await (const chunk of response.body) {
      total += chunk.length;
      if (total > maxBytes) {
        throw new RangeError(`Cannot download ${url}: the body exceeds the ${maxBytes} bytes allowed`);
      }
      chunks.push(chunk);
    }
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  const got = md5Hex(body);
  if (got !== md5.toLowerCase()) {
    throw new Error(`Cannot use ${url}: its MD5 is ${got} but the published checksum is ${md5}`);
  }
  return body;
}

/**
 * Writes a file atomically: the bytes go to a temporary file beside `path`, which is then renamed
 * over it, so a crash never leaves a half-written file under `path`. Creates missing folders.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { writeFileAtomic } from "@hqat/data";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/sub/x.bin`, new Uint8Array([1]));
 * assert((await Deno.readFile(`${dir}/sub/x.bin`)).length === 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  await atomicWriteFile(path, bytes);
}

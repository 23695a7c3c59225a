/**
 * `node:path` for the browser bundle: the POSIX `dirname` and `resolve` that `@hqat/io`'s output checks
 * use. Those checks stat and create files, so a page never calls them; the shim only lets the module
 * that holds them load. A page has no working directory: `resolve` starts from `/`.
 * @module
 */

function normalize(parts: readonly string[]): string {
  const out: string[] = [];
  for (const p of parts) {
    if (p === "" || p === ".") continue;
    if (p === "..") out.pop();
    else out.push(p);
  }
  return `/${out.join("/")}`;
}

/**
 * The absolute path of `paths` joined right to left until one is absolute (from `/` otherwise),
 * with `.` and `..` folded.
 *
 * @example
 * ```ts
 * import { resolve } from "./path.ts";
 * console.assert(resolve("a/b", "../c") === "/a/c");
 * ```
 */
export function resolve(...paths: string[]): string {
  let at = paths.length - 1;
  while (at > 0 && !paths[at].startsWith("/")) at--;
  return normalize(paths.slice(Math.max(0, at)).flatMap((p) => p.split("/")));
}

/**
 * The folder part of `path` (`.` for a bare name, `/` for the root).
 *
 * @example
 * ```ts
 * import { dirname } from "./path.ts";
 * console.assert(dirname("/a/b.hbm") === "/a" && dirname("b.hbm") === "." && dirname("/x") === "/");
 * ```
 */
export function dirname(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const cut = trimmed.lastIndexOf("/");
  if (cut < 0) return ".";
  if (cut === 0) return "/";
  return trimmed.slice(0, cut);
}

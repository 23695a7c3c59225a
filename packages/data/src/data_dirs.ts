/**
 * Where data sets are looked for: an explicit folder, `$HQAT_DATA`, the user cache
 * (`$XDG_CACHE_HOME/hqat` or `~/.cache/hqat`) and a system folder, in that order.
 * @module
 */

/** How a data set is located and, when missing, fetched. */
export interface DataLocationOptions {
  /** A folder searched first (the files themselves or a subfolder named after the data set). */
  dataDir?: string;
  /** The cache folder that downloads go to (default `$XDG_CACHE_HOME/hqat` or `~/.cache/hqat`). */
  cacheDir?: string;
  /** Environment lookup (default: `Deno.env.get`, where reading the environment is allowed). */
  env?: (name: string) => string | undefined;
  /** Whether to download a data set found nowhere (default true). */
  download?: boolean;
  /** The `fetch` used for downloads (default: the global one). */
  fetch?: typeof fetch;
}

function defaultEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: behave as if unset
  }
}

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/**
 * The user cache folder for hqat: `cacheDir` if given, else `$XDG_CACHE_HOME/hqat`, else
 * `$HOME/.cache/hqat`; undefined when none can be determined.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { hqatCacheDir } from "@hqat/data";
 * const env = (k: string) => ({ HOME: "/home/me" } as Record<string, string>)[k];
 * assert(hqatCacheDir({ env }) === "/home/me/.cache/hqat");
 * ```
 */
export function hqatCacheDir(options: DataLocationOptions = {}): string | undefined {
  if (options.cacheDir) return options.cacheDir;
  const env = options.env ?? defaultEnv;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "hqat");
  const home = env("HOME");
  return home ? join(home, ".cache/hqat") : undefined;
}

/**
 * The folders searched for data set `name`, in order: `dataDir` and `dataDir/name`, `$HQAT_DATA`
 * and `$HQAT_DATA/name`, `<cache>/name`, then `systemDir` when given.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { dataSearchPath } from "@hqat/data";
 * const env = (k: string) => ({ HQAT_DATA: "/data", XDG_CACHE_HOME: "/c" } as Record<string, string>)[k];
 * const dirs = dataSearchPath("fashion-mnist", "/usr/share/datasets/fashion-mnist", { dataDir: "/d", env });
 * assert(dirs.join() ===
 *   "/d,/d/fashion-mnist,/data,/data/fashion-mnist,/c/hqat/fashion-mnist,/usr/share/datasets/fashion-mnist");
 * ```
 */
export function dataSearchPath(
  name: string,
  systemDir: string | undefined,
  options: DataLocationOptions = {},
): string[] {
  const env = options.env ?? defaultEnv;
  const dirs: string[] = [];
  if (options.dataDir) dirs.push(options.dataDir, join(options.dataDir, name));
  const hqatData = env("HQAT_DATA");
  if (hqatData) dirs.push(hqatData, join(hqatData, name));
  const cache = hqatCacheDir(options);
  if (cache) dirs.push(join(cache, name));
  if (systemDir) dirs.push(systemDir);
  return [...new Set(dirs)];
}

/**
 * The first of `candidates` (file names, e.g. with and without `.gz`) that exists as a file in
 * `dir`, as a full path; undefined when none does or the folder cannot be read.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { findFile } from "@hqat/data";
 * assert(findFile("/nonexistent-folder", ["a", "a.gz"]) === undefined);
 * ```
 */
export function findFile(dir: string, candidates: readonly string[]): string | undefined {
  for (const c of candidates) {
    const path = join(dir, c);
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // missing or unreadable: try the next one
    }
  }
  return undefined;
}

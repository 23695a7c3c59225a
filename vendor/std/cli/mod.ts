/**
 * A local module with the API of `@std/cli`'s `parseArgs` (the subset hqat uses), so that one line
 * of the root import map switches to `jsr:@std/cli` where JSR is reachable.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseArgs } from "@std/cli";
 * const args = parseArgs(["--epochs", "3", "--json", "x"], { string: ["epochs"], boolean: ["json"] });
 * assert(args.epochs === "3" && args.json === true && args._[0] === "x");
 * ```
 * @module
 */

/** Options of {@linkcode parseArgs}. */
export interface ParseOptions {
  /** Names whose values are strings. */
  string?: readonly string[];
  /** Names that are flags. */
  boolean?: readonly string[];
  /** Names that may repeat; their values are collected into arrays. */
  collect?: readonly string[];
  /** Default values. */
  default?: Record<string, unknown>;
  /** Aliases: `{ h: "help" }`. */
  alias?: Record<string, string | readonly string[]>;
  /** Called for unknown options; returning false drops the argument. */
  unknown?: (arg: string, key?: string, value?: unknown) => unknown;
  /** Stop parsing at the first non-option. */
  stopEarly?: boolean;
  /** Put arguments after `--` into `--` instead of `_`. */
  "--"?: boolean;
}

/** The parsed arguments: options by name, positionals in `_`. */
export interface Args {
  /** Each option by name: a string, number or boolean, or the list of values of a `collect` option. */
  // deno-lint-ignore no-explicit-any
  [key: string]: any;
  /** Positional arguments. */
  _: (string | number)[];
  /** Arguments after `--`, when asked for. */
  "--"?: string[];
}

/**
 * Parses command-line arguments the way `@std/cli`'s `parseArgs` does: `--name value`,
 * `--name=value`, `--flag`, `--no-flag`, `-abc` short flags, and `--` to end options.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseArgs } from "@std/cli";
 * const a = parseArgs(["-h", "--no-color", "--lr=0.1"], { boolean: ["help", "color"], alias: { h: "help" } });
 * assert(a.help === true && a.color === false && a.lr === 0.1);
 * ```
 */
export function parseArgs(args: readonly string[], options: ParseOptions = {}): Args {
  const strings = new Set(options.string ?? []);
  const booleans = new Set(options.boolean ?? []);
  const collect = new Set(options.collect ?? []);
  const aliases = new Map<string, string[]>();
  for (const [k, v] of Object.entries(options.alias ?? {})) {
    const vs = typeof v === "string" ? [v] : [...v];
    aliases.set(k, vs);
    for (const a of vs) aliases.set(a, [k, ...vs.filter((x) => x !== a)]);
  }
  const names = (k: string) => [k, ...(aliases.get(k) ?? [])];
  const isString = (k: string) => names(k).some((n) => strings.has(n));
  const isBoolean = (k: string) => names(k).some((n) => booleans.has(n));
  const isCollect = (k: string) => names(k).some((n) => collect.has(n));
  const known = (k: string) => isString(k) || isBoolean(k) || aliases.has(k) || isCollect(k);

  const out: Args = { _: [] };
  for (const b of booleans) if (!collect.has(b)) out[b] = false;
  for (const [k, v] of Object.entries(options.default ?? {})) for (const n of names(k)) out[n] = v;

  const coerce = (k: string, v: string): unknown => {
    if (isString(k)) return v;
    if (v !== "" && /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v)) return Number(v);
    return v;
  };
  const set = (k: string, v: unknown, arg: string) => {
    if (!known(k) && options.unknown && options.unknown(arg, k, v) === false) return;
    for (const n of names(k)) {
      if (isCollect(k)) {
        const prev = out[n];
        out[n] = Array.isArray(prev) ? [...prev, v] : [v];
      } else out[n] = v;
    }
  };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      const rest = args.slice(i + 1);
      if (options["--"]) out["--"] = rest;
      else out._.push(...rest);
      break;
    }
    let m: RegExpMatchArray | null;
    if ((m = arg.match(/^--([^=]+)=(.*)$/s))) {
      const k = m[1];
      set(k, isBoolean(k) ? m[2] !== "false" : coerce(k, m[2]), arg);
    } else if ((m = arg.match(/^--no-(.+)$/)) && !isString(m[1])) {
      set(m[1], false, arg);
    } else if ((m = arg.match(/^--(.+)$/))) {
      const k = m[1];
      const next = args[i + 1];
      if (isBoolean(k)) {
        if (next === "true" || next === "false") {
          set(k, next === "true", arg);
          i++;
        } else set(k, true, arg);
      } else if (next !== undefined && (!next.startsWith("-") || /^-\d/.test(next))) {
        set(k, coerce(k, next), arg);
        i++;
      } else set(k, isString(k) ? "" : true, arg);
    } else if (/^-[^-]+/.test(arg)) {
      const letters = arg.slice(1);
      for (let j = 0; j < letters.length; j++) {
        const k = letters[j];
        const rest = letters.slice(j + 1);
        if (rest && !isBoolean(k) && (isString(k) || /^[\d.]/.test(rest))) {
          set(k, coerce(k, rest.replace(/^=/, "")), arg);
          break;
        }
        if (
          j === letters.length - 1 && !isBoolean(k) && args[i + 1] !== undefined &&
          !args[i + 1].startsWith("-")
        ) {
          set(k, coerce(k, args[i + 1]), arg);
          i++;
        } else set(k, isString(k) ? "" : true, arg);
      }
    } else {
      if (options.unknown && options.unknown(arg) === false) continue;
      out._.push(
        isString("_") ? arg : (Number.isFinite(Number(arg)) && arg.trim() !== "" ? Number(arg) : arg),
      );
      if (options.stopEarly) {
        out._.push(...args.slice(i + 1));
        break;
      }
    }
  }
  return out;
}

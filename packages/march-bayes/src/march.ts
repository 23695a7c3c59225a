/**
 * The target BPU architecture ("march") and the module-wide current march.
 * @module
 */

/**
 * The BPU architectures hqat knows by name. The values are the strings horizon_plugin_pytorch uses.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { March } from "@hqat/march-bayes";
 * assert(March.BAYES === "bayes");
 * ```
 */
export const March = {
  /** Journey 3 / RDK X3 BPU. */
  BERNOULLI2: "bernoulli2",
  /** Journey 5 / RDK Ultra BPU. */
  BAYES: "bayes",
  /** RDK X5 BPU; shares the BAYES operator table. */
  BAYES_E: "bayes-e",
} as const;

/**
 * One of the {@linkcode March} values.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { March, type March as MarchName } from "@hqat/march-bayes";
 * const m: MarchName = March.BAYES_E;
 * assert(m === "bayes-e");
 * ```
 */
export type March = typeof March[keyof typeof March];

/** Every march, in a stable order. */
const MARCHES: readonly March[] = Object.values(March);

let current: March | undefined;

/**
 * Whether `value` names a known march.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isMarch } from "@hqat/march-bayes";
 * assert(isMarch("bayes") && !isMarch("nash"));
 * ```
 */
export function isMarch(value: unknown): value is March {
  return typeof value === "string" && (MARCHES as readonly string[]).includes(value);
}

/**
 * Checks that `value` names a known march and returns it; `context` prefixes the error message.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseMarch } from "@hqat/march-bayes";
 * assert(parseMarch("bayes") === "bayes");
 * ```
 */
export function parseMarch(value: unknown, context = "march"): March {
  if (!isMarch(value)) {
    throw new RangeError(
      `${context}: unknown march ${JSON.stringify(value)}; expected one of ${MARCHES.join(", ")}`,
    );
  }
  return value;
}

/**
 * Sets the march that later calls use when they are not given one (like horizon_plugin_pytorch's
 * `set_march`). Throws a `RangeError` for an unknown march.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { getMarch, March, setMarch } from "@hqat/march-bayes";
 * setMarch(March.BAYES);
 * assert(getMarch() === "bayes");
 * ```
 */
export function setMarch(march: March): void {
  current = parseMarch(march, "setMarch");
}

/**
 * The march set by {@linkcode setMarch}, or `undefined` when none has been set.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { clearMarch, getMarch } from "@hqat/march-bayes";
 * clearMarch();
 * assert(getMarch() === undefined);
 * ```
 */
export function getMarch(): March | undefined {
  return current;
}

/**
 * Forgets the current march, so that {@linkcode getMarch} returns `undefined` again.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { clearMarch, getMarch, March, setMarch } from "@hqat/march-bayes";
 * setMarch(March.BAYES);
 * clearMarch();
 * assert(getMarch() === undefined);
 * ```
 */
export function clearMarch(): void {
  current = undefined;
}

/**
 * The march to use: `explicit` when given, else the current march; throws a `RangeError` naming
 * `context` when neither is set.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { March, resolveMarch } from "@hqat/march-bayes";
 * assert(resolveMarch(March.BAYES, "example") === "bayes");
 * ```
 */
export function resolveMarch(explicit: March | undefined, context: string): March {
  if (explicit !== undefined) return parseMarch(explicit, context);
  if (current === undefined) {
    throw new RangeError(`${context}: no march given and none set; call setMarch(March.BAYES) first`);
  }
  return current;
}

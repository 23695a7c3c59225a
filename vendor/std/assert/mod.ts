/**
 * A local module with the API of `@std/assert` (the subset hqat uses), so that
 * one line of the root import map switches to `jsr:@std/assert` where JSR is reachable.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * assertEquals([1, 2], [1, 2]);
 * ```
 * @module
 */
import { inspect, isDeepStrictEqual } from "node:util";

/** Error thrown when an assertion fails. */
export class AssertionError extends Error {
  /** Creates an assertion error with a message. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function show(v: unknown): string {
  return inspect(v, { depth: 6, maxArrayLength: 32, breakLength: 120 });
}

/**
 * Asserts that `expr` is truthy.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * assert(1 + 1 === 2);
 * ```
 */
export function assert(expr: unknown, msg = ""): asserts expr {
  if (!expr) throw new AssertionError(msg || "Expected expression to be truthy");
}

/**
 * Asserts that `actual` and `expected` are deeply equal.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * assertEquals({ a: [1] }, { a: [1] });
 * ```
 */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (isDeepStrictEqual(actual, expected)) return;
  // Treat -0 and 0 as equal in plain numbers like @std/assert's equal() does for ===.
  if (typeof actual === "number" && typeof expected === "number" && actual === expected) return;
  throw new AssertionError(
    `${msg ? msg + ": " : ""}Values are not equal.\n  actual:   ${show(actual)}\n  expected: ${
      show(expected)
    }`,
  );
}

/**
 * Asserts that `actual` and `expected` are not deeply equal.
 *
 * @example
 * ```ts
 * import { assertNotEquals } from "@std/assert";
 * assertNotEquals(1, 2);
 * ```
 */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!isDeepStrictEqual(actual, expected)) return;
  throw new AssertionError(msg ?? `Expected actual to differ from ${show(expected)}`);
}

/**
 * Asserts `Object.is(actual, expected)`.
 *
 * @example
 * ```ts
 * import { assertStrictEquals } from "@std/assert";
 * assertStrictEquals(3, 3);
 * ```
 */
export function assertStrictEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  if (Object.is(actual, expected)) return;
  throw new AssertionError(
    `${msg ? msg + ": " : ""}Values are not strictly equal: ${show(actual)} !== ${show(expected)}`,
  );
}

/**
 * Asserts that two numbers differ by at most `tolerance` (default 1e-7).
 *
 * @example
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * assertAlmostEquals(0.1 + 0.2, 0.3);
 * ```
 */
export function assertAlmostEquals(actual: number, expected: number, tolerance = 1e-7, msg?: string): void {
  if (Object.is(actual, expected)) return;
  const delta = Math.abs(expected - actual);
  if (delta <= tolerance) return;
  throw new AssertionError(
    `${
      msg ? msg + ": " : ""
    }Expected actual: "${actual}" to be close to "${expected}": delta "${delta}" is greater than "${tolerance}"`,
  );
}

/**
 * Asserts `actual > expected`.
 *
 * @example
 * ```ts
 * import { assertGreater } from "@std/assert";
 * assertGreater(2, 1);
 * ```
 */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (actual > expected) return;
  throw new AssertionError(msg ?? `Expect ${show(actual)} > ${show(expected)}`);
}

/**
 * Asserts `actual >= expected`.
 *
 * @example
 * ```ts
 * import { assertGreaterOrEqual } from "@std/assert";
 * assertGreaterOrEqual(2, 2);
 * ```
 */
export function assertGreaterOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (actual >= expected) return;
  throw new AssertionError(msg ?? `Expect ${show(actual)} >= ${show(expected)}`);
}

/**
 * Asserts `actual < expected`.
 *
 * @example
 * ```ts
 * import { assertLess } from "@std/assert";
 * assertLess(1, 2);
 * ```
 */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (actual < expected) return;
  throw new AssertionError(msg ?? `Expect ${show(actual)} < ${show(expected)}`);
}

/**
 * Asserts `actual <= expected`.
 *
 * @example
 * ```ts
 * import { assertLessOrEqual } from "@std/assert";
 * assertLessOrEqual(2, 2);
 * ```
 */
export function assertLessOrEqual<T>(actual: T, expected: T, msg?: string): void {
  if (actual <= expected) return;
  throw new AssertionError(msg ?? `Expect ${show(actual)} <= ${show(expected)}`);
}

/**
 * Asserts that `actual` matches the regular expression.
 *
 * @example
 * ```ts
 * import { assertMatch } from "@std/assert";
 * assertMatch("hqat", /q/);
 * ```
 */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (expected.test(actual)) return;
  throw new AssertionError(msg ?? `Expected actual: "${actual}" to match: "${expected}"`);
}

/**
 * Asserts that `actual` is an instance of `ctor`.
 *
 * @example
 * ```ts
 * import { assertInstanceOf } from "@std/assert";
 * assertInstanceOf(new Error("x"), Error);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function assertInstanceOf<T extends abstract new (...args: any[]) => any>(
  actual: unknown,
  ctor: T,
  msg?: string,
): asserts actual is InstanceType<T> {
  if (actual instanceof ctor) return;
  throw new AssertionError(msg ?? `Expected object to be an instance of "${ctor.name}"`);
}

/**
 * Fails with the given message.
 *
 * @example
 * ```ts
 * import { fail, assertThrows } from "@std/assert";
 * assertThrows(() => fail("no"));
 * ```
 */
export function fail(msg?: string): never {
  throw new AssertionError(`Failed assertion${msg ? `: ${msg}` : "."}`);
}

// deno-lint-ignore no-explicit-any
type ErrorCtor = new (...args: any[]) => Error;

function checkError(e: unknown, ErrorClass?: ErrorCtor, msgIncludes?: string, msg?: string): void {
  if (ErrorClass && !(e instanceof ErrorClass)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}Expected error to be instance of "${ErrorClass.name}", but was "${
        (e as Error)?.constructor?.name
      }": ${(e as Error)?.message}`,
    );
  }
  if (msgIncludes !== undefined) {
    const m = (e as Error)?.message ?? String(e);
    if (!m.includes(msgIncludes)) {
      throw new AssertionError(
        `${msg ? msg + ": " : ""}Expected error message to include "${msgIncludes}", but got "${m}"`,
      );
    }
  }
}

/**
 * Asserts that `fn` throws; optionally of a class and with a message fragment. Returns the error.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * assertThrows(() => { throw new RangeError("bad size"); }, RangeError, "size");
 * ```
 */
export function assertThrows(
  fn: () => unknown,
  ErrorClass?: ErrorCtor,
  msgIncludes?: string,
  msg?: string,
): Error {
  try {
    fn();
  } catch (e) {
    checkError(e, ErrorClass, msgIncludes, msg);
    return e as Error;
  }
  throw new AssertionError(msg ?? "Expected function to throw.");
}

/**
 * Asserts that the promise returned by `fn` rejects. Returns the error.
 *
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * await assertRejects(() => Promise.reject(new TypeError("x")), TypeError);
 * ```
 */
export async function assertRejects(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: ErrorCtor,
  msgIncludes?: string,
  msg?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    checkError(e, ErrorClass, msgIncludes, msg);
    return e as Error;
  }
  throw new AssertionError(msg ?? "Expected function to reject.");
}

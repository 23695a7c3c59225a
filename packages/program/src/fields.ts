/**
 * How instruction and stage fields are written to and read from the program container: the
 * little-endian scalars of the model section, and references to arrays in the parameter section.
 * Each instruction kind and stage kind writes and reads its own fields through these two interfaces,
 * so the container knows no kind.
 * @module
 */

/** A pair `[height, width]`. */
export type Pair = readonly [number, number];

/**
 * Writes fields of the model section; `ref` stores an array in the parameter section and writes its
 * `u32 offset, u32 count` (both 0 for an absent or empty array).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { FieldWriter } from "@hqat/program";
 * const seen: number[] = [];
 * const w = { u32: (v: number) => seen.push(v) } as Pick<FieldWriter, "u32">;
 * w.u32(7);
 * assert(seen[0] === 7);
 * ```
 */
export interface FieldWriter {
  /** An unsigned byte. */
  u8(v: number): void;
  /** An unsigned 16-bit integer. */
  u16(v: number): void;
  /** An unsigned 32-bit integer. */
  u32(v: number): void;
  /** A signed 32-bit integer. */
  i32(v: number): void;
  /** A float32. */
  f32(v: number): void;
  /** Two unsigned 32-bit integers. */
  pair(v: Pair): void;
  /** An array in the parameter section. */
  ref(data: Int8Array | Uint8Array | Int16Array | Int32Array | Float32Array | undefined): void;
}

/**
 * Reads fields of the model section, every read bounds-checked (`what` names the field in the
 * error); the array readers return views into the parameter section and check that the reference
 * lies inside it. `fail` raises the container's error.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { FieldReader } from "@hqat/program";
 * const r = { u32: (_what: string) => 3 } as Pick<FieldReader, "u32">;
 * assert(r.u32("a count") === 3);
 * ```
 */
export interface FieldReader {
  /** An unsigned byte. */
  u8(what: string): number;
  /** An unsigned 16-bit integer. */
  u16(what: string): number;
  /** An unsigned 32-bit integer. */
  u32(what: string): number;
  /** A signed 32-bit integer. */
  i32(what: string): number;
  /** A float32. */
  f32(what: string): number;
  /** Two unsigned 32-bit integers. */
  pair(what: string): Pair;
  /** An int8 array reference. */
  i8s(what: string): Int8Array;
  /** A uint8 array reference. */
  u8s(what: string): Uint8Array;
  /** An int16 array reference. */
  i16s(what: string): Int16Array;
  /** An int32 array reference. */
  i32s(what: string): Int32Array;
  /** A float32 array reference. */
  f32s(what: string): Float32Array;
  /** Raises the container's error with `message`. */
  fail(message: string): never;
}

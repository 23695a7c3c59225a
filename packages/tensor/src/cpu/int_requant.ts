/**
 * Exact requantization of int32 accumulators to int8 / int16 for the integer kernels' epilogue:
 * `y = clamp(floor((acc · M + 2^(n-1)) / 2^n), lo, hi[c])` per channel (`@hqat/qtensor`'s `requantize`
 * with the bounds its fused activation gives), on the WebAssembly kernels in int64 arithmetic and in plain
 * TypeScript (float64, exact below 2^53) where WebAssembly cannot run.
 * @module
 */
import { checkIntOutput, intoOrSelf } from "./int_output.ts";
import { KernelMemoryError, type KernelRuntime, kernelRuntime } from "./wasm_runtime.ts";

/**
 * A requantization in the kernels' terms: multipliers `M` and shifts `n` (one, or one per channel), the
 * clamp `[lo, hi]` (`hi` one, or one per channel) and the output width in bytes (1: int8, 2: int16).
 * `M` must lie in [0, 2^22) and `n` in [0, 62] (so that `acc · M` is exact); `[lo, hi]` within the output
 * type.
 */
export interface IntRequantParams {
  /** The integer multipliers. */
  readonly multiplier: Int32Array;
  /** The right shifts. */
  readonly shift: Uint8Array;
  /** The lower clamp. */
  readonly lo: number;
  /** The upper clamp, one or one per channel. */
  readonly hi: ArrayLike<number>;
  /** 1 for an int8 output, 2 for int16. */
  readonly bytes: 1 | 2;
}

/** Channels × rows per part below which the requantization stays on one thread. */
const PARALLEL_ELEMENTS = 65536;

/** Throws a RangeError unless `p` fits `channels` channels and the output type. */
export function checkRequantParams(op: string, p: IntRequantParams, channels: number): void {
  const m = p.multiplier.length;
  if (
    m !== p.shift.length || (m !== 1 && m !== channels) || (p.hi.length !== 1 && p.hi.length !== channels)
  ) {
    throw new RangeError(
      `${op}: ${m} multipliers, ${p.shift.length} shifts and ${p.hi.length} bounds for ${channels} channels`,
    );
  }
  if (!p.multiplier.every((v) => v >= 0 && v < 2 ** 22) || !p.shift.every((v) => v <= 62)) {
    throw new RangeError(`${op}: a multiplier is outside [0, 2^22) or a shift above 62`);
  }
  const [qmin, qmax] = p.bytes === 1 ? [-128, 127] : [-32768, 32767];
  for (let c = 0; c < p.hi.length; c++) {
    if (!(p.lo >= qmin && p.hi[c] <= qmax && p.lo <= p.hi[c])) {
      throw new RangeError(`${op}: the clamp [${p.lo}, ${p.hi[c]}] is not within [${qmin}, ${qmax}]`);
    }
  }
}

const perChannel = (a: ArrayLike<number>, channels: number): number[] =>
  Array.from({ length: channels }, (_, c) => a[a.length === 1 ? 0 : c]);

/**
 * Requantizes `acc` laid out `[outer, channels, inner]` with `p`, in plain TypeScript.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intRequantReference } from "./int_requant.ts";
 * const p = { multiplier: Int32Array.of(16384), shift: Uint8Array.of(15), lo: -128, hi: [127], bytes: 1 } as const;
 * assert(intRequantReference(Int32Array.of(3, -3, 1000), 1, 3, p).join() === "2,-1,127");
 * ```
 */
export function intRequantReference(
  acc: Int32Array,
  channels: number,
  inner: number,
  p: IntRequantParams,
): Int8Array | Int16Array {
  const out = p.bytes === 1 ? new Int8Array(acc.length) : new Int16Array(acc.length);
  const M = perChannel(p.multiplier, channels),
    n = perChannel(p.shift, channels),
    hi = perChannel(p.hi, channels);
  for (let i = 0; i < acc.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const pow = 2 ** n[c], prod = acc[i] * M[c], q = Math.floor(prod / pow);
    const y = prod - q * pow >= pow / 2 ? q + 1 : q;
    out[i] = y < p.lo ? p.lo : y > hi[c] ? hi[c] : y;
  }
  return out;
}

/**
 * One shift `S` for all channels and the multipliers `M · 2^(S - n)` that go with it (the same integers:
 * numerator and divisor of the floor scaled by one power of two), when every such multiplier stays below
 * 2^31 (so that `acc · M` stays exact in int64); undefined otherwise.
 */
function uniformShift(
  p: IntRequantParams,
  channels: number,
): { shift: number; multiplier: number[] } | undefined {
  const M = perChannel(p.multiplier, channels), n = perChannel(p.shift, channels);
  const S = Math.max(...n);
  const multiplier = M.map((m, c) => m * 2 ** (S - n[c]));
  return multiplier.every((m) => m < 2 ** 31) ? { shift: S, multiplier } : undefined;
}

/** Whether every `M < 2^15` and `16 ≤ n ≤ 31`, where the kernels requantize in 32-bit lanes. */
const narrowRule = (p: IntRequantParams) =>
  p.multiplier.every((m, c) => m < 2 ** 15 && p.shift[c] >= 16 && p.shift[c] <= 31);

/** Whether every multiplier is at most 1 (`M ≤ 2^n`), so that every requantized int32 fits int32. */
const fitsInt32 = (p: IntRequantParams) => p.multiplier.every((m, c) => m <= 2 ** p.shift[c]);

/**
 * Requantizes the int32 accumulators at byte address `acc` (`[outer, channels, inner]`) into `out` (int8 or
 * int16 as `p.bytes` says), split across the kernel threads by rows.
 */
export function intRequantWasm(
  rt: KernelRuntime,
  acc: number,
  dims: { outer: number; channels: number; inner: number },
  p: IntRequantParams,
  out: number,
): void {
  const { outer, channels, inner } = dims;
  const mult = rt.putInts(perChannel(p.multiplier, channels));
  const shift = rt.putInts(perChannel(p.shift, channels));
  const hi = rt.putInts(perChannel(p.hi, channels));
  const uniform = uniformShift(p, channels);
  const desc = rt.putInts([
    outer,
    channels,
    inner,
    acc,
    mult,
    shift,
    hi,
    p.lo,
    out,
    p.bytes,
    uniform ? uniform.shift : -1,
    uniform ? rt.putInts(uniform.multiplier) : 0,
    fitsInt32(p) ? 1 : 0,
    narrowRule(p) ? 1 : 0,
  ]);
  const rows = outer * channels;
  const threads = rows * inner >= PARALLEL_ELEMENTS ? rt.threads() : 1;
  const step = Math.max(1, Math.ceil(rows / (4 * threads)));
  const parts: number[][] = [];
  for (let r = 0; r < rows; r += step) parts.push([desc, r, Math.min(rows, r + step)]);
  if (parts.length > 0) rt.run("int_requant_run", parts);
}

/** Options of {@linkcode intRequantFast}. */
export interface IntRequantFastOptions {
  /** The accumulators' layout `[outer, channels, inner]` (channels along the middle axis). */
  readonly layout: { readonly outer: number; readonly channels: number; readonly inner: number };
  /** The requantization. */
  readonly requant: IntRequantParams;
  /** Where to write the output (an array of the accumulators' length and the output type). */
  readonly out?: Int8Array | Int16Array;
}

/**
 * Requantizes int32 accumulators `acc` laid out as `options.layout` says with `options.requant` (see
 * {@linkcode IntRequantParams}) on the WebAssembly kernels, or in plain TypeScript where they cannot run:
 * the same integers as `@hqat/qtensor`'s `requantize` with the matching clamp.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intRequantFast } from "@hqat/tensor";
 * const requant = { multiplier: Int32Array.of(16384, 16384), shift: Uint8Array.of(15, 14), lo: 0, hi: [127], bytes: 1 } as const;
 * const y = intRequantFast(Int32Array.of(3, -3, 5, 1000), { layout: { outer: 1, channels: 2, inner: 2 }, requant });
 * assert(y.join() === "2,0,5,127");
 * ```
 */
export function intRequantFast(acc: Int32Array, options: IntRequantFastOptions): Int8Array | Int16Array {
  const op = "intRequantFast", dims = options.layout, p = options.requant, into = options.out;
  if (!(acc instanceof Int32Array)) throw new TypeError(`${op}: the accumulators must be an Int32Array`);
  if (dims.outer * dims.channels * dims.inner !== acc.length) {
    throw new RangeError(
      `${op}: ${acc.length} accumulators for [${dims.outer}, ${dims.channels}, ${dims.inner}]`,
    );
  }
  checkRequantParams(op, p, dims.channels);
  checkIntOutput(op, into, p.bytes, acc.length);
  const slow = () => intoOrSelf(intRequantReference(acc, dims.channels, dims.inner, p), into);
  const rt = kernelRuntime();
  if (!rt || acc.length === 0) return slow();
  try {
    rt.reset();
    const a = rt.putBytes(acc), out = rt.outputBytes(into, acc.length, p.bytes);
    intRequantWasm(rt, a, dims, p, out);
    return rt.takeBytes(out, acc.length, p.bytes, into);
  } catch (e) {
    if (e instanceof KernelMemoryError) return slow();
    throw e;
  } finally {
    rt.reset();
  }
}

/** Options of {@linkcode intAddRequantFast}. */
export interface IntAddRequantOptions {
  /** The shift of the operand with the larger scale (`x`): `x · 2^k`. */
  readonly k: number;
  /** The other operand's multiplier: `y · t`. */
  readonly t: number;
  /** The requantization of the sum (one multiplier and one bound for the whole tensor). */
  readonly requant: IntRequantParams;
  /** Where to write the output (an array of the operands' length and the output type). */
  readonly out?: Int8Array | Int16Array;
}

/**
 * SPEC.md's add of two int8/int16 operands of one length — the int32 sum `x · 2^k + y · t` (`x` the operand
 * with the larger scale; SPEC's limits `k ≤ 23` for int8 or 15 for int16 and `|t| ≤ 32767` keep it exact)
 * — requantized, on the WebAssembly kernels (plain TypeScript where they cannot run).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intAddRequantFast } from "@hqat/tensor";
 * const requant = { multiplier: Int32Array.of(16384), shift: Uint8Array.of(15), lo: -128, hi: [127], bytes: 1 } as const;
 * // (x · 2 + y · 1) / 2, halves rounding up
 * const y = intAddRequantFast(Int8Array.of(1, -3, 100), Int8Array.of(1, 0, 100), { k: 1, t: 1, requant });
 * assert(y.join() === "2,-3,127");
 * ```
 */
export function intAddRequantFast(
  x: Int8Array | Int16Array,
  y: Int8Array | Int16Array,
  options: IntAddRequantOptions,
): Int8Array | Int16Array {
  const op = "intAddRequantFast", { k, t, requant: p, out: into } = options;
  for (const v of [x, y]) {
    if (!(v instanceof Int8Array) && !(v instanceof Int16Array)) {
      throw new TypeError(`${op}: the operands must be Int8Array or Int16Array`);
    }
  }
  if (x.length !== y.length) throw new RangeError(`${op}: operands of ${x.length} and ${y.length} elements`);
  const kMax = x instanceof Int8Array ? 23 : 15;
  if (!(Number.isInteger(k) && k >= 0 && k <= kMax && Number.isInteger(t) && Math.abs(t) <= 32767)) {
    throw new RangeError(`${op}: k ${k} or t ${t} is out of range (k ≤ ${kMax}, |t| ≤ 32767)`);
  }
  if (p.multiplier.length !== 1 || p.hi.length !== 1) {
    throw new RangeError(`${op}: the sum takes one multiplier and one bound`);
  }
  checkRequantParams(op, p, 1);
  checkIntOutput(op, into, p.bytes, x.length);
  const slow = () => {
    const sum = new Int32Array(x.length);
    for (let i = 0; i < sum.length; i++) sum[i] = x[i] * 2 ** k + y[i] * t;
    return intoOrSelf(intRequantReference(sum, 1, sum.length, p), into);
  };
  const rt = kernelRuntime();
  if (!rt || x.length === 0) return slow();
  try {
    rt.reset();
    const xp = rt.putBytes(x), yp = rt.putBytes(y), out = rt.outputBytes(into, x.length, p.bytes);
    const desc = rt.putInts([
      x.length,
      xp,
      x.BYTES_PER_ELEMENT,
      yp,
      y.BYTES_PER_ELEMENT,
      k,
      t,
      p.multiplier[0],
      p.shift[0],
      p.lo,
      p.hi[0],
      fitsInt32(p) ? 1 : 0,
      out,
      p.bytes,
    ]);
    const threads = x.length >= PARALLEL_ELEMENTS ? rt.threads() : 1;
    const step = Math.max(4, Math.ceil(x.length / (4 * threads) / 4) * 4);
    const parts: number[][] = [];
    for (let i = 0; i < x.length; i += step) parts.push([desc, i, Math.min(x.length, i + step)]);
    rt.run("int_add_requant_run", parts);
    return rt.takeBytes(out, x.length, p.bytes, into);
  } catch (e) {
    if (e instanceof KernelMemoryError) return slow();
    throw e;
  } finally {
    rt.reset();
  }
}

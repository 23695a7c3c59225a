/**
 * Table-lookup activations on integers: a table over the input's whole integer grid (256 entries for a
 * qint8 input, 65536 for qint16, indexed by `q − qmin`) holding the float function of each grid point
 * quantized to the output — so the integer model's activation is exactly the float function applied to
 * the dequantized input and quantized, with no arithmetic at run time.
 * @module
 */

import { type QArray, qrange } from "./dtypes.ts";
import { dequantize, quantize } from "./quantize.ts";

/** The grids a table is built for: the input's dtype and scale, the output's dtype and scale. */
export interface LutGrids {
  /** The input dtype (its whole range is tabulated). */
  readonly inDtype: "qint8" | "qint16";
  /** The input scale. */
  readonly inScale: number;
  /** The output dtype (the table's element type). */
  readonly outDtype: "qint8" | "qint16";
  /** The output scale. */
  readonly outScale: number;
}

/**
 * The table of `f` between two grids: `f` is applied once to the whole dequantized input grid
 * (`float32(q · inScale)` for `q = qmin … qmax`, in that order) and each result is quantized to the output
 * (SPEC.md's quantize: float32 division, round half to even, saturating). Entry `q − qmin` is the output
 * integer of input `q`. Throws a `RangeError` when `f` gives NaN or the wrong number of values.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { lutTable } from "@hqat/qtensor";
 * const relu = (x: Float32Array) => x.map((v) => Math.max(v, 0));
 * const t = lutTable(relu, { inDtype: "qint8", inScale: 0.5, outDtype: "qint8", outScale: 1 });
 * assert(t instanceof Int8Array && t.length === 256);
 * assert(t[0] === 0 && t[128 + 3] === 2 && t[255] === 64); // 1.5 rounds to 2, 63.5 to 64
 * ```
 */
export function lutTable(f: (x: Float32Array) => Float32Array, grids: LutGrids): Int8Array | Int16Array {
  const { qmin, qmax } = qrange(grids.inDtype);
  const grid = Int32Array.from({ length: qmax - qmin + 1 }, (_, i) => qmin + i);
  const y = f(dequantize(grid, grids.inScale));
  if (y.length !== grid.length) {
    throw new RangeError(`lutTable(): f gives ${y.length} values for the ${grid.length}-point input grid`);
  }
  const bad = y.findIndex((v) => v !== v);
  if (bad >= 0) throw new RangeError(`lutTable(): f gives NaN at input ${qmin + bad}`);
  return quantize(y, grids.outScale, { dtype: grids.outDtype }) as Int8Array | Int16Array;
}

/**
 * The table lookup `table[q − qmin]` of every input integer: a 256-entry table takes an int8 input, a
 * 65536-entry one an int16 input; the result has the table's type. Throws a `RangeError` otherwise.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intLut } from "@hqat/qtensor";
 * const table = Int8Array.from({ length: 256 }, (_, i) => (i - 128) >> 1);
 * assert(intLut(Int8Array.of(-128, -1, 0, 127), table).join() === "-64,-1,0,63");
 * ```
 */
export function intLut(x: QArray, table: Int8Array | Int16Array): Int8Array | Int16Array {
  const qmin = x instanceof Int8Array ? -128 : x instanceof Int16Array ? -32768 : undefined;
  if (qmin === undefined || table.length !== -2 * qmin) {
    throw new RangeError(
      `intLut(): a ${table.length}-entry table does not cover the grid of a ${x.constructor.name} input`,
    );
  }
  const out = new (table.constructor as Int8ArrayConstructor | Int16ArrayConstructor)(x.length);
  for (let i = 0; i < x.length; i++) out[i] = table[x[i] - qmin];
  return out;
}

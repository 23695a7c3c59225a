import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { dequantize, intLut, lutTable, quantize } from "@hqat/qtensor";

const scale = fc.oneof(
  fc.integer({ min: -12, max: 2 }).map((e) => 2 ** e),
  fc.double({ min: 2 ** -14, max: 4, noNaN: true }).map(Math.fround),
);
const dtype = fc.constantFrom("qint8" as const, "qint16" as const);
const tanh = (x: Float32Array) => x.map(Math.tanh);

Deno.test("lutTable() quantizes f of every dequantized grid point, and intLut() reads it", () => {
  fc.assert(
    fc.property(scale, scale, dtype, dtype, fc.integer(), (si, so, din, dout, seed) => {
      const table = lutTable(tanh, { inDtype: din, inScale: si, outDtype: dout, outScale: so });
      const [lo, hi] = din === "qint8" ? [-128, 127] : [-32768, 32767];
      assertEquals(table.length, hi - lo + 1);
      assertEquals(table instanceof Int16Array, dout === "qint16");
      const q = Int32Array.from(
        { length: 64 },
        (_, i) => (i < 2 ? [lo, hi][i] : lo + (((seed + i) * 2654435761) >>> 0) % (hi - lo + 1)),
      );
      const x = din === "qint8" ? Int8Array.from(q) : Int16Array.from(q);
      const y = intLut(x, table);
      // The same float function on the dequantized integers, quantized to the output.
      assertEquals(y, quantize(tanh(dequantize(x, si)), so, { dtype: dout }));
    }),
    { seed: 41, numRuns: 120 },
  );
});

Deno.test("lutTable() and intLut() refuse NaN and tables of the wrong size", () => {
  const grids = { inDtype: "qint8", inScale: 1, outDtype: "qint8", outScale: 1 } as const;
  assertThrows(() => lutTable((x) => x.map((v) => (v === 3 ? NaN : v)), grids), RangeError, "NaN at input 3");
  assertThrows(() => lutTable((x) => x.slice(1), grids), RangeError, "255 values");
  assertThrows(() => intLut(Int16Array.of(1), new Int8Array(256)), RangeError, "does not cover");
  assertThrows(() => intLut(Int32Array.of(1), new Int8Array(256)), RangeError);
});

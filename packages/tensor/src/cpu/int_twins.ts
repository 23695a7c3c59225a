/**
 * CPU kernels of the fake twins of the integer program's kinds added for imported networks: each
 * recovers the integers of its fake-quantized inputs, runs `@hqat/qtensor`'s reference kernel of the
 * kind and its requantization, and dequantizes — the integer model's values as floats.
 * @module
 */
import { intLut, quantize } from "@hqat/qtensor";
import type { OpAttrs } from "../ops.ts";
import type { Tensor } from "../tensor.ts";

/** The integers of a fake-quantized tensor (exact multiples of the scale quantize back to themselves). */
function ints(x: Tensor, scale: number, dtype: "qint8" | "qint16"): Int8Array | Int16Array {
  return quantize(x.data, scale, { dtype }) as Int8Array | Int16Array;
}

/** `q · scale` as float32 (SPEC.md's dequantize). */
function floats(q: ArrayLike<number>, scale: number): Float32Array {
  const out = new Float32Array(q.length), s = Math.fround(scale);
  for (let i = 0; i < out.length; i++) out[i] = q[i] * s;
  return out;
}

/** lutFake: the table lookup of the fake-quantized input, dequantized (see the op's doc). */
export function lutFakeKernel(x: Tensor, table: Tensor, o: OpAttrs["lutFake"]): Float32Array {
  // int16 holds every int8 or int16 table entry; the lookup's values do not depend on the table's type.
  return floats(intLut(ints(x, o.scaleIn, o.dtypeIn), Int16Array.from(table.data as Int32Array)), o.outScale);
}

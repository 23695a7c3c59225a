/**
 * Standalone ReLU and ReLU6 on quantized integers: they keep the input dtype and scale.
 * @module
 */

import { qrange, type QTensor, qtensor } from "./dtypes.ts";
import { resolveLayout } from "./layout.ts";
import { relu6Bound } from "./requantize.ts";

function clampTensor(x: QTensor, hiOf: (scale: number) => number): QTensor {
  const { outer, channels, inner } = resolveLayout(x.scale.length, x.data.length, x);
  const xd = x.data;
  const out = new (xd.constructor as new (n: number) => typeof xd)(xd.length);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const hi = hiOf(x.scale[c]);
      const end = i + inner;
      for (; i < end; i++) {
        const v = xd[i];
        out[i] = v < 0 ? 0 : v > hi ? hi : v;
      }
    }
  }
  return qtensor(out, { shape: x.shape, scale: x.scale, axis: x.axis, dtype: x.dtype });
}

/**
 * Integer ReLU: `max(q, 0)`, same dtype and scale.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intRelu, qtensor } from "@hqat/qtensor";
 * const y = intRelu(qtensor(Int8Array.of(-3, 0, 5), { shape: [3], scale: 0.1 }));
 * assert(y.data.join() === "0,0,5" && y.scale[0] === Math.fround(0.1));
 * ```
 */
export function intRelu(x: QTensor): QTensor {
  const { qmax } = qrange(x.dtype);
  return clampTensor(x, () => qmax);
}

/**
 * Integer ReLU6: `clamp(q, 0, min(qmax, round(6 / s)))` per channel scale, same dtype and scale.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { intRelu6, qtensor } from "@hqat/qtensor";
 * const y = intRelu6(qtensor(Int8Array.of(-3, 50, 70), { shape: [3], scale: 0.1 }));
 * assert(y.data.join() === "0,50,60");
 * ```
 */
export function intRelu6(x: QTensor): QTensor {
  const { qmax } = qrange(x.dtype);
  return clampTensor(x, (s) => relu6Bound(s, qmax));
}

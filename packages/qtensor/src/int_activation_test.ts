import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { qtensor } from "./dtypes.ts";
import { intRelu, intRelu6 } from "./int_activation.ts";
import { quantize } from "./quantize.ts";

Deno.test("intRelu() and intRelu6() clamp the integers and keep dtype and scale", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 1, maxLength: 30 }),
      fc.float({ min: Math.fround(1e-4), max: 1, noNaN: true }),
      (vals, s) => {
        const x = qtensor(Int16Array.from(vals), { shape: [vals.length], scale: s });
        const r = intRelu(x), r6 = intRelu6(x);
        const six = quantize([6], s, { dtype: "qint16" })[0]; // the integer of 6 on this grid
        assertEquals(Array.from(r.data), vals.map((v) => Math.max(0, v)));
        assertEquals(Array.from(r6.data), vals.map((v) => Math.min(six, Math.max(0, v))));
        assertEquals([r6.dtype, r6.scale[0]], ["qint16", Math.fround(s)]);
      },
    ),
    { seed: 42, numRuns: 200 },
  );
});

Deno.test("intRelu6() uses each channel's own bound for per-channel scales", () => {
  const x = qtensor(Int8Array.of(100, 100, 100, 100), { shape: [2, 2], scale: [0.1, 0.05], axis: 0 });
  assertEquals(Array.from(intRelu6(x).data), [60, 60, 100, 100]);
});

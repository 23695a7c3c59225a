import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { intAvgPool2d, intAvgPoolWindowSum, intMaxPool2d, intMaxPoolWindow, qtensor } from "@hqat/qtensor";

const window = fc.record({
  k: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
  s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  p: fc.tuple(fc.nat(2), fc.nat(2)),
  h: fc.integer({ min: 1, max: 7 }),
  w: fc.integer({ min: 1, max: 7 }),
  ceilMode: fc.boolean(),
  countIncludePad: fc.boolean(),
  seed: fc.integer(),
});

Deno.test("intAvgPoolWindowSum() rescales each window's sum to the kernel area, rounding half up", () => {
  fc.assert(
    fc.property(window, (g) => {
      const padding = [Math.min(g.p[0], g.k[0] >> 1), Math.min(g.p[1], g.k[1] >> 1)] as const;
      const spec = {
        kernel: g.k,
        stride: g.s,
        padding,
        ceilMode: g.ceilMode,
        countIncludePad: g.countIncludePad,
      };
      const x = Int16Array.from(
        { length: 2 * g.h * g.w },
        (_, i) => (i % 3 === 0 ? -32768 : ((i + g.seed) * 2654435761) % 32768),
      );
      let y: { data: Int32Array; shape: number[] };
      try {
        y = intAvgPoolWindowSum(x, [1, 2, g.h, g.w], spec);
      } catch {
        return; // a window that does not fit
      }
      const [, , oh, ow] = y.shape, K = g.k[0] * g.k[1];
      for (let p = 0; p < 2; p++) {
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            let s = 0, real = 0, padded = 0;
            for (let a = 0; a < g.k[0]; a++) {
              for (let b = 0; b < g.k[1]; b++) {
                const yy = oy * g.s[0] - padding[0] + a, xx = ox * g.s[1] - padding[1] + b;
                const inside = yy >= 0 && yy < g.h && xx >= 0 && xx < g.w;
                if (inside) {
                  s += x[(p * g.h + yy) * g.w + xx];
                  real++;
                }
                if (yy < g.h + padding[0] && xx < g.w + padding[1]) padded++;
              }
            }
            const c = g.countIncludePad ? padded : real;
            const exact = c === K ? s : Math.floor((2 * s * K + c) / (2 * c));
            assertEquals(y.data[(p * oh + oy) * ow + ox], exact);
          }
        }
      }
      if (!g.ceilMode && g.countIncludePad) {
        // The plain case is SPEC.md's window sum: the existing kernel's, before requantization.
        const q = qtensor(x, { shape: [1, 2, g.h, g.w], scale: 1 });
        const ref = intAvgPool2d(q, {
          kernelSize: g.k,
          stride: g.s,
          padding,
          output: { dtype: "qint16", scale: 1 / K },
        });
        assertEquals(Array.from(ref.data), Array.from(y.data, (v) => Math.max(-32768, Math.min(32767, v))));
      }
    }),
    { seed: 171, numRuns: 300 },
  );
});

Deno.test("intMaxPoolWindow() takes the largest real cell, ceil mode included", () => {
  fc.assert(
    fc.property(window, (g) => {
      const padding = [Math.min(g.p[0], g.k[0] >> 1), Math.min(g.p[1], g.k[1] >> 1)] as const;
      const x = Int8Array.from({ length: g.h * g.w }, (_, i) => ((i + g.seed) * 97) % 256 - 128);
      let y: { data: Int8Array; shape: number[] };
      try {
        y = intMaxPoolWindow(x, [1, 1, g.h, g.w], {
          kernel: g.k,
          stride: g.s,
          padding,
          ceilMode: g.ceilMode,
        });
      } catch {
        return;
      }
      if (!g.ceilMode) {
        const ref = intMaxPool2d(qtensor(x, { shape: [1, 1, g.h, g.w], scale: 1 }), {
          kernelSize: g.k,
          stride: g.s,
          padding,
        });
        assertEquals(y.data, ref.data);
      }
      assertEquals(y.data.every((v) => v >= -128 && v <= 127), true);
    }),
    { seed: 172, numRuns: 200 },
  );
  assertThrows(
    () =>
      intMaxPoolWindow(new Int8Array(4), [1, 1, 2, 2], { kernel: [2, 2], stride: [1, 1], padding: [2, 0] }),
    RangeError,
  );
});

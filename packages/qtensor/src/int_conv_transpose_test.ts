import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  checkAccumulator,
  convTransposeByOutput,
  convTransposeShape,
  intConvTranspose2dAccumulate,
} from "@hqat/qtensor";

const geometry = fc.record({
  stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  op: fc.tuple(fc.nat(), fc.nat()),
  groups: fc.integer({ min: 1, max: 2 }),
});

Deno.test("intConvTranspose2dAccumulate() is the gather of every tap whose stride lands on the output", () => {
  fc.assert(
    fc.property(
      geometry,
      fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
      fc.tuple(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
      ),
      fc.integer(),
      (geo, [cig, cog], [h, w, kh, kw], seed) => {
        const g = {
          ...geo,
          outputPadding: [
            geo.op[0] % Math.max(geo.stride[0], geo.dilation[0]),
            geo.op[1] % Math.max(geo.stride[1], geo.dilation[1]),
          ] as [number, number],
        };
        const cin = cig * g.groups, xShape = [2, cin, h, w], wShape = [cin, cog, kh, kw];
        let shape: number[];
        try {
          shape = convTransposeShape(xShape, wShape, g);
        } catch {
          return; // padding that leaves no output
        }
        const x = Int16Array.from(
          { length: 2 * cin * h * w },
          (_, i) => (i % 3 === 0 ? -32768 : ((i + seed) * 7919) % 32768),
        );
        const wt = Int8Array.from(
          { length: cin * cog * kh * kw },
          (_, i) => (i % 4 === 0 ? -128 : ((i * 31 + seed) % 256) - 128),
        );
        const bias = Int32Array.from({ length: cog * g.groups }, (_, i) => i * 1000 - 500);
        const y = intConvTranspose2dAccumulate(x, xShape, wt, wShape, g, bias);
        assertEquals(y.shape, shape);
        const [, cout, oh, ow] = shape;
        for (let b = 0; b < 2; b++) {
          for (let co = 0; co < cout; co++) {
            const grp = Math.floor(co / cog);
            for (let oy = 0; oy < oh; oy++) {
              for (let ox = 0; ox < ow; ox++) {
                let s = bias[co];
                for (let ci = grp * cig; ci < (grp + 1) * cig; ci++) {
                  for (let ky = 0; ky < kh; ky++) {
                    const ty = oy + g.padding[0] - ky * g.dilation[0];
                    if (ty % g.stride[0] !== 0 || ty < 0 || ty / g.stride[0] >= h) continue;
                    for (let kx = 0; kx < kw; kx++) {
                      const tx = ox + g.padding[1] - kx * g.dilation[1];
                      if (tx % g.stride[1] !== 0 || tx < 0 || tx / g.stride[1] >= w) continue;
                      s += x[((b * cin + ci) * h + ty / g.stride[0]) * w + tx / g.stride[1]] *
                        wt[((ci * cog + co - grp * cog) * kh + ky) * kw + kx];
                    }
                  }
                }
                assertEquals(y.data[((b * cout + co) * oh + oy) * ow + ox], s | 0);
              }
            }
          }
        }
      },
    ),
    { seed: 131, numRuns: 120 },
  );
});

Deno.test("convTransposeByOutput() lets checkAccumulator bound each output channel; convTransposeShape() checks", () => {
  const w = new Int8Array(2 * 3 * 2 * 2).fill(-128);
  const byOut = convTransposeByOutput(w, [2, 3, 2, 2], 1);
  checkAccumulator(byOut, { channels: 3, inputRange: { qmin: -128, qmax: 127 } });
  assertThrows(
    () =>
      checkAccumulator(convTransposeByOutput(new Int8Array(20000 * 4).fill(-128), [20000, 1, 2, 2], 1), {
        channels: 1,
        inputRange: { qmin: -32768, qmax: 32767 },
      }),
    RangeError,
  );
  const g = { stride: [2, 2], padding: [0, 0], outputPadding: [2, 0], dilation: [1, 1], groups: 1 } as const;
  assertThrows(() => convTransposeShape([1, 2, 3, 3], [2, 1, 2, 2], g), RangeError, "below the stride");
  assertThrows(
    () => convTransposeShape([1, 3, 3, 3], [2, 1, 2, 2], { ...g, outputPadding: [0, 0] }),
    RangeError,
  );
});

import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { type QTensor, qtensor } from "./dtypes.ts";
import { div, exact, int, mul, roundHalfEvenR } from "./exact_test_util.ts";
import { intAdaptiveAvgPool2d, intAvgPool2d, intMaxPool2d } from "./int_pool.ts";
import { computeMultiplier, requantize } from "./requantize.ts";

const RUNS = { seed: 42, numRuns: 200 };
const f32 = Math.fround;

const poolCase = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 7 }),
    w: fc.integer({ min: 1, max: 7 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    int16: fc.boolean(),
    sx: fc.float({ min: f32(1e-3), max: 2, noNaN: true }),
    so: fc.float({ min: f32(1e-3), max: 2, noNaN: true }),
    seed: fc.integer(),
  })
  .filter((c) => 2 * c.ph <= c.kh && 2 * c.pw <= c.kw && c.h + 2 * c.ph >= c.kh && c.w + 2 * c.pw >= c.kw)
  .map((c) => {
    let s = c.seed >>> 0 || 5;
    const r = c.int16 ? 32768 : 128;
    const size = c.n * c.c * c.h * c.w;
    const data = c.int16 ? new Int16Array(size) : new Int8Array(size);
    for (let i = 0; i < size; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[i] = -r + Math.floor((s / 2 ** 32) * 2 * r);
    }
    return { ...c, x: qtensor(data, { shape: [c.n, c.c, c.h, c.w], scale: c.sx }) };
  });

/** Windows by definition: for each output, the in-bounds values of its kernel window (padding holds no values). */
function windows(x: QTensor, k: [number, number], s: [number, number], p: [number, number]): number[][] {
  const [N, C, H, W] = x.shape;
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1, OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  const out: number[][] = [];
  for (let nc = 0; nc < N * C; nc++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const win: number[] = [];
        for (let a = 0; a < k[0]; a++) {
          for (let b = 0; b < k[1]; b++) {
            const y = i * s[0] - p[0] + a, xx = j * s[1] - p[1] + b;
            if (y >= 0 && y < H && xx >= 0 && xx < W) win.push(x.data[(nc * H + y) * W + xx]);
          }
        }
        out.push(win);
      }
    }
  }
  return out;
}

Deno.test("intAvgPool2d() requantizes the window sum with m = sx / (kh · kw · so), padding counted", () => {
  fc.assert(
    fc.property(poolCase, (c) => {
      const y = intAvgPool2d(c.x, {
        kernelSize: [c.kh, c.kw],
        stride: [c.sh, c.sw],
        padding: [c.ph, c.pw],
        output: { dtype: "qint8", scale: c.so },
      });
      const wins = windows(c.x, [c.kh, c.kw], [c.sh, c.sw], [c.ph, c.pw]);
      const sums = Int32Array.from(wins, (w) => w.reduce((p, v) => p + v, 0));
      const m = computeMultiplier(c.x.scale[0] / (c.kh * c.kw * f32(c.so)));
      assertEquals(Array.from(y.data), Array.from(requantize(sums, m, { dtype: "qint8" })));
      // Within one LSB of the exactly rounded mean (divisor kh · kw even where the window hangs over padding).
      for (let i = 0; i < sums.length; i++) {
        const real = div(mul(int(sums[i]), exact(c.x.scale[0])), mul(int(c.kh * c.kw), exact(f32(c.so))));
        let r = roundHalfEvenR(real);
        r = r < -128n ? -128n : r > 127n ? 127n : r;
        const d = BigInt(y.data[i]) - r;
        assert(d >= -1n && d <= 1n);
      }
    }),
    RUNS,
  );
});

Deno.test("intAdaptiveAvgPool2d() to 1x1 averages the whole plane", () => {
  fc.assert(
    fc.property(poolCase, (c) => {
      const y = intAdaptiveAvgPool2d(c.x, { output: { dtype: "qint16", scale: c.so } });
      assertEquals(y.shape, [c.n, c.c, 1, 1]);
      const plane = c.h * c.w;
      const sums = Int32Array.from({ length: c.n * c.c }, (_, p) => {
        let s = 0;
        for (let i = 0; i < plane; i++) s += c.x.data[p * plane + i];
        return s;
      });
      const m = computeMultiplier(c.x.scale[0] / (plane * f32(c.so)));
      assertEquals(Array.from(y.data), Array.from(requantize(sums, m, { dtype: "qint16" })));
    }),
    RUNS,
  );
  const x = qtensor(new Int8Array(4), { shape: [1, 1, 2, 2], scale: 1 });
  assertThrows(
    () => intAdaptiveAvgPool2d(x, { outputSize: 2, output: { dtype: "qint8", scale: 1 } }),
    RangeError,
    "1x1",
  );
});

Deno.test("intMaxPool2d() takes the largest integer of each window and keeps dtype and scale", () => {
  fc.assert(
    fc.property(poolCase, (c) => {
      const y = intMaxPool2d(c.x, { kernelSize: [c.kh, c.kw], stride: [c.sh, c.sw], padding: [c.ph, c.pw] });
      const wins = windows(c.x, [c.kh, c.kw], [c.sh, c.sw], [c.ph, c.pw]);
      assertEquals(Array.from(y.data), wins.map((w) => Math.max(...w)));
      assertEquals([y.dtype, y.scale[0]], [c.x.dtype, c.x.scale[0]]);
    }),
    RUNS,
  );
});

Deno.test("intAvgPool2d() and intMaxPool2d() validate geometry and input", () => {
  const x = qtensor(new Int8Array(16), { shape: [1, 1, 4, 4], scale: 1 });
  assertThrows(() => intMaxPool2d(x, { kernelSize: 2, padding: 2 }), RangeError, "half");
  assertThrows(() => intAvgPool2d(x, { kernelSize: 5, output: { dtype: "qint8", scale: 1 } }), RangeError);
  const x32 = qtensor(new Int32Array(16), { shape: [1, 1, 4, 4], scale: 1 });
  assertThrows(() => intAvgPool2d(x32, { kernelSize: 2, output: { dtype: "qint8", scale: 1 } }), TypeError);
  assertEquals(Array.from(intMaxPool2d(x, { kernelSize: 2 }).data), [0, 0, 0, 0]);
});

import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { type QTensor, qtensor } from "./dtypes.ts";
import { checkAccumulator, quantizeBias } from "./int_accumulate.ts";
import { intConv2d, intConv2dAccumulate, intLinear } from "./int_conv.ts";
import { div, exact, roundHalfEvenR } from "./exact_test_util.ts";
import { computeMultiplier, requantize } from "./requantize.ts";

const RUNS = { seed: 42, numRuns: 150 };
const f32 = Math.fround;

interface ConvCase {
  x: QTensor;
  w: QTensor;
  bias?: number[];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

function lcg(seed: number) {
  let s = seed >>> 0 || 7;
  return (lo: number, hi: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + Math.floor((s / 2 ** 32) * (hi - lo + 1));
  };
}

const convRecord = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  groupKind: fc.constantFrom("one", "two", "depthwise"),
  cg: fc.integer({ min: 1, max: 3 }),
  og: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 7 }),
  w: fc.integer({ min: 1, max: 7 }),
  kh: fc.integer({ min: 1, max: 3 }),
  kw: fc.integer({ min: 1, max: 3 }),
  sh: fc.integer({ min: 1, max: 3 }),
  sw: fc.integer({ min: 1, max: 2 }),
  ph: fc.integer({ min: 0, max: 2 }),
  pw: fc.integer({ min: 0, max: 2 }),
  dh: fc.integer({ min: 1, max: 2 }),
  dw: fc.integer({ min: 1, max: 2 }),
  int16: fc.boolean(),
  withBias: fc.boolean(),
  seed: fc.integer(),
  sx: fc.float({ min: f32(1e-3), max: 1, noNaN: true }),
});

type ConvRecord = typeof convRecord extends fc.Arbitrary<infer T> ? T : never;

/** Builds random operands for a geometry. */
function buildCase(c: ConvRecord): ConvCase {
  const rnd = lcg(c.seed);
  const groups = c.groupKind === "one" ? 1 : c.groupKind === "two" ? 2 : 3;
  const cg = c.groupKind === "depthwise" ? 1 : c.cg;
  const og = c.groupKind === "depthwise" ? 1 : c.og;
  const C = cg * groups, O = og * groups;
  const xr = c.int16 ? [-32768, 32767] : [-128, 127];
  const xd = c.int16 ? new Int16Array(c.n * C * c.h * c.w) : new Int8Array(c.n * C * c.h * c.w);
  for (let i = 0; i < xd.length; i++) xd[i] = rnd(xr[0], xr[1]);
  const wd = new Int8Array(O * cg * c.kh * c.kw);
  for (let i = 0; i < wd.length; i++) wd[i] = rnd(-128, 127);
  const sw = Array.from({ length: O }, () => rnd(1, 1000) / 4096);
  return {
    x: qtensor(xd, { shape: [c.n, C, c.h, c.w], scale: c.sx }),
    w: qtensor(wd, { shape: [O, cg, c.kh, c.kw], scale: sw, axis: 0 }),
    bias: c.withBias ? Array.from({ length: O }, () => rnd(-1000, 1000) / 37) : undefined,
    stride: [c.sh, c.sw] as [number, number],
    padding: [c.ph, c.pw] as [number, number],
    dilation: [c.dh, c.dw] as [number, number],
    groups,
  };
}

const fits = (c: ConvRecord) =>
  c.h + 2 * c.ph >= c.dh * (c.kh - 1) + 1 && c.w + 2 * c.pw >= c.dw * (c.kw - 1) + 1;
const convCase: fc.Arbitrary<ConvCase> = convRecord.filter(fits).map(buildCase);
/** 1x1 stride-1 convolutions, where whole rows line up. */
const pointwiseCase: fc.Arbitrary<ConvCase> = convRecord
  .map((c) => ({ ...c, kh: 1, kw: 1, sh: 1, sw: 1, pw: 0 }))
  .filter(fits)
  .map(buildCase);

/** Direct definition: out[n, o, i, j] = Σ_{c in group, ky, kx} x[n, c, i·s + ky·d - p, j·s + kx·d - p] · w[o, c, ky, kx]. */
function referenceConv(
  c: ConvCase,
  term: (xv: number, wv: number, o: number) => number,
): { out: number[]; shape: number[] } {
  const [N, C, H, W] = c.x.shape, [O, Cg, KH, KW] = c.w.shape;
  const OH = Math.floor((H + 2 * c.padding[0] - c.dilation[0] * (KH - 1) - 1) / c.stride[0]) + 1;
  const OW = Math.floor((W + 2 * c.padding[1] - c.dilation[1] * (KW - 1) - 1) / c.stride[1]) + 1;
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / (O / c.groups));
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          let s = 0;
          for (let ci = 0; ci < Cg; ci++) {
            for (let ky = 0; ky < KH; ky++) {
              for (let kx = 0; kx < KW; kx++) {
                const y = i * c.stride[0] + ky * c.dilation[0] - c.padding[0];
                const xx = j * c.stride[1] + kx * c.dilation[1] - c.padding[1];
                if (y < 0 || y >= H || xx < 0 || xx >= W) continue;
                const xv = c.x.data[((n * C + g * Cg + ci) * H + y) * W + xx];
                s += term(xv, c.w.data[((o * Cg + ci) * KH + ky) * KW + kx], o);
              }
            }
          }
          out.push(s);
        }
      }
    }
  }
  return { out, shape: [N, O, OH, OW] };
}

const geometry = (c: ConvCase) => ({
  stride: c.stride,
  padding: c.padding,
  dilation: c.dilation,
  groups: c.groups,
});

Deno.test("intConv2dAccumulate() equals the direct integer convolution plus the int32 bias", () => {
  fc.assert(
    fc.property(fc.oneof(convCase, pointwiseCase), (c) => {
      const acc = intConv2dAccumulate(c.x, c.w, { ...geometry(c), bias: c.bias });
      const ref = referenceConv(c, (xv, wv) => xv * wv);
      assertEquals(acc.shape, ref.shape);
      const bq = c.bias === undefined ? undefined : quantizeBias(c.bias, c.x.scale[0], c.w.scale);
      const plane = ref.shape[2] * ref.shape[3];
      for (let i = 0; i < ref.out.length; i++) {
        const o = Math.floor(i / plane) % ref.shape[1];
        assertEquals(acc.data[i], ref.out[i] + (bq === undefined ? 0 : bq[o]));
      }
    }),
    RUNS,
  );
});

Deno.test("intConv2dAccumulate() · sx · sw equals the float64 conv of the dequantized operands, up to bias rounding", () => {
  fc.assert(
    fc.property(convCase, (c) => {
      const sx = c.x.scale[0];
      const acc = intConv2dAccumulate(c.x, c.w, { ...geometry(c), bias: c.bias });
      // Dequantized operands in float64 (q · s is exact there), then a plain float conv plus float bias.
      const ref = referenceConv(c, (xv, wv, o) => (xv * sx) * (wv * c.w.scale[o]));
      const plane = ref.shape[2] * ref.shape[3];
      for (let i = 0; i < ref.out.length; i++) {
        const o = Math.floor(i / plane) % ref.shape[1];
        const s = sx * c.w.scale[o];
        const floatOut = ref.out[i] + (c.bias === undefined ? 0 : f32(c.bias[o]));
        const diff = Math.abs(acc.data[i] * s - floatOut);
        assert(
          diff <= (c.bias === undefined ? 0 : 0.5 * s) + 1e-9 * (1 + Math.abs(floatOut)),
          `diff ${diff}, step ${s}`,
        );
      }
    }),
    RUNS,
  );
});

Deno.test("intConv2d() requantizes channel c with m = sx · sw[c] / so, or keeps the 32-bit accumulator", () => {
  fc.assert(
    fc.property(
      convCase,
      fc.float({ min: f32(1e-3), max: 10, noNaN: true }),
      fc.constantFrom(undefined, "relu" as const, "relu6" as const),
      (c, so, activation) => {
        const acc = intConv2dAccumulate(c.x, c.w, { ...geometry(c), bias: c.bias });
        const sx = c.x.scale[0];
        const mult = Array.from(c.w.scale, (sw) => computeMultiplier((sx * sw) / f32(so)));
        const y = intConv2d(c.x, c.w, {
          ...geometry(c),
          bias: c.bias,
          output: { dtype: "qint8", scale: so },
          activation,
        });
        const ref = requantize(acc.data, mult, {
          dtype: "qint8",
          axis: 1,
          shape: acc.shape,
          activation,
          scale: so,
        });
        assertEquals(Array.from(y.data), Array.from(ref));
        assertEquals(y.dtype, "qint8");
        assertEquals(y.scale[0], f32(so));
        const y32 = intConv2d(c.x, c.w, { ...geometry(c), bias: c.bias, output: { dtype: "qint32" } });
        assertEquals(Array.from(y32.data), Array.from(acc.data));
        assertEquals(Array.from(y32.scale), Array.from(c.w.scale, (sw) => f32(sx * sw)));
        assertEquals(y32.axis, 1);
      },
    ),
    { seed: 42, numRuns: 80 },
  );
});

Deno.test("intConv2d() handles a depthwise 3x3 stride-2 layer", () => {
  const x = qtensor(Int8Array.from({ length: 2 * 4 * 4 }, (_, i) => (i % 7) - 3), {
    shape: [1, 2, 4, 4],
    scale: 0.5,
  });
  const w = qtensor(Int8Array.from({ length: 2 * 9 }, (_, i) => (i % 3) - 1), {
    shape: [2, 1, 3, 3],
    scale: [1, 2],
    axis: 0,
  });
  const acc = intConv2dAccumulate(x, w, { stride: 2, padding: 1, groups: 2 });
  assertEquals(acc.shape, [1, 2, 2, 2]);
  // Channel 0, output (0, 0): window rows -1..1, cols -1..1 → x rows 0..1, cols 0..1 with weights w[1..2][1..2].
  const x00 = [x.data[0], x.data[1], x.data[4], x.data[5]],
    w00 = [w.data[4], w.data[5], w.data[7], w.data[8]];
  assertEquals(acc.data[0], x00.reduce((p, v, i) => p + v * w00[i], 0));
});

Deno.test("checkAccumulator() computes the exact worst case and intConv2d() rejects layers that overflow int32", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -128, max: 127 }), { minLength: 1, maxLength: 64 }),
      fc.boolean(),
      (wv, int16) => {
        const [qmin, qmax] = int16 ? [-32768, 32767] : [-128, 127];
        const w = Int8Array.from(wv);
        let hi = 0;
        for (const v of wv) hi += v > 0 ? v * qmax : v * qmin;
        // The input that reaches the worst case, through the kernel itself.
        const xs = wv.map((v) => (v > 0 ? qmax : qmin));
        const x = qtensor(int16 ? Int16Array.from(xs) : Int8Array.from(xs), {
          shape: [1, wv.length],
          scale: 1,
        });
        const lin = intLinear(x, qtensor(w, { shape: [1, wv.length], scale: 1 }), {
          output: { dtype: "qint32" },
        });
        assertEquals(lin.data[0], hi);
        // A bias that puts the worst case exactly at 2^31 - 1 passes; one more overflows.
        const room = 2 ** 31 - 1 - hi;
        checkAccumulator(w, { channels: 1, inputRange: { qmin, qmax }, bias: Int32Array.of(room) });
        assertThrows(
          () =>
            checkAccumulator(w, { channels: 1, inputRange: { qmin, qmax }, bias: Int32Array.of(room + 1) }),
          RangeError,
        );
      },
    ),
    RUNS,
  );
  // An int16 3x3 conv over 512 channels of weight 127 can reach 512 · 9 · 127 · 32768 > 2^31.
  const x = qtensor(new Int16Array(512 * 9), { shape: [1, 512, 3, 3], scale: 1 });
  const w = qtensor(new Int8Array(512 * 9).fill(127), { shape: [1, 512, 3, 3], scale: [1], axis: 0 });
  assertThrows(
    () => intConv2d(x, w, { output: { dtype: "qint16", scale: 1 } }),
    RangeError,
    "output channel 0",
  );
  const w8 = qtensor(new Int8Array(512 * 9).fill(127), { shape: [1, 512, 3, 3], scale: [1], axis: 0 });
  intConv2d(qtensor(new Int8Array(512 * 9), { shape: [1, 512, 3, 3], scale: 1 }), w8, {
    output: { dtype: "qint8", scale: 1 },
  });
});

Deno.test("quantizeBias() rounds b / (sx · sw) half to even and rejects values beyond int32", () => {
  fc.assert(
    fc.property(
      fc.float({ min: -100, max: 100, noNaN: true }),
      fc.float({ min: f32(1e-4), max: 1, noNaN: true }),
      fc.float({ min: f32(1e-4), max: 1, noNaN: true }),
      (b, sx, sw) => {
        const r = div(exact(f32(b)), exact(f32(sx) * f32(sw)));
        const v = Number(r.num) / Number(r.den);
        if (Math.abs(v) > 2 ** 31 - 2) {
          assertThrows(() => quantizeBias([b], sx, [sw]), RangeError, "int32");
          return;
        }
        const q = quantizeBias([b], sx, [sw])[0];
        const frac = Math.abs(v % 1);
        if (Math.abs(frac - 0.5) > 1e-9) assertEquals(BigInt(q), roundHalfEvenR(r));
      },
    ),
    { seed: 42, numRuns: 1000 },
  );
  assertEquals(Array.from(quantizeBias([0.625, -0.625], 0.25, [1])), [2, -2]); // 2.5 → 2, -2.5 → -2
  assertThrows(() => quantizeBias([1e6], 1e-4, [1e-4]), RangeError, "int32");
});

Deno.test("intLinear() equals the direct integer matrix product with per-channel requantization", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer(),
      fc.boolean(),
      (R, K, O, seed, int16) => {
        const rnd = lcg(seed);
        const xs = Array.from({ length: R * K }, () => (int16 ? rnd(-32768, 32767) : rnd(-128, 127)));
        const x = qtensor(int16 ? Int16Array.from(xs) : Int8Array.from(xs), { shape: [R, K], scale: 0.25 });
        const w = qtensor(Int8Array.from({ length: O * K }, () => rnd(-128, 127)), {
          shape: [O, K],
          scale: Array.from({ length: O }, () => rnd(1, 100) / 1024),
          axis: 0,
        });
        const bias = Array.from({ length: O }, () => rnd(-50, 50) / 3);
        const bq = quantizeBias(bias, 0.25, w.scale);
        const acc = intLinear(x, w, { bias, output: { dtype: "qint32" } });
        const y = intLinear(x, w, { bias, output: { dtype: "qint16", scale: 0.5 } });
        for (let r = 0; r < R; r++) {
          for (let o = 0; o < O; o++) {
            let s = bq[o];
            for (let k = 0; k < K; k++) s += xs[r * K + k] * w.data[o * K + k];
            assertEquals(acc.data[r * O + o], s);
            const ref = requantize(Int32Array.of(s), computeMultiplier((0.25 * w.scale[o]) / 0.5), {
              dtype: "qint16",
            });
            assertEquals(y.data[r * O + o], ref[0]);
          }
        }
      },
    ),
    RUNS,
  );
  const x = qtensor(new Int8Array(3), { shape: [3], scale: 1 });
  assertThrows(
    () =>
      intLinear(x, qtensor(new Int8Array(4), { shape: [2, 2], scale: 1 }), { output: { dtype: "qint32" } }),
    RangeError,
  );
  assertThrows(
    () =>
      intLinear(
        qtensor(new Int32Array(2), { shape: [2], scale: 1 }),
        qtensor(new Int8Array(2), { shape: [1, 2], scale: 1 }),
        { output: { dtype: "qint32" } },
      ),
    TypeError,
  );
});

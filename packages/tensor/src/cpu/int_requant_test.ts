import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { activationBounds, computeMultiplier, intConv2dAccumulate, qtensor, requantize } from "@hqat/qtensor";
import type { Conv2dGeometry } from "./conv2d_shapes.ts";
import { intConv2dAccumulateFast, intConv2dRequantFast, intLinearRequantFast } from "./int_conv.ts";
import {
  intAddRequantFast,
  intRequantFast,
  type IntRequantParams,
  intRequantReference,
} from "./int_requant.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";

type Act = "none" | "relu" | "relu6";

interface Case {
  outer: number;
  channels: number;
  inner: number;
  perChannel: boolean;
  int16: boolean;
  act: Act;
  /** Real multipliers as log2 (the shift then spans 0..62). */
  log2m: number[];
  seed: number;
  extreme: boolean;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

/** Accumulators: uniform over int32, small, or the ends of the range. */
function accumulators(n: number, seed: number, extreme: boolean): Int32Array {
  const next = lcg(seed), out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    if (extreme) out[i] = [-2147483648, 2147483647, 0, -1][r >>> 30];
    else out[i] = (r & 1) ? r | 0 : ((r >>> 1) % 200001) - 100000;
  }
  return out;
}

/** `requantize` from `@hqat/qtensor` (the reference) and the kernels' parameters for the same rule. */
function setup(c: Case): { params: IntRequantParams; reference: (acc: Int32Array) => ArrayLike<number> } {
  const mults = c.log2m.slice(0, c.perChannel ? c.channels : 1).map((e) => computeMultiplier(2 ** e));
  while (c.perChannel && mults.length < c.channels) mults.push(mults[mults.length % c.log2m.length]);
  const dtype = c.int16 ? "qint16" as const : "qint8" as const;
  const range = c.int16 ? { qmin: -32768, qmax: 32767 } : { qmin: -128, qmax: 127 };
  const scale = 0.03;
  const activation = c.act === "none" ? undefined : c.act;
  const { lo, hi } = activationBounds(range, { activation, scale });
  const params: IntRequantParams = {
    multiplier: Int32Array.from(mults, (m) => m.M),
    shift: Uint8Array.from(mults, (m) => m.n),
    lo,
    hi,
    bytes: c.int16 ? 2 : 1,
  };
  const reference = (acc: Int32Array) =>
    requantize(acc, mults.length === 1 ? mults[0] : mults, {
      dtype,
      axis: 1,
      shape: [c.outer, c.channels, c.inner],
      activation,
      scale,
    });
  return { params, reference };
}

const caseArb = fc.record({
  outer: fc.integer({ min: 1, max: 3 }),
  channels: fc.integer({ min: 1, max: 5 }),
  inner: fc.integer({ min: 1, max: 40 }),
  perChannel: fc.boolean(),
  int16: fc.boolean(),
  act: fc.constantFrom<Act>("none", "relu", "relu6"),
  log2m: fc.array(fc.double({ min: -45, max: 20, noNaN: true }), { minLength: 1, maxLength: 5 }),
  seed: fc.nat(),
  extreme: fc.boolean(),
});

function check(c: Case): void {
  const { params, reference } = setup(c);
  const acc = accumulators(c.outer * c.channels * c.inner, c.seed, c.extreme);
  const want = Array.from(reference(acc));
  const dims = { outer: c.outer, channels: c.channels, inner: c.inner };
  assertEquals(Array.from(intRequantFast(acc, { layout: dims, requant: params })), want);
  const out = params.bytes === 1 ? new Int8Array(acc.length) : new Int16Array(acc.length);
  assertEquals(intRequantFast(acc, { layout: dims, requant: params, out }), out);
  assertEquals(Array.from(out), want);
  assertEquals(Array.from(intRequantReference(acc, c.channels, c.inner, params)), want);
}

Deno.test("intRequantFast() and intRequantReference() equal @hqat/qtensor's requantize() for any multiplier and clamp", () => {
  fc.assert(fc.property(caseArb, check), { seed: 7, numRuns: 300 });
});

Deno.test("intRequantFast() is exact at the multiplier and shift limits", () => {
  const acc = Int32Array.of(-2147483648, 2147483647, -1, 1, 0, 12345, -12345, 1 << 20, -(1 << 20), 3, -3, 5);
  const dims = { outer: 1, channels: 1, inner: acc.length };
  for (const [M, n] of [[4194303, 62], [4194303, 0], [1, 0], [16384, 15], [32767, 46], [0, 7], [16385, 1]]) {
    for (const bytes of [1, 2] as const) {
      const range = bytes === 1 ? [-128, 127] : [-32768, 32767];
      const params = {
        multiplier: Int32Array.of(M),
        shift: Uint8Array.of(n),
        lo: range[0],
        hi: [range[1]],
        bytes,
      };
      const want = requantize(acc, { M, n }, { dtype: bytes === 1 ? "qint8" : "qint16" });
      const got = intRequantFast(acc, { layout: dims, requant: params });
      assertEquals(Array.from(got), Array.from(want), `M ${M}, n ${n}`);
    }
  }
});

Deno.test("intConv2dRequantFast() equals requantize() of intConv2dAccumulate() on one and two threads", async () => {
  const before = getKernelThreads();
  const geo: Conv2dGeometry = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
  const dw: Conv2dGeometry = { ...geo, stride: [2, 2], groups: 24 };
  const run = (seed: number) => {
    for (
      const [xs, ws, g] of [[[3, 8, 9, 9], [24, 8, 3, 3], geo], [[4, 24, 8, 8], [24, 1, 3, 3], dw]] as const
    ) {
      const x = new Int8Array(xs.reduce((a: number, b: number) => a * b, 1)).map((_, i) =>
        ((i * 37 + seed) % 255) - 127
      );
      const w = new Int8Array(ws.reduce((a: number, b: number) => a * b, 1)).map((_, i) =>
        ((i * 11 + seed) % 255) - 127
      );
      const bias = Int32Array.from({ length: ws[0] }, (_, i) => i * 1000 - 9000);
      const acc = intConv2dAccumulate(
        qtensor(x, { shape: xs, scale: 1 }),
        qtensor(w, { shape: ws, scale: new Float32Array(ws[0]).fill(1), axis: 0 }),
        { ...g, quantizedBias: bias },
      );
      const c: Case = {
        outer: xs[0],
        channels: ws[0],
        inner: acc.shape[2] * acc.shape[3],
        perChannel: true,
        int16: seed % 2 === 1,
        act: seed % 3 === 0 ? "relu6" : "none",
        log2m: [-9, -11, -10.5, -12, -8.2],
        seed,
        extreme: false,
      };
      const { params, reference } = setup(c);
      assertEquals(Array.from(intConv2dAccumulateFast(x, xs, w, ws, g, bias)), Array.from(acc.data));
      const want = Array.from(reference(acc.data as Int32Array));
      const opts = { geometry: g, bias, requant: params };
      const got = intConv2dRequantFast({ data: x, shape: xs }, { data: w, shape: ws }, opts);
      assertEquals(Array.from(got), want);
      const out = params.bytes === 1 ? new Int8Array(got.length) : new Int16Array(got.length);
      assertEquals(
        intConv2dRequantFast({ data: x, shape: xs }, { data: w, shape: ws }, { ...opts, out }),
        out,
      );
      assertEquals(Array.from(out), want);
    }
  };
  try {
    setKernelThreads(1);
    run(1);
    run(2);
    setKernelThreads(2);
    for (let i = 0; i < 50 && readyThreads() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    run(3);
    run(4);
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("intLinearRequantFast() requantizes per output feature", () => {
  const x = Int8Array.of(1, 2, 3, -4, 5, -6), w = Int8Array.of(1, 1, 1, -1, 0, 1);
  const params = {
    multiplier: Int32Array.of(16384, 16384),
    shift: Uint8Array.of(14, 15),
    lo: -128,
    hi: [127],
    bytes: 1,
  } as const;
  // acc = [[6, 2], [-5, -2]] + bias [1, 0]; × 1 and × 0.5 (halves round up)
  const got = intLinearRequantFast({ data: x, shape: [2, 3] }, { data: w, shape: [2, 3] }, {
    bias: Int32Array.of(1, 0),
    requant: params,
  });
  assertEquals(Array.from(got), [7, 1, -4, -1]);
});

Deno.test("intRequantFast() and intConv2dRequantFast() reject parameters that do not fit", () => {
  const p = {
    multiplier: Int32Array.of(1, 2),
    shift: Uint8Array.of(0),
    lo: -128,
    hi: [127],
    bytes: 1,
  } as const;
  const layout = { outer: 1, channels: 2, inner: 1 };
  const run = (acc: Int32Array, requant: IntRequantParams, out?: Int8Array | Int16Array) =>
    intRequantFast(acc, { layout, requant, out });
  assertThrows(() => run(new Int32Array(2), p), RangeError, "2 multipliers, 1 shifts");
  const big = { ...p, multiplier: Int32Array.of(1 << 22), shift: Uint8Array.of(0) };
  assertThrows(() => run(new Int32Array(2), big), RangeError, "2^22");
  const wide = { ...p, multiplier: Int32Array.of(1), shift: Uint8Array.of(0), hi: [200] };
  assertThrows(() => run(new Int32Array(2), wide), RangeError, "clamp");
  const ok = { ...wide, hi: [1] };
  assertThrows(() => run(new Int32Array(3), ok), RangeError, "accumulators");
  assertThrows(() => run(new Int32Array(2), ok, new Int16Array(2)), RangeError, "Int8Array of 2");
  const geometry: Conv2dGeometry = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
  const x = { data: new Int8Array(4), shape: [1, 1, 2, 2] },
    w = { data: new Int8Array(3), shape: [3, 1, 1, 1] };
  assertThrows(() => intConv2dRequantFast(x, w, { geometry, requant: p }), RangeError, "for 3 channels");
  const one = { ...ok, multiplier: Int32Array.of(1), hi: [1] };
  const out = new Int8Array(5);
  assertThrows(() => intConv2dRequantFast(x, w, { geometry, requant: one, out }), RangeError, "of 12");
});

Deno.test("intAddRequantFast() equals requantize() of SPEC's add sum for any operands, k, t and multiplier", () => {
  const arb = fc.record({
    n: fc.integer({ min: 0, max: 70 }),
    xInt16: fc.boolean(),
    yInt16: fc.boolean(),
    k: fc.nat(23),
    t: fc.integer({ min: -32767, max: 32767 }),
    log2m: fc.double({ min: -40, max: 2, noNaN: true }),
    outInt16: fc.boolean(),
    act: fc.constantFrom<Act>("none", "relu", "relu6"),
    seed: fc.nat(),
    extreme: fc.boolean(),
  });
  fc.assert(
    fc.property(arb, (c) => {
      const k = Math.min(c.k, c.xInt16 ? 15 : 23);
      const make = (int16: boolean, seed: number) => {
        const a = accumulators(c.n, seed, c.extreme);
        return int16 ? Int16Array.from(a, (v) => v >> 16) : Int8Array.from(a, (v) => v >> 24);
      };
      const x = make(c.xInt16, c.seed), y = make(c.yInt16, c.seed + 1);
      const m = computeMultiplier(2 ** c.log2m), dtype = c.outInt16 ? "qint16" as const : "qint8" as const;
      const range = c.outInt16 ? { qmin: -32768, qmax: 32767 } : { qmin: -128, qmax: 127 };
      const activation = c.act === "none" ? undefined : c.act;
      const { lo, hi } = activationBounds(range, { activation, scale: 0.05 });
      const sum = Float64Array.from(x, (v, i) => v * 2 ** k + y[i] * c.t);
      const want = Array.from(requantize(sum, m, { dtype, activation, scale: 0.05 }));
      const requant = {
        multiplier: Int32Array.of(m.M),
        shift: Uint8Array.of(m.n),
        lo,
        hi,
        bytes: c.outInt16 ? 2 : 1,
      } as const;
      assertEquals(Array.from(intAddRequantFast(x, y, { k, t: c.t, requant })), want);
    }),
    { seed: 11, numRuns: 200 },
  );
  const requant = {
    multiplier: Int32Array.of(1),
    shift: Uint8Array.of(0),
    lo: -128,
    hi: [127],
    bytes: 1,
  } as const;
  assertThrows(
    () => intAddRequantFast(new Int8Array(2), new Int8Array(2), { k: 24, t: 1, requant }),
    RangeError,
  );
  assertThrows(
    () => intAddRequantFast(new Int8Array(2), new Int8Array(3), { k: 1, t: 1, requant }),
    RangeError,
  );
});

Deno.test("intConv2dRequantFast() requantizes in the GEMM's epilogue as requantize() does, across k blocks and packings", () => {
  const arb = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    c: fc.constantFrom(1, 3, 16, 40, 600),
    o: fc.integer({ min: 1, max: 30 }),
    hw: fc.integer({ min: 1, max: 7 }),
    k: fc.constantFrom(1, 3),
    relu: fc.boolean(),
    int16Out: fc.boolean(),
    log2m: fc.array(fc.double({ min: -30, max: 3, noNaN: true }), { minLength: 1, maxLength: 4 }),
    seed: fc.nat(),
  });
  fc.assert(
    fc.property(arb, (r) => {
      const xs = [r.n, r.c, r.hw + r.k - 1, r.hw + r.k - 1], ws = [r.o, r.c, r.k, r.k];
      const next = (() => {
        let s = r.seed >>> 0;
        return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
      })();
      const x = new Int8Array(xs.reduce((a: number, b: number) => a * b, 1)).map(() =>
        r.relu ? next() % 128 : (next() % 256) - 128
      );
      const w = new Int8Array(ws.reduce((a: number, b: number) => a * b, 1)).map(() => (next() % 256) - 128);
      const bias = Int32Array.from({ length: r.o }, () => (next() % 20001) - 10000);
      const geometry: Conv2dGeometry = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
      const acc = intConv2dAccumulateFast(x, xs, w, ws, geometry, bias);
      checkRequantized({ x, xs, w, ws, geometry, bias }, acc, r.n * r.o, r);
    }),
    { seed: 5, numRuns: 120 },
  );
});

/**
 * intConv2dRequantFast() on the convolution `conv` equals requantize() of its accumulators `acc` (`planes`
 * output planes), per channel, with the multipliers 2^`log2m` and a ReLU6 clamp where `relu`.
 */
function checkRequantized(
  conv: {
    x: Int8Array;
    xs: number[];
    w: Int8Array;
    ws: number[];
    geometry: Conv2dGeometry;
    bias: Int32Array;
  },
  acc: Int32Array,
  planes: number,
  r: { relu: boolean; int16Out: boolean; log2m: number[] },
): void {
  const channels = conv.ws[0], outer = planes / channels;
  const c: Case = {
    outer,
    channels,
    inner: acc.length / planes,
    perChannel: true,
    int16: r.int16Out,
    act: r.relu ? "relu6" : "none",
    log2m: r.log2m,
    seed: 0,
    extreme: false,
  };
  const { params, reference } = setup(c);
  const got = intConv2dRequantFast({ data: conv.x, shape: conv.xs }, { data: conv.w, shape: conv.ws }, {
    geometry: conv.geometry,
    bias: conv.bias,
    requant: params,
  });
  assertEquals(Array.from(got), Array.from(reference(acc)));
}

/** A depthwise layer of the property tests: the batch, the planes, the kernel and the requantization. */
interface DepthwiseCase {
  n: number;
  c: number;
  h: number;
  w: number;
  k: number;
  pad: number;
  s: number;
  relu: boolean;
  int16Out: boolean;
  log2m: number[];
  seed: number;
}

/** intConv2dRequantFast() on the depthwise layer `r` equals requantize() of the reference accumulation. */
function checkDepthwiseRequant(r: DepthwiseCase): void {
  const xs = [r.n, r.c, r.h, r.w], ws = [r.c, 1, r.k, r.k];
  let st = r.seed >>> 0;
  const next = () => (st = (Math.imul(st, 1664525) + 1013904223) >>> 0);
  const x = new Int8Array(r.n * r.c * r.h * r.w).map(() => r.relu ? next() % 128 : (next() % 256) - 128);
  const w = new Int8Array(r.c * r.k * r.k).map(() => (next() % 256) - 128);
  const bias = Int32Array.from({ length: r.c }, () => (next() % 20001) - 10000);
  const geometry: Conv2dGeometry = {
    stride: [r.s, r.s],
    padding: [r.pad, r.pad],
    dilation: [1, 1],
    groups: r.c,
  };
  const acc = intConv2dAccumulate(
    qtensor(x, { shape: xs, scale: 1 }),
    qtensor(w, { shape: ws, scale: new Float32Array(r.c).fill(1), axis: 0 }),
    { ...geometry, quantizedBias: bias },
  );
  checkRequantized({ x, xs, w, ws, geometry, bias }, acc.data as Int32Array, r.n * r.c, r);
}

const requantArb = {
  relu: fc.boolean(),
  int16Out: fc.boolean(),
  log2m: fc.array(fc.double({ min: -25, max: 3, noNaN: true }), { minLength: 1, maxLength: 4 }),
  seed: fc.nat(),
};

Deno.test("intConv2dRequantFast() requantizes 3×3 depthwise layers on larger planes as requantize() does", () => {
  const arb = fc.record({
    // past 16 images the kernel takes the batch in blocks of 16, the last one partial
    n: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 15, max: 37 })),
    c: fc.integer({ min: 1, max: 20 }),
    h: fc.integer({ min: 2, max: 19 }),
    w: fc.integer({ min: 2, max: 19 }),
    k: fc.constant(3),
    pad: fc.constant(1),
    s: fc.constantFrom(1, 2),
    ...requantArb,
  }).filter((r) => r.h * r.w > 16);
  fc.assert(fc.property(arb, checkDepthwiseRequant), { seed: 9, numRuns: 150 });
});

Deno.test("intConv2dRequantFast() requantizes depthwise layers on small planes as requantize() does", () => {
  // Planes of at most 16 positions: 1 or 4 positions in and out take the sixteen-channel kernel
  // (int_depthwise_lanes.c), the others the small-plane kernel, which requantizes itself.
  const arb = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 37 }),
    h: fc.integer({ min: 1, max: 4 }),
    w: fc.integer({ min: 1, max: 4 }),
    k: fc.integer({ min: 1, max: 3 }),
    pad: fc.integer({ min: 0, max: 1 }),
    s: fc.constantFrom(1, 2),
    ...requantArb,
  }).filter((r) => r.h + 2 * r.pad >= r.k && r.w + 2 * r.pad >= r.k);
  fc.assert(fc.property(arb, checkDepthwiseRequant), { seed: 11, numRuns: 300 });
});

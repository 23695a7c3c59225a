import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { activationBounds, computeMultiplier, intConv2dAccumulate, qtensor, requantize } from "@hqat/qtensor";
import type { Conv2dGeometry } from "./conv2d_shapes.ts";
import { intConv2dRequantFast, intLinearRequantFast } from "./int_conv.ts";
import type { IntRequantParams } from "./int_requant.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";

/**
 * Convolutions with a residual add: pointwise on planes of 1×1 to 8×8 (the epilogue's spans over whole
 * planes, per row, and per column across rows) in one or two groups, batches that the GEMM splits across
 * threads, 3×3 layers (im2col GEMM) and depthwise ones (the add as its own pass), int8/int16 inputs, addends
 * and outputs, either operand shifted, and multipliers of both requantization rules; or a second
 * requantization alone. Values are drawn from the int8 ends often.
 */
const residualCase = fc.record({
  n: fc.integer({ min: 1, max: 24 }),
  hw: fc.constantFrom<number>(1, 2, 3, 4, 8),
  kind: fc.constantFrom("pw", "pw", "pw", "g2", "c3", "dw"),
  c: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(160, 300)),
  o: fc.integer({ min: 1, max: 30 }),
  signed: fc.boolean(),
  ends: fc.boolean(),
  xInt16: fc.constantFrom(false, false, false, true),
  addInt16: fc.constantFrom(false, false, true),
  outInt16: fc.constantFrom(false, false, false, true),
  sumInt16: fc.constantFrom(false, false, false, true),
  shiftAddend: fc.boolean(),
  k: fc.nat(23),
  t: fc.oneof(fc.integer({ min: -32767, max: 32767 }), fc.constantFrom(-32767, 32767, 1, 0)),
  log2m: fc.double({ min: -17, max: -3, noNaN: true }),
  log2m2: fc.oneof(
    { weight: 4, arbitrary: fc.double({ min: -26, max: -12, noNaN: true }) },
    { weight: 1, arbitrary: fc.double({ min: -36, max: 2, noNaN: true }) },
  ),
  relu: fc.boolean(),
  // a residual add, or a second requantization alone (its shifts from 0 up)
  again: fc.constantFrom(false, false, true),
  seed: fc.nat(),
});

type ResidualCase = typeof residualCase extends fc.Arbitrary<infer T> ? T : never;

function values(count: number, lo: number, hi: number, ends: boolean, next: () => number): number[] {
  return Array.from({ length: count }, () => {
    const r = next();
    return ends && r % 2 === 0 ? [lo, hi, -1, 0][(r >>> 1) % 4] : lo + (r >>> 8) % (hi - lo + 1);
  }).map((v) => Math.max(lo, v));
}

function params(mults: { M: number; n: number }[], lo: number, hi: number[], bytes: 1 | 2): IntRequantParams {
  return {
    multiplier: Int32Array.from(mults, (m) => m.M),
    shift: Uint8Array.from(mults, (m) => m.n),
    lo,
    hi,
    bytes,
  };
}

function checkResidual(c: ResidualCase): void {
  // int16 inputs on few channels, so that the accumulators fit int32
  // (two groups: even channel counts)
  const g2 = c.kind === "g2", even = (v: number) => g2 ? 2 * Math.ceil(v / 2) : v;
  const r = { ...c, c: even(c.xInt16 ? Math.min(c.c, 40) : c.c), o: even(c.o) };
  let s = r.seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const dw = r.kind === "dw", kh = r.kind === "c3" || dw ? 3 : 1, o = dw ? r.c : r.o;
  const groups = dw ? r.c : g2 ? 2 : 1;
  const xs = [r.n, r.c, r.hw, r.hw], ws = [o, r.c / groups, kh, kh];
  const xHi = r.xInt16 ? 32767 : 127;
  const xData = values(r.n * r.c * r.hw * r.hw, r.signed ? -xHi - 1 : 0, xHi, r.ends, next);
  const x = r.xInt16 ? Int16Array.from(xData) : Int8Array.from(xData);
  const w = Int8Array.from(values(ws.reduce((a, b) => a * b), -128, 127, r.ends, next));
  const bias = Int32Array.from({ length: o }, () => (next() % 20001) - 10000);
  const pad = kh === 3 ? 1 : 0;
  const geometry: Conv2dGeometry = {
    stride: [1, 1],
    padding: [pad, pad],
    dilation: [1, 1],
    groups,
  };
  const acc = intConv2dAccumulate(
    qtensor(x, { shape: xs, scale: 1 }),
    qtensor(w, { shape: ws, scale: new Float32Array(o).fill(1), axis: 0 }),
    { ...geometry, quantizedBias: bias },
  );
  const mults = Array.from({ length: o }, (_, i) => computeMultiplier(2 ** (r.log2m - (i % 3))));
  const outHi = r.outInt16 ? 32767 : 127, sumHi = r.sumInt16 ? 32767 : 127;
  const v = requantize(acc.data, mults, {
    dtype: r.outInt16 ? "qint16" : "qint8",
    axis: 1,
    shape: [r.n, o, r.hw * r.hw],
  });
  const addHi = r.addInt16 ? 32767 : 127, size = v.length;
  const addData = values(size, -addHi - 1, addHi, r.ends, next);
  const addend = r.addInt16 ? Int16Array.from(addData) : Int8Array.from(addData);
  const shiftedInt16 = r.shiftAddend ? r.addInt16 : r.outInt16, k = Math.min(r.k, shiftedInt16 ? 15 : 23);
  const sum = Float64Array.from(
    v,
    (q, i) => r.again ? q : r.shiftAddend ? addend[i] * 2 ** k + q * r.t : q * 2 ** k + addend[i] * r.t,
  );
  const m2 = computeMultiplier(2 ** (r.again && r.seed % 2 ? r.log2m2 / 2 + 9 : r.log2m2));
  const activation = r.relu ? "relu" as const : undefined;
  const range = { qmin: -sumHi - 1, qmax: sumHi };
  const want = requantize(sum, m2, { dtype: r.sumInt16 ? "qint16" : "qint8", activation, scale: 0.05 });
  const bounds = activationBounds(range, { activation, scale: 0.05 });
  const residual = {
    addend,
    k,
    t: r.t,
    shiftAddend: r.shiftAddend,
    requant: params(
      [m2],
      bounds.lo,
      [typeof bounds.hi === "number" ? bounds.hi : bounds.hi[0]],
      r.sumInt16 ? 2 : 1,
    ),
  };
  const requant = params(mults, -outHi - 1, [outHi], r.outInt16 ? 2 : 1);
  const second = residual.requant;
  const opts = r.again
    ? { geometry, bias, requant, requant2: second }
    : { geometry, bias, requant, residual };
  const got = intConv2dRequantFast({ data: x, shape: xs }, { data: w, shape: ws }, opts);
  assertEquals(Array.from(got), Array.from(want));
  const out = r.sumInt16 ? new Int16Array(size) : new Int8Array(size);
  assertEquals(intConv2dRequantFast({ data: x, shape: xs }, { data: w, shape: ws }, { ...opts, out }), out);
  assertEquals(Array.from(out), Array.from(want));
}

Deno.test("intConv2dRequantFast() with a residual or requant2 equals SPEC's add or requantize() of requantize() of intConv2dAccumulate() on one and two threads", async () => {
  const before = getKernelThreads();
  try {
    for (const threads of [1, 2]) {
      setKernelThreads(threads);
      for (let i = 0; i < 200 && readyThreads() < threads; i++) await new Promise((r) => setTimeout(r, 10));
      fc.assert(fc.property(residualCase, checkResidual), { seed: 5 + threads, numRuns: 200 });
    }
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("intConv2dRequantFast() with a residual equals the reference where im2col cuts the batch into chunks", () => {
  // 576 · 256 bytes of columns per image: two chunks of at most 4 MiB
  const base = fc.sample(residualCase, { seed: 3, numRuns: 1 })[0];
  for (const again of [false, true]) {
    checkResidual({
      ...base,
      n: 32,
      hw: 16,
      kind: "c3",
      c: 64,
      o: 5,
      xInt16: false,
      outInt16: false,
      sumInt16: false,
      t: 9000,
      again,
    });
  }
});

Deno.test("intConv2dRequantFast() rejects a residual that does not fit, and linear layers take none", () => {
  const geometry: Conv2dGeometry = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
  const requant = params([{ M: 16384, n: 15 }], -128, [127], 1);
  const x = { data: new Int8Array(4), shape: [1, 1, 2, 2] },
    w = { data: new Int8Array(1), shape: [1, 1, 1, 1] };
  const residual = { addend: new Int8Array(4), k: 1, t: 1, shiftAddend: false, requant };
  const conv = (r: typeof residual) => intConv2dRequantFast(x, w, { geometry, requant, residual: r });
  assertThrows(() => conv({ ...residual, addend: new Int8Array(3) }), RangeError, "addend of 3");
  assertThrows(() => conv({ ...residual, k: 24 }), RangeError, "out of range");
  assertThrows(
    () => conv({ ...residual, requant: { ...requant, hi: [1, 2] } }),
    RangeError,
    "one multiplier",
  );
  const requant2 = { ...requant, multiplier: Int32Array.of(1, 2), shift: Uint8Array.of(1, 1) };
  assertThrows(
    () => intConv2dRequantFast(x, w, { geometry, requant, requant2 }),
    RangeError,
    "one multiplier",
  );
  assertThrows(
    () => intConv2dRequantFast(x, w, { geometry, requant, requant2: requant, residual }),
    TypeError,
  );
  const lin = { data: new Int8Array(1), shape: [1, 1] };
  assertThrows(() => intLinearRequantFast(lin, lin, { requant, residual }), TypeError);
});

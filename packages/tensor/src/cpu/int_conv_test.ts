import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { intConv2dAccumulate, intLinear, qtensor } from "@hqat/qtensor";
import { type Conv2dGeometry, convDims } from "./conv2d_shapes.ts";
import { intConv2dAccumulateFast, intLinearAccumulateFast } from "./int_conv.ts";
import { intConv2dAccumulateReference, intLinearAccumulateReference } from "./int_conv_reference.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";

/**
 * How the integers of a case are drawn: uniformly, only from the ends of the range (and zero), or — for
 * activations — from [0, max] as after a ReLU (the kernels' int8 quad path), with a signed tail in
 * "reluTail" (the quad path giving way to the pairs part of the way through).
 */
type Fill = "uniform" | "extreme" | "relu" | "reluTail";

interface ConvCase {
  xShape: number[];
  wShape: number[];
  geo: Conv2dGeometry;
  int16: boolean;
  bias: boolean;
  fill: Fill;
  seed: number;
  /** Largest weight magnitude (default 128: the whole int8 range). */
  wMax?: number;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

function ints<T extends Int8Array | Int16Array | Int32Array>(
  out: T,
  range: [number, number],
  fill: Fill,
  seed: number,
): T {
  const next = lcg(seed), [lo, hi] = range;
  for (let i = 0; i < out.length; i++) {
    const r = next();
    out[i] = fill === "extreme" ? [lo, hi, 0, lo][r >>> 30] : lo + (r % (hi - lo + 1));
  }
  return out;
}

function activations(c: { int16: boolean; fill: Fill; seed: number }, count: number): Int8Array | Int16Array {
  const [lo, hi] = c.int16 ? [-32768, 32767] : [-128, 127];
  const x = c.int16 ? new Int16Array(count) : new Int8Array(count);
  if (c.fill !== "relu" && c.fill !== "reluTail") return ints(x, [lo, hi], c.fill, c.seed);
  ints(x, [0, hi], "uniform", c.seed);
  if (c.fill === "reluTail") {
    x.set(ints(x.slice(0, count >> 3), [lo, hi], "uniform", c.seed + 9), count - (count >> 3));
  }
  return x;
}

/** The weights' fill for an activation fill. */
const weightFill = (f: Fill): Fill => (f === "extreme" ? "extreme" : "uniform");

/** Biases within ±2^29: with at most 100 taps of int16 × int8 the worst case stays inside int32. */
function biases(count: number, seed: number): Int32Array {
  return ints(new Int32Array(count), [-(2 ** 29), 2 ** 29], "uniform", seed);
}

/** The qtensor reference accumulator (which also checks that the layer cannot overflow int32). */
function referenceConv(
  x: Int8Array | Int16Array,
  xShape: number[],
  w: Int8Array,
  wShape: number[],
  geo: Conv2dGeometry,
  bias?: Int32Array,
): Int32Array {
  const qx = qtensor(x, { shape: xShape, scale: 1 });
  const qw = qtensor(w, { shape: wShape, scale: 1, dtype: "qint8" });
  const { stride, padding, dilation, groups } = geo;
  return intConv2dAccumulate(qx, qw, { stride, padding, dilation, groups, quantizedBias: bias }).data;
}

function checkConv(c: ConvCase): void {
  const x = activations(c, size(c.xShape));
  const wMax = c.wMax ?? 128;
  const w = ints(new Int8Array(size(c.wShape)), [-wMax, Math.min(127, wMax)], weightFill(c.fill), c.seed + 1);
  const bias = c.bias ? biases(c.wShape[0], c.seed + 2) : undefined;
  const copies = [x.slice(), w.slice(), bias?.slice()];
  const want = referenceConv(x, c.xShape, w, c.wShape, c.geo, bias);
  const label = `x ${c.int16 ? "int16" : "int8"} [${c.xShape}] w [${c.wShape}] ${
    JSON.stringify(c.geo)
  } ${c.fill}`;
  assertEquals(intConv2dAccumulateFast(x, c.xShape, w, c.wShape, c.geo, bias), want, label);
  const d = convDims(c.xShape, c.wShape, c.geo, "test");
  assertEquals(intConv2dAccumulateReference(x, w, d, bias), want, `${label} (plain TypeScript)`);
  assertEquals([x, w, bias], copies, `${label}: an input was modified`);
}

const caseOptions = {
  int16: fc.boolean(),
  bias: fc.boolean(),
  fill: fc.constantFrom<Fill>("uniform", "uniform", "extreme", "relu", "reluTail"),
  seed: fc.integer(),
};

const anyCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 3 }),
  cg: fc.integer({ min: 1, max: 5 }),
  cog: fc.integer({ min: 1, max: 9 }),
  k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  p: fc.tuple(fc.nat(2), fc.nat(2)),
  dil: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  extra: fc.tuple(fc.nat(9), fc.nat(9)),
  ...caseOptions,
}).map((r): ConvCase => ({
  xShape: [
    r.n,
    r.groups * r.cg,
    (r.k[0] - 1) * r.dil[0] + 1 + r.extra[0],
    (r.k[1] - 1) * r.dil[1] + 1 + r.extra[1],
  ],
  wShape: [r.groups * r.cog, r.cg, r.k[0], r.k[1]],
  geo: { stride: r.s, padding: r.p, dilation: r.dil, groups: r.groups },
  ...r,
}));

const depthwiseCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  c: fc.integer({ min: 1, max: 27 }),
  mult: fc.constantFrom(1, 1, 1, 2),
  k: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
  s: fc.integer({ min: 1, max: 3 }),
  p: fc.nat(2),
  dil: fc.integer({ min: 1, max: 2 }),
  hw: fc.tuple(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 13 })),
  ...caseOptions,
}).filter((r) => r.hw.every((v, i) => v + 2 * r.p >= (r.k[i] - 1) * r.dil + 1)).map((r): ConvCase => ({
  xShape: [r.n, r.c, r.hw[0], r.hw[1]],
  wShape: [r.c * r.mult, 1, r.k[0], r.k[1]],
  geo: { stride: [r.s, r.s], padding: [r.p, r.p], dilation: [r.dil, r.dil], groups: r.c },
  ...r,
}));

const pointwiseCase = fc.record({
  n: fc.integer({ min: 1, max: 6 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cg: fc.integer({ min: 1, max: 40 }),
  cog: fc.integer({ min: 1, max: 40 }),
  hw: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
  ...caseOptions,
}).map((r): ConvCase => ({
  xShape: [r.n, r.groups * r.cg, r.hw[0], r.hw[1]],
  wShape: [r.groups * r.cog, r.cg, 1, 1],
  geo: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: r.groups },
  ...r,
}));

Deno.test("intConv2dAccumulateFast() equals intConv2dAccumulate() for any geometry", () => {
  fc.assert(fc.property(anyCase, checkConv), { seed: 42, numRuns: 150 });
});

Deno.test("intConv2dAccumulateFast() equals intConv2dAccumulate() for depthwise convolutions", () => {
  fc.assert(fc.property(depthwiseCase, checkConv), { seed: 42, numRuns: 120 });
});

/** Depthwise layers on planes of at most 16 positions (whole planes, several channels to a vector). */
const smallPlaneCase = fc.record({
  n: fc.integer({ min: 1, max: 4 }),
  c: fc.integer({ min: 1, max: 40 }),
  k: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
  s: fc.integer({ min: 1, max: 3 }),
  p: fc.nat(2),
  dil: fc.integer({ min: 1, max: 2 }),
  hw: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
  ...caseOptions,
  int16: fc.constant(false),
}).filter((r) => r.hw.every((v, i) => v + 2 * r.p >= (r.k[i] - 1) * r.dil + 1)).map((r): ConvCase => ({
  xShape: [r.n, r.c, r.hw[0], r.hw[1]],
  wShape: [r.c, 1, r.k[0], r.k[1]],
  geo: { stride: [r.s, r.s], padding: [r.p, r.p], dilation: [r.dil, r.dil], groups: r.c },
  ...r,
}));

Deno.test("intConv2dAccumulateFast() equals intConv2dAccumulate() for depthwise convolutions on small planes", () => {
  fc.assert(fc.property(smallPlaneCase, checkConv), { seed: 42, numRuns: 150 });
  // MobileNetV2's late layers: 4×4, 2×2 and 1×1 planes, stride 1 and 2, many channels
  const geo = (s: number, c: number): Conv2dGeometry => ({
    stride: [s, s],
    padding: [1, 1],
    dilation: [1, 1],
    groups: c,
  });
  for (const [c, hw, s] of [[192, 4, 1], [144, 4, 2], [384, 2, 1], [576, 2, 2], [960, 1, 1], [37, 1, 1]]) {
    const base = { bias: true, fill: "relu" as Fill, int16: false, seed: c };
    checkConv({ ...base, xShape: [5, c, hw, hw], wShape: [c, 1, 3, 3], geo: geo(s, c) });
  }
});

Deno.test("intConv2dAccumulateFast() equals intConv2dAccumulate() for 1x1 convolutions over the batch", () => {
  fc.assert(fc.property(pointwiseCase, checkConv), { seed: 42, numRuns: 80 });
});

interface LinearCase {
  lead: number[];
  k: number;
  o: number;
  int16: boolean;
  bias: boolean;
  fill: Fill;
  seed: number;
}

function checkLinear(c: LinearCase): void {
  const xShape = [...c.lead, c.k], rows = size(c.lead);
  const x = activations(c, rows * c.k);
  const w = ints(new Int8Array(c.o * c.k), [-128, 127], weightFill(c.fill), c.seed + 1);
  const bias = c.bias ? biases(c.o, c.seed + 2) : undefined;
  const qx = qtensor(x, { shape: xShape, scale: 1 });
  const qw = qtensor(w, { shape: [c.o, c.k], scale: 1, dtype: "qint8" });
  // The 32-bit output with scale 1 is the accumulator itself.
  const want = intLinear(qx, qw, { quantizedBias: bias, output: { dtype: "qint32" } }).data;
  const label = `x ${c.int16 ? "int16" : "int8"} [${xShape}] w [${c.o},${c.k}] ${c.fill}`;
  assertEquals(intLinearAccumulateFast(x, xShape, w, [c.o, c.k], bias), want, label);
  assertEquals(intLinearAccumulateReference(x, w, { rows, k: c.k, o: c.o }, bias), want, `${label} (plain)`);
}

const linearCase = fc.record({
  lead: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 0, maxLength: 2 }),
  k: fc.integer({ min: 1, max: 100 }),
  o: fc.integer({ min: 1, max: 30 }),
  ...caseOptions,
});

Deno.test("intLinearAccumulateFast() equals the intLinear() accumulation", () => {
  fc.assert(fc.property(linearCase, checkLinear), { seed: 42, numRuns: 100 });
});

const INT32_MAX = 2 ** 31 - 1, INT32_MIN = -(2 ** 31);

Deno.test("intConv2dAccumulateFast() is exact at the ends of the int32 range", () => {
  // 511 taps of (-32768) · (-128) = 2^22 each, plus a bias, reach exactly INT32_MAX; 32767 · (-128)
  // with the opposite bias reaches exactly INT32_MIN.
  const geo = (p: number, groups = 1): Conv2dGeometry => ({
    stride: [1, 1],
    padding: [p, p],
    dilation: [1, 1],
    groups,
  });
  const shapes: [number[], number[], Conv2dGeometry][] = [
    [[2, 511, 3, 3], [3, 511, 1, 1], geo(0)],
    [[1, 56, 3, 3], [2, 56, 3, 3], geo(1)],
    [[2, 2, 5, 5], [2, 1, 3, 3], geo(1, 2)],
  ];
  for (const [xShape, wShape, g] of shapes) {
    const taps = wShape[1] * wShape[2] * wShape[3];
    for (const [xv, top] of [[-32768, INT32_MAX], [32767, INT32_MIN]] as const) {
      const x = new Int16Array(size(xShape)).fill(xv), w = new Int8Array(size(wShape)).fill(-128);
      const bias = new Int32Array(wShape[0]).fill(top - taps * xv * -128);
      const got = intConv2dAccumulateFast(x, xShape, w, wShape, g, bias);
      assertEquals(got, referenceConv(x, xShape, w, wShape, g, bias));
      if (taps === 511) assertEquals(got.every((v) => v === top), true);
    }
  }
  const x8 = new Int8Array(4 * 300).fill(-128), w8 = new Int8Array(5 * 300).fill(-128);
  assertEquals(
    intLinearAccumulateFast(x8, [4, 300], w8, [5, 300], new Int32Array(5).fill(7)),
    new Int32Array(20).fill(300 * 128 * 128 + 7),
  );
  const x16 = new Int16Array(3 * 511).fill(-32768), w16 = new Int8Array(2 * 511).fill(-128);
  const b16 = Int32Array.of(INT32_MAX - 511 * 2 ** 22, INT32_MAX - 511 * 2 ** 22);
  assertEquals(intLinearAccumulateFast(x16, [3, 511], w16, [2, 511], b16), new Int32Array(6).fill(INT32_MAX));
});

Deno.test("intConv2dAccumulateFast() is exact across the GEMM's packing blocks (long k, many rows and columns)", () => {
  const geo = (k: number, groups = 1): Conv2dGeometry => ({
    stride: [1, 1],
    padding: [k >> 1, k >> 1],
    dilation: [1, 1],
    groups,
  });
  const base = { bias: true, fill: "uniform" as Fill, seed: 7 };
  // k = 1101 (three k blocks, the last odd), 100 rows (two row blocks), 147 columns
  checkConv({ ...base, int16: false, xShape: [3, 1101, 7, 7], wShape: [100, 1101, 1, 1], geo: geo(1) });
  // int16 activations with small weights: k = 1300 stays inside int32
  checkConv({
    ...base,
    int16: true,
    wMax: 8,
    xShape: [1, 1300, 3, 3],
    wShape: [13, 1300, 1, 1],
    geo: geo(1),
  });
  // 1800 columns (two column blocks) through im2col, and a grouped 3x3 with k = 9 · 70
  checkConv({ ...base, int16: true, xShape: [2, 5, 30, 30], wShape: [7, 5, 3, 3], geo: geo(3) });
  checkConv({ ...base, int16: false, xShape: [2, 140, 6, 6], wShape: [10, 70, 3, 3], geo: geo(3, 2) });
  checkLinear({ ...base, int16: false, lead: [2, 3], k: 1025, o: 97 });
  // int8 activations in [0, 127] (the quad path) across k blocks, and with negatives in the last k block only
  for (const fill of ["relu", "reluTail"] as const) {
    checkConv({
      ...base,
      fill,
      int16: false,
      xShape: [3, 1101, 7, 7],
      wShape: [100, 1101, 1, 1],
      geo: geo(1),
    });
    checkConv({ ...base, fill, int16: false, xShape: [2, 5, 30, 30], wShape: [7, 5, 3, 3], geo: geo(3) });
    checkLinear({ ...base, fill, int16: false, lead: [2, 3], k: 1025, o: 97 });
  }
  const x = new Int8Array(2 * 1101 * 9).fill(127), w = new Int8Array(5 * 1101).fill(-128);
  assertEquals(
    intConv2dAccumulateFast(x, [2, 1101, 3, 3], w, [5, 1101, 1, 1], geo(1), new Int32Array(5).fill(-3)),
    new Int32Array(2 * 5 * 9).fill(-1101 * 127 * 128 - 3),
  );
});

async function waitForThreads(count: number): Promise<void> {
  intLinearAccumulateFast(new Int8Array(1), [1, 1], new Int8Array(1), [1, 1]);
  for (let i = 0; i < 500 && readyThreads() < count; i++) await new Promise((r) => setTimeout(r, 10));
  assertEquals(readyThreads(), count, `${count} kernel thread(s) should be ready`);
}

/** Layers large enough to be split across threads, one per route (pointwise, depthwise, im2col, linear). */
function splitCases(int16: boolean, seed: number): void {
  const geo = (s: number, p: number, groups: number): Conv2dGeometry => ({
    stride: [s, s],
    padding: [p, p],
    dilation: [1, 1],
    groups,
  });
  const base = { bias: true, fill: "uniform" as Fill, int16, seed };
  checkConv({ ...base, xShape: [8, 64, 8, 8], wShape: [96, 64, 1, 1], geo: geo(1, 0, 1) });
  checkConv({ ...base, fill: "relu", xShape: [8, 64, 8, 8], wShape: [96, 64, 1, 1], geo: geo(1, 0, 1) });
  checkConv({
    ...base,
    fill: "reluTail",
    xShape: [64, 64, 1, 1],
    wShape: [320, 64, 1, 1],
    geo: geo(1, 0, 1),
  });
  checkConv({ ...base, xShape: [64, 64, 1, 1], wShape: [320, 64, 1, 1], geo: geo(1, 0, 1) });
  // weights packed once for the call: three k blocks, 100 rows (a partial last panel), split by columns
  // and by rows, on the quads (negatives in the last k block only) and on the pairs
  for (const fill of ["uniform", "relu", "reluTail"] as const) {
    const long = { ...base, fill, wMax: int16 ? 8 : 128 }; // int16 sums of 1101 terms stay inside int32
    checkConv({ ...long, xShape: [2, 1101, 8, 8], wShape: [100, 1101, 1, 1], geo: geo(1, 0, 1) });
    checkConv({ ...long, xShape: [40, 600, 1, 1], wShape: [100, 600, 1, 1], geo: geo(1, 0, 1) });
  }
  checkConv({ ...base, xShape: [8, 96, 16, 16], wShape: [96, 1, 3, 3], geo: geo(2, 1, 96) });
  checkConv({ ...base, xShape: [4, 40, 12, 12], wShape: [40, 1, 3, 3], geo: geo(1, 1, 40) });
  checkConv({ ...base, xShape: [4, 8, 16, 16], wShape: [32, 8, 3, 3], geo: geo(1, 1, 1) });
  checkLinear({ ...base, lead: [300], k: 96, o: 40 });
  checkLinear({ ...base, lead: [10], k: 200, o: 300 });
}

Deno.test("intConv2dAccumulateFast() and intLinearAccumulateFast() give the same integers on one and two threads", async () => {
  const before = getKernelThreads();
  try {
    setKernelThreads(1);
    await waitForThreads(1);
    splitCases(false, 1);
    splitCases(true, 2);
    setKernelThreads(2);
    await waitForThreads(2);
    splitCases(false, 3);
    splitCases(true, 4);
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("intConv2dAccumulateFast() and intLinearAccumulateFast() reject bad operands", () => {
  const geo: Conv2dGeometry = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
  const x = new Int8Array(2 * 3 * 4 * 4), w = new Int8Array(5 * 3 * 3 * 3);
  assertThrows(() => intConv2dAccumulateFast(x, [2, 3, 4, 4], w, [5, 2, 3, 3], geo), RangeError, "per group");
  assertThrows(() => intConv2dAccumulateFast(x, [2, 3, 4, 5], w, [5, 3, 3, 3], geo), RangeError, "elements");
  assertThrows(
    () => intConv2dAccumulateFast(x, [2, 3, 4, 4], w, [5, 3, 3, 3], geo, new Int32Array(4)),
    RangeError,
    "4 biases for 5 output channels",
  );
  assertThrows(
    () =>
      intConv2dAccumulateFast(
        new Float32Array(96) as unknown as Int8Array,
        [2, 3, 4, 4],
        w,
        [5, 3, 3, 3],
        geo,
      ),
    TypeError,
    "Int8Array or Int16Array",
  );
  assertThrows(
    () => intLinearAccumulateFast(new Int8Array(6), [2, 3], new Int8Array(8), [2, 4]),
    RangeError,
    "4 input",
  );
  assertThrows(
    () => intLinearAccumulateFast(new Int8Array(5), [2, 3], new Int8Array(6), [2, 3]),
    RangeError,
    "elements",
  );
});

Deno.test("intConv2dAccumulateFast() returns the bias alone for empty reductions and nothing for an empty batch", () => {
  const geo: Conv2dGeometry = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
  assertEquals(
    intConv2dAccumulateFast(new Int8Array(0), [0, 2, 3, 3], new Int8Array(4), [2, 2, 1, 1], geo),
    new Int32Array(0),
  );
  assertEquals(
    intLinearAccumulateFast(new Int16Array(0), [2, 0], new Int8Array(0), [3, 0], Int32Array.of(1, 2, 3)),
    Int32Array.of(1, 2, 3, 1, 2, 3),
  );
});

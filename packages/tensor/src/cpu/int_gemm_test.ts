import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { activationBounds, computeMultiplier, intConv2dAccumulate, qtensor, requantize } from "@hqat/qtensor";
import type { Conv2dGeometry } from "./conv2d_shapes.ts";
import { intConv2dAccumulateFast, intConv2dRequantFast } from "./int_conv.ts";
import type { IntRequantParams } from "./int_requant.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";
import { kernelRuntime } from "./wasm_runtime.ts";

/**
 * Pointwise layers as the integer GEMM runs them over the whole batch: signed or non-negative int8 inputs
 * (the plain int8 quads; for signed ones the split quads, or the offset quads where this machine's dot
 * product allows them — `offset`), planes of 1×1 (columns a channel stride apart: the transposed int8 stores)
 * up to 3×3, k across one or two k blocks, values drawn from the int8 ends as often as from the rest.
 */
const pointwise = fc.record({
  n: fc.integer({ min: 1, max: 20 }),
  hw: fc.constantFrom(1, 1, 2, 3),
  c: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(512, 513, 600)),
  o: fc.integer({ min: 1, max: 20 }),
  signed: fc.boolean(),
  offset: fc.boolean(),
  ends: fc.boolean(),
  relu: fc.boolean(),
  int16Out: fc.boolean(),
  // mostly multipliers of the epilogue's 32-bit rule (n in [16, 31]), some beyond it
  log2m: fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.double({ min: -17, max: -2, noNaN: true }) },
      { weight: 1, arbitrary: fc.double({ min: -30, max: 3, noNaN: true }) },
    ),
    { minLength: 1, maxLength: 4 },
  ),
  seed: fc.nat(),
});

type PointwiseCase = typeof pointwise extends fc.Arbitrary<infer T> ? T : never;

/** int8 values in [lo, 127]: uniform, or (with `ends`) the ends of the range half of the time. */
function int8s(count: number, lo: number, ends: boolean, next: () => number): Int8Array {
  const edges = lo < 0 ? [-128, 127, -1, 0] : [0, 127, 1, 126];
  return new Int8Array(count).map(() => {
    const r = next();
    return ends && r % 2 === 0 ? edges[(r >>> 1) % 4] : lo + (r >>> 8) % (128 - lo);
  });
}

/** The integer GEMM's choice for signed activations on this machine (see `KernelRuntime.intDotUnsigned`). */
const DOT_U8 = kernelRuntime()?.intDotUnsigned ?? false;

/** intConv2dAccumulateFast() and intConv2dRequantFast() on the pointwise layer `r` against the references. */
function checkPointwise(r: PointwiseCase): void {
  const rt = kernelRuntime();
  if (rt) rt.intDotUnsigned = r.offset && DOT_U8;
  try {
    checkPointwiseOn(r);
  } finally {
    if (rt) rt.intDotUnsigned = DOT_U8;
  }
}

function checkPointwiseOn(r: PointwiseCase): void {
  let s = r.seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const xs = [r.n, r.c, r.hw, r.hw], ws = [r.o, r.c, 1, 1];
  const x = int8s(r.n * r.c * r.hw * r.hw, r.signed ? -128 : 0, r.ends, next);
  const w = int8s(r.o * r.c, -128, r.ends, next);
  const bias = Int32Array.from({ length: r.o }, () => (next() % 200001) - 100000);
  const geometry: Conv2dGeometry = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };
  const acc = intConv2dAccumulate(
    qtensor(x, { shape: xs, scale: 1 }),
    qtensor(w, { shape: ws, scale: new Float32Array(r.o).fill(1), axis: 0 }),
    { ...geometry, quantizedBias: bias },
  );
  assertEquals(Array.from(intConv2dAccumulateFast(x, xs, w, ws, geometry, bias)), Array.from(acc.data));
  const mults = Array.from({ length: r.o }, (_, i) => computeMultiplier(2 ** r.log2m[i % r.log2m.length]));
  const range = r.int16Out ? { qmin: -32768, qmax: 32767 } : { qmin: -128, qmax: 127 };
  const activation = r.relu ? "relu6" as const : undefined, scale = 0.03;
  const { lo, hi } = activationBounds(range, { activation, scale });
  const params: IntRequantParams = {
    multiplier: Int32Array.from(mults, (m) => m.M),
    shift: Uint8Array.from(mults, (m) => m.n),
    lo,
    hi,
    bytes: r.int16Out ? 2 : 1,
  };
  const want = requantize(acc.data, mults, {
    dtype: r.int16Out ? "qint16" : "qint8",
    axis: 1,
    shape: [r.n, r.o, r.hw * r.hw],
    activation,
    scale,
  });
  const got = intConv2dRequantFast({ data: x, shape: xs }, { data: w, shape: ws }, {
    geometry,
    bias,
    requant: params,
  });
  assertEquals(Array.from(got), Array.from(want));
}

Deno.test("pointwise intConv2dRequantFast() equals requantize() of intConv2dAccumulate() for signed and ReLU inputs on one and two threads", async () => {
  const before = getKernelThreads();
  try {
    for (const threads of [1, 2]) {
      setKernelThreads(threads);
      for (let i = 0; i < 200 && readyThreads() < threads; i++) await new Promise((r) => setTimeout(r, 10));
      fc.assert(fc.property(pointwise, checkPointwise), { seed: 11 + threads, numRuns: 150 });
    }
  } finally {
    setKernelThreads(before);
  }
});

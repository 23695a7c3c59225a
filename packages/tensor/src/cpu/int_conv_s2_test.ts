import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { intConv2dAccumulate, qtensor } from "@hqat/qtensor";
import { type Conv2dGeometry, convDims } from "./conv2d_shapes.ts";
import { intConv2dRequantFast } from "./int_conv.ts";
import { intConvS2Fits } from "./int_conv_s2.ts";
import { type IntRequantParams, intRequantReference } from "./int_requant.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";

interface Case {
  xShape: number[];
  wShape: number[];
  geo: Conv2dGeometry;
  seed: number;
  bytes: 1 | 2;
  perChannel: boolean;
  /** 0: uniform int8, 1: mostly the ends -128 / 127, 2: small. */
  mix: number;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

function int8s(n: number, next: () => number, mix: number): Int8Array {
  return Int8Array.from({ length: n }, () => {
    const r = next();
    if (mix === 1) return [-128, 127, -128, 127, 0, -1, 1, (r >>> 8) & 0xff][r >>> 29];
    if (mix === 2) return ((r >>> 8) % 7) - 3;
    return (r >>> 8) & 0xff;
  });
}

/** Per-channel (or one) requantization with M in [2^14, 2^15), a shift around the sums' size, a clamp inside the type. */
function params(c: Case, co: number, next: () => number): IntRequantParams {
  const m = c.perChannel ? co : 1;
  const [qmin, qmax] = c.bytes === 1 ? [-128, 127] : [-32768, 32767];
  const lo = next() % 3 === 0 ? 0 : qmin + (next() % 4);
  return {
    multiplier: Int32Array.from({ length: m }, () => 16384 + (next() % 16384)),
    // Shifts around the sums' size, and up to 33: both rules of the kernels' requantization (n ≤ 31 and above).
    shift: Uint8Array.from(
      { length: m },
      () => next() % 4 === 0 ? 24 + (next() % 10) : (c.bytes === 1 ? 14 : 8) + (next() % 10),
    ),
    lo,
    hi: Array.from({ length: next() % 2 === 0 ? 1 : co }, () => qmax - (next() % 3 === 0 ? next() % 100 : 0)),
    bytes: c.bytes,
  };
}

function check(c: Case): void {
  const next = lcg(c.seed);
  const n = c.xShape.reduce((a, b) => a * b, 1), k = c.wShape.reduce((a, b) => a * b, 1), co = c.wShape[0];
  const x = int8s(n, next, c.mix), w = int8s(k, next, c.mix === 2 ? 0 : c.mix);
  const bias = Int32Array.from({ length: co }, () => ((next() >>> 12) % 400001) - 200000);
  const p = params(c, co, next);
  const d = convDims(c.xShape, c.wShape, c.geo, "test");
  assert(intConvS2Fits(d, 1), "the case reaches the stride-2 kernel");
  const acc = intConv2dAccumulate(
    qtensor(x, { shape: c.xShape, scale: 1 }),
    qtensor(w, { shape: c.wShape, scale: new Float32Array(co).fill(1), axis: 0 }),
    {
      stride: c.geo.stride as [number, number],
      padding: c.geo.padding as [number, number],
      dilation: c.geo.dilation as [number, number],
      quantizedBias: bias,
    },
  );
  const want = intRequantReference(acc.data as Int32Array, co, d.ho * d.wo, p);
  const got = intConv2dRequantFast({ data: x, shape: c.xShape }, { data: w, shape: c.wShape }, {
    geometry: c.geo,
    bias: c.seed % 5 === 0 ? undefined : bias,
    requant: p,
  });
  const ref = c.seed % 5 === 0
    ? intRequantReference(
      intConv2dAccumulate(
        qtensor(x, { shape: c.xShape, scale: 1 }),
        qtensor(w, { shape: c.wShape, scale: new Float32Array(co).fill(1), axis: 0 }),
        {
          stride: c.geo.stride as [number, number],
          padding: c.geo.padding as [number, number],
          dilation: c.geo.dilation as [number, number],
        },
      ).data as Int32Array,
      co,
      d.ho * d.wo,
      p,
    )
    : want;
  assertEquals(got.constructor, ref.constructor);
  for (let i = 0; i < ref.length; i++) {
    if (got[i] !== ref[i]) {
      throw new Error(`output ${i} of ${ref.length}: ${got[i]}, the reference ${ref[i]}`);
    }
  }
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  c: fc.integer({ min: 1, max: 5 }),
  kh: fc.integer({ min: 1, max: 3 }),
  co: fc.integer({ min: 1, max: 9 }),
  h: fc.integer({ min: 1, max: 34 }),
  w: fc.integer({ min: 1, max: 41 }),
  sh: fc.integer({ min: 1, max: 3 }),
  ph: fc.integer({ min: 0, max: 2 }),
  pw: fc.integer({ min: 0, max: 2 }),
  dh: fc.integer({ min: 1, max: 2 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  int16: fc.boolean(),
  perChannel: fc.boolean(),
  mix: fc.integer({ min: 0, max: 2 }),
}).filter((r) => r.c * r.kh <= 16 && r.h + 2 * r.ph >= (r.kh - 1) * r.dh + 1 && r.w + 2 * r.pw >= 3).map((
  r,
) => ({
  xShape: [r.n, r.c, r.h, r.w],
  wShape: [r.co, r.c, r.kh, 3],
  geo: { stride: [r.sh, 2], padding: [r.ph, r.pw], dilation: [r.dh, 1], groups: 1 },
  seed: r.seed,
  bytes: r.int16 ? 2 : 1,
  perChannel: r.perChannel,
  mix: r.mix,
}));

Deno.test("the stride-2 stem convolution equals requantize() of intConv2dAccumulate() on random geometries", () => {
  fc.assert(fc.property(caseArb, check), { numRuns: 400 });
});

Deno.test("the stride-2 stem convolution of MobileNetV2-CIFAR (3×3, 3 > 32, padding 1) on two threads", async () => {
  const before = getKernelThreads();
  setKernelThreads(2);
  try {
    const geo: Conv2dGeometry = { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1 };
    check({
      xShape: [1, 3, 32, 32],
      wShape: [32, 3, 3, 3],
      geo,
      seed: 1,
      bytes: 1,
      perChannel: true,
      mix: 0,
    });
    for (let i = 0; i < 500 && readyThreads() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assertEquals(readyThreads(), 2, "the kernel worker should start");
    for (let seed = 2; seed < 6; seed++) {
      const mix = seed % 3, bytes = seed % 2 === 0 ? 1 : 2;
      check({ xShape: [16, 3, 32, 32], wShape: [32, 3, 3, 3], geo, seed, bytes, perChannel: true, mix });
    }
  } finally {
    setKernelThreads(before);
  }
});

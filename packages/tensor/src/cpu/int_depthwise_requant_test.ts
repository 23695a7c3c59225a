/**
 * Property tests of the requantizing depthwise kernels: on tiny planes (1 or 4 positions in and out:
 * int_depthwise_lanes.c, sixteen channels to a vector, requantized per lane in float64) and on larger 3×3
 * planes (int_depthwise_rows.c, its vectors of requant4_32 and the combined stores of two rows) and on planes
 * of at most 16 positions (int_depthwise_small.c) every output equals the reference accumulation requantized
 * by the plain-TypeScript rule, for any weights, biases, multipliers, shifts and clamps, inputs in [0, 127] or signed, partial channel groups, groups with a
 * multiplier of 2^21 or more (the scalar rule) and the work split across two threads.
 * @module
 */
import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { intConv2dAccumulate, qtensor } from "@hqat/qtensor";
import type { Conv2dGeometry } from "./conv2d_shapes.ts";
import { intConv2dRequantFast } from "./int_conv.ts";
import { type IntRequantParams, intRequantReference } from "./int_requant.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";

/** A depthwise layer: plane and kernel shape, values drawn from `seed`, the requantization. */
interface DwCase {
  n: number;
  c: number;
  h: number;
  w: number;
  k: number;
  pad: number;
  s: number;
  seed: number;
  /** Inputs, weights and biases at the ends of their ranges (products of -128 · -128, acc near 2^31). */
  extreme: boolean;
  /** Inputs in [0, 127] (after a ReLU) only. */
  relu: boolean;
  /** With `relu`: one input per plane, in its last column, is -1 instead (the kernels' sign checks). */
  lastNegative?: boolean;
  int16Out: boolean;
  lo: number;
  span: number;
  /** Per channel: [M, n]. */
  mults: [number, number][];
}

function values(next: () => number, count: number, extreme: boolean, relu = false): Int8Array {
  return new Int8Array(count).map(() => {
    const r = next();
    if (relu) return extreme ? [127, 0, 127, 1][r >>> 30] : (r >>> 8) % 128;
    return extreme ? [-128, 127, -128, 0][r >>> 30] : (r >>> 8) % 256 - 128;
  });
}

function checkDepthwise(r: DwCase): void {
  let st = r.seed >>> 0;
  const next = () => (st = (Math.imul(st, 1664525) + 1013904223) >>> 0);
  const xs = [r.n, r.c, r.h, r.w], ws = [r.c, 1, r.k, r.k];
  const x = values(next, r.n * r.c * r.h * r.w, r.extreme, r.relu);
  if (r.lastNegative) {
    for (let p = 0; p < r.n * r.c; p++) x[(p * r.h + next() % r.h) * r.w + r.w - 1] = -1;
  }
  const w = values(next, r.c * r.k * r.k, r.extreme);
  // |Σ x·w| ≤ 9 · 2^14, so a bias within 2^31 - 2^18 keeps every sum in int32.
  const bias = Int32Array.from({ length: r.c }, () => {
    const v = next();
    if (r.extreme) return v & 1 ? 2147221503 : -2147221503;
    return v & 2 ? (v >>> 12) - (1 << 19) : (v >>> 20) % 401 - 200;
  });
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
  ).data as Int32Array;
  const [qmin, qmax] = r.int16Out ? [-32768, 32767] : [-128, 127];
  const lo = Math.max(qmin, Math.min(qmax, r.lo));
  const params: IntRequantParams = {
    multiplier: Int32Array.from({ length: r.c }, (_, c) => r.mults[c % r.mults.length][0]),
    shift: Uint8Array.from({ length: r.c }, (_, c) => r.mults[c % r.mults.length][1]),
    lo,
    hi: Array.from({ length: r.c }, (_, c) => Math.min(qmax, lo + ((r.span * (c + 1)) % (qmax - lo + 1)))),
    bytes: r.int16Out ? 2 : 1,
  };
  const got = intConv2dRequantFast({ data: x, shape: xs }, { data: w, shape: ws }, {
    geometry,
    bias,
    requant: params,
  });
  const want = intRequantReference(acc, r.c, acc.length / (r.n * r.c), params);
  assertEquals(Array.from(got), Array.from(want));
}

/**
 * [M, n]: SPEC's range, the extremes the requantization accepts (M up to 2^22 - 1, n 0..62), M = 0, and
 * multipliers whose acc · M / 2^n falls halfway between two integers for many accumulators (the rounding's
 * ties: acc odd for 2^14 · 2^-15, acc ≡ 4 mod 8 for 3 · 2^13 · 2^-16).
 */
const tieMults: [number, number][] = [[16384, 15], [16384, 17], [24576, 16], [16384, 14]];
const limitMults: [number, number][] = [[4194303, 62], [4194303, 0], [1, 0], [0, 7], [16384, 1], [
  2097152,
  40,
]];
const multArb = fc.oneof(
  { arbitrary: fc.tuple(fc.integer({ min: 16384, max: 32767 }), fc.integer({ min: 0, max: 40 })), weight: 6 },
  { arbitrary: fc.tuple(fc.integer({ min: 0, max: 2097151 }), fc.integer({ min: 0, max: 62 })), weight: 2 },
  { arbitrary: fc.constantFrom(...limitMults), weight: 1 },
  { arbitrary: fc.constantFrom(...tieMults), weight: 2 },
);

const requantArb = {
  seed: fc.nat(),
  extreme: fc.boolean(),
  relu: fc.boolean(),
  lastNegative: fc.boolean(),
  int16Out: fc.boolean(),
  lo: fc.integer({ min: -32768, max: 32767 }),
  span: fc.integer({ min: 0, max: 65535 }),
  mults: fc.array(multArb, { minLength: 1, maxLength: 20 }),
};

const lanesArb = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  c: fc.integer({ min: 1, max: 50 }),
  h: fc.constantFrom(1, 2),
  k: fc.integer({ min: 1, max: 3 }),
  pad: fc.integer({ min: 0, max: 1 }),
  s: fc.constantFrom(1, 2),
  ...requantArb,
}).map((r) => ({ ...r, w: r.h })).filter((r) => {
  // both planes within 1 or 4 positions (the kernel's), the kernel inside the padded plane
  const padded = r.h + 2 * r.pad;
  const out = Math.floor((padded - r.k) / r.s) + 1;
  return padded >= r.k && (out === 1 || out === 2);
});

Deno.test("intConv2dRequantFast() on 1×1 and 2×2 depthwise planes equals the reference requantization", () => {
  fc.assert(fc.property(lanesArb, checkDepthwise), { seed: 13, numRuns: 400 });
});

Deno.test("intConv2dRequantFast() on tiny depthwise planes splits its channel groups across two threads", async () => {
  const before = getKernelThreads();
  try {
    setKernelThreads(2);
    for (let i = 0; i < 50 && readyThreads() < 2; i++) await new Promise((res) => setTimeout(res, 10));
    const mults: [number, number][] = [[20000, 24], [4194303, 40], [16384, 15], [30000, 30], [17000, 20]];
    for (const h of [1, 2]) {
      for (const s of [1, 2]) {
        const base = {
          n: 256,
          c: 250,
          h,
          w: h,
          k: 3,
          pad: 1,
          s,
          relu: false,
          int16Out: false,
          lo: 0,
          span: 97,
          mults,
        };
        checkDepthwise({ ...base, seed: 3, extreme: false });
        checkDepthwise({ ...base, seed: 4, extreme: true, int16Out: true, lo: -32768 });
      }
    }
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("intConv2dRequantFast() on tiny depthwise planes takes the scalar rule where float64 would round", () => {
  // acc = -2^31, M = 3 · 2^20, n = 52: acc · M / 2^n = -1.5 exactly, so y = floor(-1.5 + 0.5) = -1; but
  // 2 · acc · M + 1 needs 54 bits, and float64 would round it to -3 · 2^52 and the tie to -2.
  const c = 16,
    x = new Int8Array(c),
    w = new Int8Array(c).fill(1),
    bias = new Int32Array(c).fill(-2147483648);
  const params: IntRequantParams = {
    multiplier: new Int32Array(c).fill(3 * 2 ** 20),
    shift: new Uint8Array(c).fill(52),
    lo: -128,
    hi: [127],
    bytes: 1,
  };
  const geometry: Conv2dGeometry = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: c };
  const got = intConv2dRequantFast({ data: x, shape: [1, c, 1, 1] }, { data: w, shape: [c, 1, 1, 1] }, {
    geometry,
    bias,
    requant: params,
  });
  assertEquals(Array.from(got), new Array(c).fill(-1));
});

Deno.test("intConv2dRequantFast() on larger 3×3 depthwise planes equals the reference requantization", () => {
  const arb = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 6 }),
    h: fc.integer({ min: 2, max: 19 }),
    w: fc.integer({ min: 2, max: 19 }),
    k: fc.constant(3),
    pad: fc.constant(1),
    s: fc.constantFrom(1, 2),
    ...requantArb,
  }).filter((r) => r.h * r.w > 16);
  fc.assert(fc.property(arb, checkDepthwise), { seed: 17, numRuns: 300 });
});

Deno.test("intConv2dRequantFast() on depthwise planes of 5 to 16 positions equals the reference requantization", () => {
  // int_depthwise_small.c: a channel's plane in one vector (16 outputs stored as one vector, or only the
  // first four lanes summed where the outputs are at most four).
  const arb = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 6 }),
    h: fc.integer({ min: 1, max: 4 }),
    w: fc.integer({ min: 1, max: 4 }),
    k: fc.integer({ min: 1, max: 3 }),
    pad: fc.integer({ min: 0, max: 1 }),
    s: fc.constantFrom(1, 2),
    ...requantArb,
  }).filter((r) => r.h * r.w > 4 && r.h + 2 * r.pad >= r.k && r.w + 2 * r.pad >= r.k);
  fc.assert(fc.property(arb, checkDepthwise), { seed: 19, numRuns: 300 });
  // 4×4 → 4×4 (MobileNet's), int8 out: the one-vector store
  const same = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 6 }),
    ...requantArb,
  })
    .map((r) => ({ ...r, h: 4, w: 4, k: 3, pad: 1, s: 1, int16Out: false }));
  fc.assert(fc.property(same, checkDepthwise), { seed: 23, numRuns: 100 });
});

Deno.test("intConv2dRequantFast() on 3×3 depthwise planes is exact where acc · M meets the int32 bound", () => {
  // Every input 127 and every weight ±128 or 127: the interior sums reach |bias| + 127 · Σ|w|, the bound under
  // which the rows kernel requantizes in one int32 product; M at the largest multiplier it takes and one above.
  const c = 4, h = 8, x = new Int8Array(2 * c * h * h).fill(127);
  const w = Int8Array.from({ length: c * 9 }, (_, i) => (i < 18 ? -128 : 127));
  const bias = Int32Array.of(0, -5000, 7, 3000);
  const geometry: Conv2dGeometry = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: c };
  const acc = intConv2dAccumulate(
    qtensor(x, { shape: [2, c, h, h], scale: 1 }),
    qtensor(w, { shape: [c, 1, 3, 3], scale: new Float32Array(c).fill(1), axis: 0 }),
    { ...geometry, quantizedBias: bias },
  ).data as Int32Array;
  for (const n of [16, 24, 31]) {
    for (const extra of [0, 1]) {
      const multiplier = Int32Array.from({ length: c }, (_, k) => {
        const bound = Math.abs(bias[k]) + 127 * 9 * (k < 2 ? 128 : 127);
        return Math.floor((2 ** 31 - 1 - 2 ** (n - 1)) / bound) + extra;
      });
      const params: IntRequantParams = {
        multiplier,
        shift: new Uint8Array(c).fill(n),
        lo: -32768,
        hi: [32767],
        bytes: 2,
      };
      const got = intConv2dRequantFast({ data: x, shape: [2, c, h, h] }, { data: w, shape: [c, 1, 3, 3] }, {
        geometry,
        bias,
        requant: params,
      });
      assertEquals(Array.from(got), Array.from(intRequantReference(acc, c, h * h, params)));
    }
  }
});

Deno.test("intConv2dRequantFast() on 3×3 depthwise planes 16 wide equals the reference requantization", () => {
  // int_depthwise_rows.c reads such planes' rows as two registers each (int8 outputs, rows a multiple of 4).
  const arb = fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    c: fc.integer({ min: 1, max: 4 }),
    h: fc.constantFrom(4, 8, 12, 16, 6),
    w: fc.constant(16),
    k: fc.constant(3),
    pad: fc.constant(1),
    s: fc.constantFrom(1, 2),
    ...requantArb,
  }).map((r) => ({ ...r, int16Out: false }));
  fc.assert(fc.property(arb, checkDepthwise), { seed: 29, numRuns: 120 });
});

Deno.test("intConv2dRequantFast() on 4×4 depthwise planes is exact where acc · M meets the int32 bound", () => {
  // Every input -128 and every weight -128: the centre sums reach |bias| + 128 · Σ|w|, the bound under which
  // the small-plane kernel requantizes in one int32 product; M at the largest it takes there and one above.
  const c = 3, x = new Int8Array(2 * c * 16).fill(-128), w = new Int8Array(c * 9).fill(-128);
  const bias = Int32Array.of(0, 4000, 123);
  for (const s of [1, 2]) {
    const geometry: Conv2dGeometry = { stride: [s, s], padding: [1, 1], dilation: [1, 1], groups: c };
    const acc = intConv2dAccumulate(
      qtensor(x, { shape: [2, c, 4, 4], scale: 1 }),
      qtensor(w, { shape: [c, 1, 3, 3], scale: new Float32Array(c).fill(1), axis: 0 }),
      { ...geometry, quantizedBias: bias },
    ).data as Int32Array;
    for (const n of [16, 24, 31]) {
      for (const extra of [0, 1]) {
        const multiplier = Int32Array.from(
          { length: c },
          (_, k) => Math.floor((2 ** 31 - 1 - 2 ** (n - 1)) / (Math.abs(bias[k]) + 128 * 9 * 128)) + extra,
        );
        const params: IntRequantParams = {
          multiplier,
          shift: new Uint8Array(c).fill(n),
          lo: -128,
          hi: [127],
          bytes: 1,
        };
        const got = intConv2dRequantFast({ data: x, shape: [2, c, 4, 4] }, { data: w, shape: [c, 1, 3, 3] }, {
          geometry,
          bias,
          requant: params,
        });
        assertEquals(Array.from(got), Array.from(intRequantReference(acc, c, acc.length / (2 * c), params)));
      }
    }
  }
});

import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { QDTYPE_RANGES } from "./dtypes.ts";
import { cmp, div, exact, roundHalfEvenR } from "./exact_test_util.ts";
import { dequantize, dequantizeTensor, fakeQuantize, quantize, quantizeTensor } from "./quantize.ts";
import type { RoundingMode } from "./rounding.ts";

const RUNS = { seed: 42, numRuns: 300 };
const f32 = Math.fround;

/** Float32 values, mostly within a few hundred scales of zero, sometimes anything (±Infinity too). */
const value = fc.oneof(
  fc.float({ min: -300, max: 300, noNaN: true }),
  fc.float({ noNaN: true }),
  fc.constantFrom(0, -0, Infinity, -Infinity),
);
const scale = fc.oneof(
  fc.float({ min: f32(2 ** -20), max: 1024, noNaN: true }),
  fc.integer({ min: -20, max: 4 }).map((e) => 2 ** e),
);
const range = fc.oneof(
  fc.constantFrom(QDTYPE_RANGES.qint8, QDTYPE_RANGES.qint16),
  fc.constantFrom({ qmin: -8, qmax: 7 }, { qmin: -127, qmax: 127 }, { qmin: 0, qmax: 255 }),
);
const rounding = fc.constantFrom<RoundingMode>("halfToEven", "bpu");

/** A shaped array with per-channel scales along a random axis. */
const perChannelCase = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }), fc.nat())
  .chain(([shape, a]) => {
    const axis = a % shape.length;
    const size = shape.reduce((p, d) => p * d, 1);
    return fc.record({
      shape: fc.constant(shape),
      axis: fc.constant(axis),
      x: fc.array(value, { minLength: size, maxLength: size }),
      scales: fc.array(scale, { minLength: shape[axis], maxLength: shape[axis] }),
    });
  });

Deno.test("quantize() keeps every value in [qmin, qmax], per tensor and per channel", () => {
  fc.assert(
    fc.property(fc.array(value, { maxLength: 40 }), scale, range, rounding, (x, s, r, mode) => {
      for (const q of quantize(x, s, { ...r, rounding: mode })) {
        assert(Number.isInteger(q) && q >= r.qmin && q <= r.qmax);
      }
    }),
    RUNS,
  );
  fc.assert(
    fc.property(perChannelCase, range, ({ shape, axis, x, scales }, r) => {
      for (const q of quantize(x, scales, { ...r, axis, shape })) assert(q >= r.qmin && q <= r.qmax);
    }),
    RUNS,
  );
});

Deno.test("fakeQuantize() equals dequantize(quantize()) bit for bit (Object.is per element)", () => {
  const check = (fq: Float32Array, dq: Float32Array) => {
    assertEquals(fq.length, dq.length);
    for (let i = 0; i < fq.length; i++) assert(Object.is(fq[i], dq[i]), `element ${i}: ${fq[i]} vs ${dq[i]}`);
  };
  fc.assert(
    fc.property(
      fc.array(value, { maxLength: 40 }),
      scale,
      range,
      rounding,
      fc.boolean(),
      (x, s, r, mode, pt) => {
        const opts = { ...r, rounding: mode, pytorchCompatible: pt };
        check(fakeQuantize(x, s, opts), dequantize(quantize(x, s, opts), s));
      },
    ),
    RUNS,
  );
  fc.assert(
    fc.property(perChannelCase, range, ({ shape, axis, x, scales }, r) => {
      const opts = { ...r, axis, shape };
      check(fakeQuantize(x, scales, opts), dequantize(quantize(x, scales, opts), scales, opts));
    }),
    RUNS,
  );
});

Deno.test("quantize() rounds exact ties (k + 1/2)·s half to even, and bpuRound ties up", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(QDTYPE_RANGES.qint8, QDTYPE_RANGES.qint16),
      fc.integer({ min: -20, max: 5 }),
      fc.integer({ min: -40000, max: 40000 }),
      (r, e, k) => {
        const s = 2 ** e;
        const x = (k + 0.5) * s;
        assertEquals(f32(x), x); // the tie is exact in float32
        const even = k % 2 === 0 ? k : k + 1;
        const clamp = (v: number) => Math.min(r.qmax, Math.max(r.qmin, v));
        assertEquals(quantize([x], s, r)[0], clamp(even));
        assertEquals(quantize([x], s, { ...r, rounding: "bpu" })[0], clamp(k + 1));
      },
    ),
    { seed: 42, numRuns: 1000 },
  );
  const s = 0.25;
  const ties = [0.5, -0.5, 1.5, -1.5, 2.5, -2.5].map((t) => t * s);
  assertEquals(Array.from(quantize(ties, s)), [0, 0, 2, -2, 2, -2]);
  assertEquals(Array.from(quantize(ties, s, { rounding: "bpu" })), [1, 0, 2, -1, 3, -2]);
});

/** The float32 neighbours of a float32 value. */
function neighbours(v: number): [number, number] {
  const b = new Float32Array([v]);
  const u = new Int32Array(b.buffer);
  const up = new Float32Array(1), down = new Float32Array(1);
  const iu = new Int32Array(up.buffer), id = new Int32Array(down.buffer);
  if (v === 0) return [-(2 ** -149), 2 ** -149];
  iu[0] = u[0] + (v > 0 ? 1 : -1);
  id[0] = u[0] - (v > 0 ? 1 : -1);
  return [down[0], up[0]];
}

Deno.test("quantize() rounds the correctly rounded float32 quotient x / s (exact reference)", () => {
  fc.assert(
    fc.property(fc.float({ min: -1e4, max: 1e4, noNaN: true }), scale, (x, s) => {
      const q = quantize([x], s, { qmin: -(2 ** 31), qmax: 2 ** 31 - 1 })[0];
      const v = f32(x / s);
      if (!(Math.abs(v) < 2 ** 30)) return;
      // v is the float32 nearest to the exact x / s: no neighbour is strictly closer.
      const exactQ = div(exact(x), exact(s));
      const dist = (w: number) => {
        const d = div(exact(w), { num: 1n, den: 1n });
        const diff = { num: d.num * exactQ.den - exactQ.num * d.den, den: d.den * exactQ.den };
        return { num: diff.num < 0n ? -diff.num : diff.num, den: diff.den };
      };
      for (const n of neighbours(v)) {
        assert(cmp(dist(v), dist(n)) <= 0, `${n} is closer to ${x}/${s} than ${v}`);
      }
      assertEquals(q, Number(roundHalfEvenR(exact(v))));
    }),
    { seed: 42, numRuns: 1000 },
  );
});

Deno.test("quantize() per channel equals per-tensor quantization of each channel slice", () => {
  fc.assert(
    fc.property(perChannelCase, range, ({ shape, axis, x, scales }, r) => {
      const q = quantize(x, scales, { ...r, axis, shape });
      const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
      for (let i = 0; i < x.length; i++) {
        const c = Math.floor(i / inner) % shape[axis];
        assertEquals(q[i], quantize([x[i]], scales[c], r)[0]);
      }
    }),
    RUNS,
  );
});

Deno.test("dequantize() is float32(q · s)", () => {
  fc.assert(
    fc.property(fc.integer({ min: -32768, max: 32767 }), scale, (q, s) => {
      const y = dequantize([q], s)[0];
      assertEquals(y, f32(q * f32(s)));
      // q · s is exact in float64 (15 + 24 bits), so the only rounding is the final float32 one.
      assertEquals(cmp(exact(q * f32(s)), { num: BigInt(q) * exact(f32(s)).num, den: exact(f32(s)).den }), 0);
    }),
    RUNS,
  );
});

Deno.test("quantize() rejects NaN, saturates ±Infinity and fakeQuantize() gives +0 for -0", () => {
  assertThrows(() => quantize([1, NaN], 0.5), RangeError, "NaN");
  assertThrows(() => fakeQuantize([NaN], 0.5), RangeError, "NaN");
  assertEquals(Array.from(quantize([Infinity, -Infinity], 0.5)), [127, -128]);
  const z = fakeQuantize([-0, -0.1], 1);
  assert(Object.is(z[0], 0) && Object.is(z[1], 0));
});

Deno.test("quantize() checks its options", () => {
  assertThrows(() => quantize([1, 2], [0.5, 0.25]), TypeError, "axis and a shape");
  assertThrows(() => quantize([1, 2], [0.5, 0.25], { axis: 0, shape: [3] }), RangeError);
  assertThrows(() => quantize([1], 0), RangeError, "positive");
  assertThrows(() => quantize([1], 1, { qmin: 5, qmax: 7 }), RangeError);
  assertThrows(() => quantize([1], 1, { qmin: -300, qmax: 300, dtype: "qint8" }), RangeError, "exceeds");
});

Deno.test("quantizeTensor() and dequantizeTensor() round-trip within half a step", () => {
  fc.assert(
    fc.property(
      fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 30 }),
      (x) => {
        const s = f32(1 / 127.5);
        const q = quantizeTensor(x, s, { shape: [x.length] });
        const y = dequantizeTensor(q);
        for (let i = 0; i < x.length; i++) assert(Math.abs(y[i] - x[i]) <= s / 2 + 1e-7);
      },
    ),
    RUNS,
  );
});

Deno.test("fakeQuantize() pytorchCompatible differs from SPEC.md only where x·(1/s) and x/s round apart", () => {
  fc.assert(
    fc.property(fc.float({ min: -200, max: 200, noNaN: true }), scale, (xs, s) => {
      const x = xs * f32(s);
      const a = Math.round(f32(f32(x) / f32(s)) * 2), b = Math.round(f32(f32(x) * f32(1 / f32(s))) * 2);
      const spec = fakeQuantize([x], s)[0], torch = fakeQuantize([x], s, { pytorchCompatible: true })[0];
      if (a === b && f32(f32(x) / f32(s)) === f32(f32(x) * f32(1 / f32(s)))) assert(Object.is(spec, torch));
    }),
    RUNS,
  );
  // A near tie from the golden vectors: s = 0.0123, x/s = 126.5 exactly in float32, x·inv = 126.50001.
  const x = new Float32Array(new Uint32Array([0x3fc7295e]).buffer)[0];
  const s = new Float32Array(new Uint32Array([0x3c4985f0]).buffer)[0];
  assertEquals(f32(x / s), 126.5);
  assertEquals(quantize([x], s)[0], 126);
  assertEquals(quantize([x], s, { pytorchCompatible: true })[0], 127);
});

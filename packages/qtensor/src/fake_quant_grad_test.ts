import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { fakeQuantizeGrad, fakeQuantizeMask, lsqFakeQuantizeGrad } from "./fake_quant_grad.ts";
import { fakeQuantize, quantize } from "./quantize.ts";
import { roundHalfToEven } from "./rounding.ts";

const RUNS = { seed: 42, numRuns: 200 };
const f32 = Math.fround;
const WIDE = { qmin: -(2 ** 31), qmax: 2 ** 31 - 1 };
const range = fc.constantFrom({ qmin: -128, qmax: 127 }, { qmin: -32768, qmax: 32767 }, {
  qmin: -8,
  qmax: 7,
});
const scale = fc.float({ min: f32(2 ** -12), max: 16, noNaN: true });

/** Inputs up to 1.2× beyond the range, in units of the scale, plus ±Infinity. */
function inputs(s: number, r: { qmin: number; qmax: number }) {
  return fc.array(
    fc.oneof(
      fc.double({ min: r.qmin * 1.2, max: r.qmax * 1.2, noNaN: true }).map((v) => f32(v * s)),
      fc.constantFrom(Infinity, -Infinity, 0),
    ),
    { minLength: 1, maxLength: 40 },
  );
}

const gradCase = fc.tuple(scale, range).chain(([s, r]) =>
  fc.record({
    s: fc.constant(s),
    r: fc.constant(r),
    x: inputs(s, r),
    dySeed: fc.integer(),
  })
);

function dyFor(n: number, seed: number): Float32Array {
  let st = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
    return st / 2 ** 31 - 1;
  });
}

Deno.test("fakeQuantizeMask() is 1 exactly where the rounded value lies in [qmin, qmax]", () => {
  fc.assert(
    fc.property(gradCase, ({ s, r, x }) => {
      const mask = fakeQuantizeMask(x, s, r);
      const rounded = quantize(x, s, WIDE);
      for (let i = 0; i < x.length; i++) {
        const inside = rounded[i] >= r.qmin && rounded[i] <= r.qmax;
        assertEquals(mask[i], inside ? 1 : 0, `x ${x[i]}`);
        // Inside, fake quantization is not saturated; outside, it sits at a range end.
        const fq = fakeQuantize([x[i]], s, r)[0];
        if (!inside) assert(fq === f32(r.qmin * f32(s)) || fq === f32(r.qmax * f32(s)));
      }
    }),
    RUNS,
  );
});

Deno.test("fakeQuantizeGrad() passes dy where the mask is 1 and 0 elsewhere", () => {
  fc.assert(
    fc.property(gradCase, ({ s, r, x, dySeed }) => {
      const dy = dyFor(x.length, dySeed);
      const mask = fakeQuantizeMask(x, s, r);
      const dx = fakeQuantizeGrad(x, s, { ...r, dy });
      for (let i = 0; i < x.length; i++) assertEquals(dx[i], mask[i] ? dy[i] : 0);
      assertEquals(Array.from(fakeQuantizeGrad(x, s, r)), Array.from(mask));
    }),
    RUNS,
  );
  assertThrows(() => fakeQuantizeGrad([1, 2], 1, { dy: [1] }), RangeError, "dy has 1");
});

/**
 * The LSQ surrogate at (x0, s0): rounding offsets δ = round(x0 / s0) - x0 / s0 frozen, clamp kept:
 * F(x, s) = Σ dy · s · clamp(x / s + δ, qmin, qmax). LSQ's gradients are the exact gradients of F.
 */
function surrogate(x0: Float32Array, s0: number, r: { qmin: number; qmax: number }, dy: Float32Array) {
  const delta = Array.from(x0, (v) => roundHalfToEven(f32(v / s0)) - v / s0);
  return (x: ArrayLike<number>, s: number) => {
    let sum = 0;
    for (let i = 0; i < x.length; i++) {
      const z = x[i] / s + delta[i];
      sum += dy[i] * s * Math.min(r.qmax, Math.max(r.qmin, z));
    }
    return sum;
  };
}

Deno.test("lsqFakeQuantizeGrad() agrees with finite differences of the LSQ surrogate away from boundaries", () => {
  fc.assert(
    fc.property(gradCase, ({ s, r, x, dySeed }) => {
      const sf = f32(s);
      // Stay away from the range ends, where the surrogate's clamp has a kink.
      const xs = Float32Array.from(x.filter((v) => {
        const q = roundHalfToEven(f32(v / sf));
        return Number.isFinite(v) && q !== r.qmin && q !== r.qmax;
      }));
      if (xs.length === 0) return;
      const dy = dyFor(xs.length, dySeed);
      const { dx, dscale } = lsqFakeQuantizeGrad(xs, sf, { ...r, dy });
      const F = surrogate(xs, sf, r, dy);
      const h = sf * 1e-6;
      const fdScale = (F(xs, sf + h) - F(xs, sf - h)) / (2 * h);
      const tol = 1e-8 * xs.reduce((p, v, i) => p + Math.abs(dy[i]) * (Math.abs(v / sf) + r.qmax), 0) +
        1e-7 * Math.abs(fdScale);
      assertAlmostEquals(dscale[0], fdScale, tol);
      for (let i = 0; i < xs.length; i++) {
        // F is a sum over elements; differentiate element i's own term to avoid cancellation.
        const Fi = surrogate(xs.subarray(i, i + 1), sf, r, dy.subarray(i, i + 1));
        const hx = Math.max(Math.abs(xs[i]), sf) * 1e-7;
        assertAlmostEquals(dx[i], (Fi([xs[i] + hx], sf) - Fi([xs[i] - hx], sf)) / (2 * hx), 1e-6);
      }
      // The true fake quantization is piecewise linear in s with slope Σ dy · q; LSQ adds the
      // straight-through term -Σ_inside dy · x / s.
      const mask = fakeQuantizeMask(xs, sf, r);
      const q = quantize(xs, sf, r);
      let slope = 0, ste = 0;
      for (let i = 0; i < xs.length; i++) {
        slope += dy[i] * q[i];
        if (mask[i]) ste += dy[i] * (xs[i] / sf);
      }
      assertAlmostEquals(dscale[0], slope - ste, tol);
    }),
    RUNS,
  );
});

Deno.test("lsqFakeQuantizeGrad() applies the grad-scale factor 1/sqrt(numel · qmax)", () => {
  fc.assert(
    fc.property(gradCase, ({ s, r, x, dySeed }) => {
      const dy = dyFor(x.length, dySeed);
      const plain = lsqFakeQuantizeGrad(x, s, { ...r, dy });
      const scaled = lsqFakeQuantizeGrad(x, s, { ...r, dy, gradScale: "lsq" });
      const g = 1 / Math.sqrt(x.length * r.qmax);
      assertAlmostEquals(
        scaled.dscale[0],
        f32(plain.dscale[0] * g),
        Math.abs(plain.dscale[0] * g) * 1e-6 + 1e-30,
      );
      const byTwo = lsqFakeQuantizeGrad(x, s, { ...r, dy, gradScale: 2 });
      assertAlmostEquals(byTwo.dscale[0], f32(plain.dscale[0] * 2), Math.abs(plain.dscale[0]) * 1e-6 + 1e-30);
      assertEquals(Array.from(scaled.dx), Array.from(plain.dx));
    }),
    RUNS,
  );
});

Deno.test("lsqFakeQuantizeGrad() per channel sums each channel separately", () => {
  const x = Float32Array.of(0.3, 100, -0.7, 2, 0.26, -500);
  const s = [0.5, 0.25];
  const dy = Float32Array.of(1, 2, 3, 4, 5, 6);
  const { dscale, dx } = lsqFakeQuantizeGrad(x, s, { axis: 1, shape: [3, 2], dy });
  // channel 0: x = 0.3, -0.7, 0.26 (s 0.5); channel 1: x = 100, 2, -500 (s 0.25)
  const c0 = lsqFakeQuantizeGrad([0.3, -0.7, 0.26], 0.5, { dy: [1, 3, 5] });
  const c1 = lsqFakeQuantizeGrad([100, 2, -500], 0.25, { dy: [2, 4, 6] });
  assertEquals(Array.from(dscale), [c0.dscale[0], c1.dscale[0]]);
  assertEquals(Array.from(dx), [1, 0, 3, 4, 5, 0]);
  // 100 / 0.25 = 400 saturates at 127 and -500 / 0.25 at -128.
  assertAlmostEquals(c1.dscale[0], 2 * 127 + 4 * (8 - 8) + 6 * -128, 1e-9);
});

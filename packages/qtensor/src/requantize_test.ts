import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { add, clampBig, div, exact, floorDiv, int, mul, roundHalfEvenR } from "./exact_test_util.ts";
import {
  activationBounds,
  computeMultiplier,
  MAX_SHIFT,
  type Multiplier,
  relu6Bound,
  requantize,
  requantizeValue,
} from "./requantize.ts";

const RUNS = { seed: 42, numRuns: 1000 };
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
/** Positive multipliers over many octaves, including exact powers of two and values just below 2^k. */
const multiplier = fc.oneof(
  fc.double({ min: 2 ** -40, max: 2 ** 15, noNaN: true }),
  fc.double({ min: 1e-6, max: 4, noNaN: true }),
  fc.integer({ min: -40, max: 14 }).map((e) => 2 ** e),
  fc.integer({ min: -40, max: 14 }).map((e) => 2 ** e * (1 - 2 ** -20)),
);

/** The SPEC.md formula on BigInt: floor((acc · M + 2^(n-1)) / 2^n), written as floor((2 acc M + 2^n) / 2^(n+1)). */
function reference(acc: number, { M, n }: Multiplier): bigint {
  return floorDiv(2n * BigInt(acc) * BigInt(M) + (1n << BigInt(n)), 1n << BigInt(n + 1));
}

Deno.test("computeMultiplier() gives M in [2^14, 2^15) with M = round(m · 2^n)", () => {
  fc.assert(
    fc.property(multiplier, (m) => {
      const { M, n } = computeMultiplier(m);
      assert(Number.isInteger(M) && Number.isInteger(n) && n >= 0 && n <= MAX_SHIFT);
      if (m < 2 ** 15 - 0.5) assert(M >= 2 ** 14 && M < 2 ** 15, `m ${m}: M ${M}`);
      // M = round(m · 2^n) exactly (ties to even), checked on rationals.
      assertEquals(BigInt(M), roundHalfEvenR(mul(exact(m), { num: 1n << BigInt(n), den: 1n })));
    }),
    RUNS,
  );
  assertEquals(computeMultiplier(1), { M: 16384, n: 14 });
  assertEquals(computeMultiplier(0.75), { M: 24576, n: 15 });
  // m · 2^n would round up to 2^15, so n drops by one.
  assertEquals(computeMultiplier(2 ** -3 * (1 - 2 ** -20)), { M: 16384, n: 17 });
  assertEquals(computeMultiplier(40000.4), { M: 40000, n: 0 });
  assertThrows(() => computeMultiplier(0), RangeError);
  assertThrows(() => computeMultiplier(NaN), RangeError);
  assertThrows(() => computeMultiplier(2 ** 23), RangeError, "2^22");
});

Deno.test("requantize() equals the exact integer formula of SPEC.md (BigInt reference), n = 0 included", () => {
  fc.assert(
    fc.property(fc.array(int32, { minLength: 1, maxLength: 20 }), multiplier, (acc, m) => {
      const mult = computeMultiplier(m);
      const y = requantize(Int32Array.from(acc), mult, { qmin: -(2 ** 31), qmax: 2 ** 31 - 1 });
      for (let i = 0; i < acc.length; i++) {
        const ref = reference(acc[i], mult);
        assertEquals(BigInt(requantizeValue(acc[i], mult)), ref);
        assertEquals(y[i], clampBig(ref, -(2 ** 31), 2 ** 31 - 1));
      }
    }),
    RUNS,
  );
  fc.assert(
    fc.property(
      int32,
      fc.integer({ min: 0, max: MAX_SHIFT }),
      fc.integer({ min: 0, max: 2 ** 22 - 1 }),
      (acc, n, M) => {
        assertEquals(BigInt(requantizeValue(acc, { M, n })), reference(acc, { M, n }));
      },
    ),
    RUNS,
  );
  assertEquals(requantizeValue(-7, { M: 3, n: 0 }), -21);
});

Deno.test("requantize() is within one LSB of exactly rounding acc · m", () => {
  // Accumulators chosen so that acc · m covers the output range [-2^15, 2^15].
  const accAndM = fc.tuple(multiplier, fc.double({ min: -32768, max: 32768, noNaN: true })).map(([m, t]) => {
    const acc = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(t / m)));
    return [acc, m] as const;
  });
  fc.assert(
    fc.property(accAndM, ([acc, m]) => {
      const r = mul(int(acc), exact(m));
      const y = BigInt(requantizeValue(acc, computeMultiplier(m)));
      const d = y - roundHalfEvenR(r);
      assert(d >= -1n && d <= 1n, `acc ${acc}, m ${m}: ${y} vs ${roundHalfEvenR(r)}`);
      // And within 1/2 + |acc| · |M 2^-n - m| of the real value.
      const { M, n } = computeMultiplier(m);
      const err = Math.abs(acc) * Math.abs(M / 2 ** n - m);
      const real = add(r, { num: -y, den: 1n });
      assert(Math.abs(Number(real.num) / Number(real.den)) <= 0.5 + err + 1e-9);
    }),
    RUNS,
  );
});

Deno.test("requantize() clamps to the output range and the fused ReLU / ReLU6 bounds", () => {
  fc.assert(
    fc.property(
      fc.array(int32, { minLength: 1, maxLength: 20 }),
      multiplier,
      fc.constantFrom("qint8" as const, "qint16" as const),
      fc.constantFrom(undefined, "relu" as const, "relu6" as const),
      fc.float({ min: Math.fround(1e-3), max: 1, noNaN: true }),
      (acc, m, dtype, activation, so) => {
        const mult = computeMultiplier(m);
        const y = requantize(Int32Array.from(acc), mult, { dtype, activation, scale: so });
        const qmax = dtype === "qint8" ? 127 : 32767, qmin = -qmax - 1;
        const lo = activation === undefined ? qmin : 0;
        const hi = activation === "relu6"
          ? Math.min(qmax, Number(roundHalfEvenR(div(int(6), exact(Math.fround(so))))))
          : qmax;
        for (let i = 0; i < acc.length; i++) assertEquals(y[i], clampBig(reference(acc[i], mult), lo, hi));
      },
    ),
    RUNS,
  );
});

Deno.test("requantize() applies per-channel multipliers along the axis", () => {
  const acc = Int32Array.of(100, 100, 100, 100, 100, 100);
  const mult = [computeMultiplier(0.5), computeMultiplier(0.25), computeMultiplier(1)];
  const y = requantize(acc, mult, { axis: 1, shape: [2, 3] });
  assertEquals(Array.from(y), [50, 25, 100, 50, 25, 100]);
  assertThrows(() => requantize(acc, mult, { axis: 0, shape: [2, 3] }), RangeError);
  assertThrows(() => requantize(acc, mult), TypeError);
});

Deno.test("relu6Bound() and activationBounds() follow SPEC.md", () => {
  assertEquals(relu6Bound(6 / 127, 127), 127);
  assertEquals(relu6Bound(0.1, 127), 60);
  assertEquals(relu6Bound(0.1, 32767), 60);
  assertEquals(relu6Bound(1 / 4096, 32767), 24576);
  assertEquals(activationBounds({ qmin: -128, qmax: 127 }, {}).lo, -128);
  assertEquals(activationBounds({ qmin: -128, qmax: 127 }, { activation: "relu" }).lo, 0);
  assertThrows(
    () => activationBounds({ qmin: -128, qmax: 127 }, { activation: "relu6" }),
    TypeError,
    "scale",
  );
});

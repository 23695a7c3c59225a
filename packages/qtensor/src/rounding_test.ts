import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { exact, roundHalfEvenR, roundHalfUpR } from "./exact_test_util.ts";
import { bpuRound, roundHalfToEven, roundingFunction } from "./rounding.ts";

/** Doubles of every magnitude, plus values within a few ulps of half-integers (the hard cases). */
const nearTie = fc.tuple(fc.integer({ min: -(2 ** 30), max: 2 ** 30 }), fc.integer({ min: -3, max: 3 })).map(
  ([k, ulps]) => {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, k + 0.5);
    const step = (k + 0.5 > 0) === (ulps > 0) ? 1n : -1n;
    view.setBigInt64(0, view.getBigInt64(0) + step * BigInt(Math.abs(ulps)));
    return view.getFloat64(0);
  },
);
const double = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.double({ min: -4, max: 4, noNaN: true }),
  nearTie,
);

Deno.test("roundHalfToEven() equals exact rational rounding for every double", () => {
  fc.assert(
    fc.property(double, (v) => {
      assertEquals(roundHalfToEven(v) + 0, Number(roundHalfEvenR(exact(v))));
    }),
    { seed: 42, numRuns: 5000 },
  );
});

Deno.test("bpuRound() equals exact floor(v + 1/2) for every double", () => {
  fc.assert(
    fc.property(double, (v) => {
      assertEquals(bpuRound(v) + 0, Number(roundHalfUpR(exact(v))));
    }),
    { seed: 42, numRuns: 5000 },
  );
});

Deno.test("roundHalfToEven() sends exact ties to the even neighbour and bpuRound() up", () => {
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (k) => {
      const v = k + 0.5;
      assertEquals(roundHalfToEven(v), k % 2 === 0 ? k : k + 1);
      assertEquals(bpuRound(v), k + 1);
    }),
    { seed: 42, numRuns: 2000 },
  );
  assertEquals([0.5, 1.5, 2.5, -0.5, -1.5, -2.5].map(roundHalfToEven).map((v) => v + 0), [
    0,
    2,
    2,
    0,
    -2,
    -2,
  ]);
  assertEquals([0.5, 1.5, 2.5, -0.5, -1.5, -2.5].map(bpuRound).map((v) => v + 0), [1, 2, 3, 0, -1, -2]);
});

Deno.test("bpuRound() is exact just below a tie where v + 0.5 would round up", () => {
  assertEquals(bpuRound(0.49999999999999994), 0);
  assertEquals(bpuRound(-0.5000000000000001), -1);
  assertEquals(roundHalfToEven(0.49999999999999994), 0);
});

Deno.test("roundingFunction() picks the mode and rejects unknown names", () => {
  assertEquals(roundingFunction()(2.5), 2);
  assertEquals(roundingFunction("bpu")(2.5), 3);
  let threw = false;
  try {
    roundingFunction("up" as "bpu");
  } catch (e) {
    threw = e instanceof TypeError;
  }
  assertEquals(threw, true);
});

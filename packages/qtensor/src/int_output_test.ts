import { assertEquals, assertThrows } from "@std/assert";
import { finishAccumulator, outputMultipliers } from "./int_output.ts";
import { computeMultiplier } from "./requantize.ts";

Deno.test("outputMultipliers() divides the accumulator scale by divisor · so once", () => {
  const m = outputMultipliers({ numerator: [0.3, 0.6], divisor: 9 }, 0.01);
  assertEquals(m, [
    computeMultiplier(0.3 / (9 * Math.fround(0.01))),
    computeMultiplier(0.6 / (9 * Math.fround(0.01))),
  ]);
  assertThrows(() => outputMultipliers({ numerator: [1], divisor: 1 }, 0), RangeError);
});

Deno.test("finishAccumulator() requantizes, or keeps int32 with per-channel scales and activation clamps", () => {
  const acc = Int32Array.of(-100, 50, 1000, -7);
  const y = finishAccumulator(acc, {
    shape: [2, 2],
    axis: 1,
    accScale: { numerator: [0.5, 0.25], divisor: 1 },
    output: { dtype: "qint8", scale: 1 },
    activation: "relu",
  });
  assertEquals(Array.from(y.data), [0, 13, 127, 0]); // 50 · 0.25 = 12.5 → 13 (ties up), 1000 · 0.5 → 127
  const y32 = finishAccumulator(acc, {
    shape: [2, 2],
    axis: 1,
    accScale: { numerator: [0.5, 0.25], divisor: 2 },
    output: { dtype: "qint32" },
    activation: "relu6",
  });
  // Scales 0.25 and 0.125: ReLU6 bounds 24 and 48.
  assertEquals(Array.from(y32.data), [0, 48, 24, 0]);
  assertEquals(Array.from(y32.scale), [0.25, 0.125]);
  assertEquals(y32.axis, 1);
});

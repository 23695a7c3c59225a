import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { qtensor } from "./dtypes.ts";
import { add, cmp, div, exact, int, mul, roundHalfEvenR, roundHalfUpR } from "./exact_test_util.ts";
import { addAlignment, intAdd } from "./int_add.ts";
import { computeMultiplier, requantize } from "./requantize.ts";

const RUNS = { seed: 42, numRuns: 400 };
const f32 = Math.fround;
const scale = fc.float({ min: f32(2 ** -16), max: 4, noNaN: true });

/** k and t from the SPEC.md rule on exact rationals. */
function referenceAlignment(sx: number, sy: number, kMax: number): { k: number; t: number } {
  const target = mul(int(32767), exact(sx));
  let k = -200;
  while (
    cmp(
      mul(exact(sy), { num: 2n ** BigInt(Math.max(0, k + 1)), den: 2n ** BigInt(Math.max(0, -(k + 1))) }),
      target,
    ) <= 0
  ) k++;
  k = Math.min(kMax, k);
  const ratio = div(mul(exact(sy), { num: 2n ** BigInt(k), den: 1n }), exact(sx));
  const t = Number(roundHalfUpR(ratio));
  return { k, t: Math.max(-32767, Math.min(32767, t)) };
}

Deno.test("addAlignment() computes k and t exactly as SPEC.md defines them", () => {
  fc.assert(
    fc.property(scale, scale, fc.constantFrom("qint8" as const, "qint16" as const), (a, b, dtype) => {
      const [sx, sy] = a >= b ? [a, b] : [b, a];
      assertEquals(addAlignment(sx, sy, { dtype }), referenceAlignment(sx, sy, dtype === "qint8" ? 23 : 15));
    }),
    RUNS,
  );
  assertEquals(addAlignment(1, 1, { dtype: "qint8" }), { k: 14, t: 16384 });
  assertEquals(addAlignment(1, 2 ** -20, { dtype: "qint8" }), { k: 23, t: 8 });
  assertEquals(addAlignment(1, 2 ** -20, { dtype: "qint16" }), { k: 15, t: 0 }); // 2^-5 + 1/2 floors to 0
  assertThrows(() => addAlignment(0.5, 1, { dtype: "qint8" }), RangeError, "sx ≥ sy");
});

const addCase = fc
  .record({
    n: fc.integer({ min: 1, max: 12 }),
    sx: scale,
    sy: scale,
    so: scale,
    dx: fc.constantFrom("qint8" as const, "qint16" as const),
    dy: fc.constantFrom("qint8" as const, "qint16" as const),
    out: fc.constantFrom("qint8" as const, "qint16" as const),
    seed: fc.integer(),
  })
  .map((c) => {
    let s = c.seed >>> 0 || 3;
    const rnd = (lo: number, hi: number) => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return lo + Math.floor((s / 2 ** 32) * (hi - lo + 1));
    };
    const mk = (d: "qint8" | "qint16", sc: number) => {
      const r = d === "qint8" ? 128 : 32768;
      const data = d === "qint8" ? new Int8Array(c.n) : new Int16Array(c.n);
      for (let i = 0; i < c.n; i++) data[i] = rnd(-r, r - 1);
      return qtensor(data, { shape: [c.n], scale: sc });
    };
    return { x: mk(c.dx, c.sx), y: mk(c.dy, c.sy), so: c.so, out: c.out };
  });

Deno.test("intAdd() requantizes x · 2^k + y · t with scale sx / 2^k, whichever operand comes first", () => {
  fc.assert(
    fc.property(addCase, ({ x, y, so, out }) => {
      const z = intAdd(x, y, { output: { dtype: out, scale: so } });
      assertEquals(Array.from(intAdd(y, x, { output: { dtype: out, scale: so } }).data), Array.from(z.data));
      const [a, b] = x.scale[0] >= y.scale[0] ? [x, y] : [y, x];
      const { k, t } = addAlignment(a.scale[0], b.scale[0], { dtype: a.dtype as "qint8" | "qint16" });
      const sum = Int32Array.from(a.data, (v, i) => v * 2 ** k + b.data[i] * t);
      const ref = requantize(sum, computeMultiplier(a.scale[0] / (2 ** k * f32(so))), { dtype: out });
      assertEquals(Array.from(z.data), Array.from(ref));
      assertEquals([z.dtype, z.scale[0]], [out, f32(so)]);
    }),
    RUNS,
  );
});

Deno.test("intAdd() is within one LSB of the exactly rounded real sum when the scales are comparable", () => {
  fc.assert(
    fc.property(addCase, ({ x, y, so }) => {
      const sx = x.scale[0], sy = y.scale[0], sof = f32(so);
      if (Math.max(sx, sy) / sof > 16 || Math.max(sx, sy) / Math.min(sx, sy) > 2 ** 10) return;
      const z = intAdd(x, y, { output: { dtype: "qint8", scale: so } });
      for (let i = 0; i < x.data.length; i++) {
        const real = div(add(mul(int(x.data[i]), exact(sx)), mul(int(y.data[i]), exact(sy))), exact(sof));
        const r = roundHalfEvenR(real);
        const clamped = r < -128n ? -128n : r > 127n ? 127n : r;
        const d = BigInt(z.data[i]) - clamped;
        assert(
          d >= -1n && d <= 1n,
          `${x.data[i]}·${sx} + ${y.data[i]}·${sy} over ${sof}: ${z.data[i]} vs ${clamped}`,
        );
      }
    }),
    RUNS,
  );
});

Deno.test("intAdd() applies a fused ReLU and rejects mismatched operands", () => {
  const x = qtensor(Int8Array.of(-10, 10), { shape: [2], scale: 0.5 });
  const y = qtensor(Int8Array.of(2, 2), { shape: [2], scale: 0.5 });
  assertEquals(
    Array.from(intAdd(x, y, { output: { dtype: "qint8", scale: 0.5 }, activation: "relu" }).data),
    [0, 12],
  );
  const y3 = qtensor(Int8Array.of(1, 2, 3), { shape: [3], scale: 0.5 });
  assertThrows(() => intAdd(x, y3, { output: { dtype: "qint8", scale: 0.5 } }), RangeError, "differ");
  const w = qtensor(Int8Array.of(1, 2), { shape: [2, 1], scale: [1, 2], axis: 0 });
  assertThrows(() => intAdd(x, w, { output: { dtype: "qint8", scale: 0.5 } }), RangeError);
});

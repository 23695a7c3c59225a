import { assert } from "@std/assert";
import fc from "fast-check";
import { binaryKernel, whereKernel } from "./elementwise.ts";
import { sumKernel } from "./reduce.ts";

/**
 * The float32 loops against the generic ones: the generic kernels take float64 copies of the same values
 * (which keeps them off the float32 loops) and round into a float32 output, so every bit must agree.
 */

const F32_SPECIALS = [
  0,
  -0,
  1,
  -1,
  0.5,
  3.4028234663852886e38,
  -3.4028234663852886e38,
  1e-45,
  -1e-45,
  1.1754943508222875e-38,
];

const value = fc.oneof(
  fc.float({ noNaN: false }),
  fc.constantFrom(...F32_SPECIALS, Infinity, -Infinity, NaN),
);

/** A shape and a second shape broadcastable against it (dimensions dropped or set to 1). */
const shapes = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((s) =>
  fc.tuple(
    fc.constant(s),
    fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
    fc.integer({ min: 0, max: s.length }),
    fc.boolean(),
  ).map(([a, ones, drop, swap]) => {
    const b = a.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
    return swap ? [b, a] : [a, b];
  })
);

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
const outShapeOf = (a: number[], b: number[]) => {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const x = a[i - (r - a.length)] ?? 1, y = b[i - (r - b.length)] ?? 1;
    return Math.max(x, y);
  });
};

function sameBits(x: ArrayLike<number>, y: ArrayLike<number>): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  return true;
}

Deno.test("float32 add, sub, mul and div give the generic kernel's bits under any broadcast", () => {
  fc.assert(
    fc.property(
      shapes,
      fc.constantFrom("add", "sub", "mul", "div"),
      fc.infiniteStream(value),
      ([sa, sb], op, vals) => {
        const a = Float32Array.from({ length: size(sa) }, () => vals.next().value);
        const b = Float32Array.from({ length: size(sb) }, () => vals.next().value);
        const out = outShapeOf(sa, sb);
        const fast = binaryKernel(op, a, sa, b, sb, out, "float32");
        const slow = binaryKernel(
          op,
          Float64Array.from(a) as never,
          sa,
          Float64Array.from(b) as never,
          sb,
          out,
          "float32",
        );
        assert(fast instanceof Float32Array && sameBits(fast, slow), `${op} [${sa}] [${sb}]`);
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("float32 where gives the generic kernel's values under any broadcast", () => {
  fc.assert(
    fc.property(shapes, fc.infiniteStream(value), fc.infiniteStream(fc.boolean()), ([sa, sb], vals, bits) => {
      const out = outShapeOf(sa, sb);
      const c = Uint8Array.from({ length: size(out) }, () => (bits.next().value ? 1 : 0));
      const a = Float32Array.from({ length: size(sa) }, () => vals.next().value);
      const b = Float32Array.from({ length: size(sb) }, () => vals.next().value);
      const fast = whereKernel(c, out, a, sa, b, sb, out, "float32");
      const slow = whereKernel(
        c,
        out,
        Float64Array.from(a) as never,
        sa,
        Float64Array.from(b) as never,
        sb,
        out,
        "float32",
      );
      assert(sameBits(fast, slow), `[${sa}] [${sb}]`);
    }),
    { numRuns: 300 },
  );
});

Deno.test("float32 sums over any axes give the generic kernel's bits", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      fc.infiniteStream(fc.boolean()),
      fc.infiniteStream(value),
      (shape, pick, vals) => {
        const axes = shape.map((_, i) => i).filter(() => pick.next().value);
        const x = Float32Array.from({ length: size(shape) }, () => vals.next().value);
        const fast = sumKernel(x, shape, axes, "float32");
        const slow = sumKernel(Float64Array.from(x) as never, shape, axes, "float32");
        assert(sameBits(fast, slow), `[${shape}] over [${axes}]`);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("float32 per-channel sums of NCHW data match the generic kernel's", () => {
  const x = Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => Math.fround(Math.sin(i) * 1e3));
  const fast = sumKernel(x, [2, 3, 5], [0, 2], "float32");
  const slow = sumKernel(Float64Array.from(x) as never, [2, 3, 5], [0, 2], "float32");
  assert(sameBits(fast, slow) && fast.length === 3);
});

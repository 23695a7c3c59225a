import { assertEquals, assertLess, assertThrows } from "@std/assert";
import fc from "fast-check";
import { checkGradients, convTranspose2d, randomKey, randomNormal, type Tensor } from "../mod.ts";

/** The transposed convolution by its definition: every input cell scatters its kernel into the output. */
function reference(
  x: Tensor,
  w: Tensor,
  o: { stride: number; padding: number; outputPadding: number; dilation: number; groups: number },
): { shape: number[]; data: Float64Array } {
  const [n, cin, h, wd] = x.shape, [, coutg, kh, kw] = w.shape;
  const cout = coutg * o.groups, cing = cin / o.groups;
  const size = (i: number, k: number) =>
    (i - 1) * o.stride - 2 * o.padding + o.dilation * (k - 1) + o.outputPadding + 1;
  const [ho, wo] = [size(h, kh), size(wd, kw)];
  const y = new Float64Array(n * cout * ho * wo);
  for (let b = 0; b < n; b++) {
    for (let ci = 0; ci < cin; ci++) {
      const g = Math.floor(ci / cing);
      for (let co = 0; co < coutg; co++) {
        const oc = g * coutg + co;
        for (let iy = 0; iy < h; iy++) {
          for (let ix = 0; ix < wd; ix++) {
            const v = x.data[((b * cin + ci) * h + iy) * wd + ix];
            for (let ky = 0; ky < kh; ky++) {
              const oy = iy * o.stride + ky * o.dilation - o.padding;
              if (oy < 0 || oy >= ho) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = ix * o.stride + kx * o.dilation - o.padding;
                if (ox < 0 || ox >= wo) continue;
                y[((b * cout + oc) * ho + oy) * wo + ox] += v *
                  w.data[((ci * coutg + co) * kh + ky) * kw + kx];
              }
            }
          }
        }
      }
    }
  }
  return { shape: [n, cout, ho, wo], data: y };
}

const geometry = fc.record({
  groups: fc.constantFrom(1, 2),
  cinPerGroup: fc.integer({ min: 1, max: 2 }),
  coutPerGroup: fc.integer({ min: 1, max: 3 }),
  k: fc.integer({ min: 1, max: 3 }),
  stride: fc.integer({ min: 1, max: 3 }),
  padding: fc.integer({ min: 0, max: 2 }),
  dilation: fc.integer({ min: 1, max: 2 }),
  outputPadding: fc.integer({ min: 0, max: 2 }),
  seed: fc.integer({ min: 0, max: 1 << 20 }),
}).filter((g) =>
  g.outputPadding < Math.max(g.stride, g.dilation) &&
  (4 - 1) * g.stride - 2 * g.padding + g.dilation * (g.k - 1) + g.outputPadding + 1 >= 1
);

interface Geometry {
  groups: number;
  cinPerGroup: number;
  coutPerGroup: number;
  k: number;
  stride: number;
  padding: number;
  dilation: number;
  outputPadding: number;
  seed: number;
}

function setup(g: Geometry) {
  const x = randomNormal(randomKey(g.seed), [2, g.groups * g.cinPerGroup, 4, 3]);
  const w = randomNormal(randomKey(g.seed + 1), [g.groups * g.cinPerGroup, g.coutPerGroup, g.k, g.k + 1]);
  const { stride, padding, outputPadding, dilation, groups } = g;
  return { x, w, opts: { stride, padding, outputPadding, dilation, groups } };
}

Deno.test("convTranspose2d() scatters every input cell's kernel like the definition, over all geometry", () => {
  fc.assert(
    fc.property(geometry, (g) => {
      const { x, w, opts } = setup(g);
      const y = convTranspose2d(x, w, opts);
      const ref = reference(x, w, opts);
      assertEquals([...y.shape], ref.shape);
      ref.data.forEach((v, i) => assertLess(Math.abs(y.data[i] - v), 1e-4 * (1 + Math.abs(v)), `[${i}]`));
    }),
    { seed: 42, numRuns: 80 },
  );
});

Deno.test("convTranspose2d() gradients in x and w match finite differences", () => {
  fc.assert(
    fc.property(geometry, (g) => {
      const { x, w, opts } = setup(g);
      const r = checkGradients(([a, b]) => convTranspose2d(a, b, opts), [x, w], { seed: g.seed });
      assertLess(r.error, 1e-2, `analytic ${r.analytic} vs numeric ${r.numeric}`);
    }),
    { seed: 42, numRuns: 30 },
  );
});

Deno.test("convTranspose2d() rejects bad geometry with errors that name it and the problem", () => {
  const x = randomNormal(randomKey(0), [1, 4, 3, 3]);
  const w = randomNormal(randomKey(1), [4, 2, 3, 3]);
  assertThrows(
    () => convTranspose2d(x, randomNormal(randomKey(2), [3, 2, 3, 3])),
    RangeError,
    "expects 3 input",
  );
  assertThrows(
    () => convTranspose2d(x, w, { groups: 3 }),
    RangeError,
    "groups 3 must be a positive divisor of 4",
  );
  assertThrows(() => convTranspose2d(x, w, { stride: 2, outputPadding: 2 }), RangeError, "outputPadding 2");
  assertThrows(() => convTranspose2d(x, w, { padding: 4 }), RangeError, "leaves an empty output");
  assertThrows(() => convTranspose2d(x, w, { stride: 0 }), RangeError, "stride must be integers >= 1");
  assertThrows(() => convTranspose2d(randomNormal(randomKey(3), [4, 3, 3]), w), RangeError, "4-D input");
});

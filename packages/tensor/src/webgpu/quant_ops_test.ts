import fc from "fast-check";
import { roundedQuotientEven } from "@hqat/qtensor";
import { fromArray, type Tensor } from "../tensor.ts";
import { assertClose, assertExact, GPU_FC, GPU_TEST, rng, runBoth } from "./gpu_test_util.ts";

/** Values around the quantization grid of `scale`: exact ties, near ties, and far outside the range. */
function gridValues(shape: number[], scale: Float32Array, inner: number, seed: number): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = scale[Math.floor(i / inner) % scale.length];
    const k = Math.floor(r() * 400) - 200;
    const kind = Math.floor(r() * 3);
    out[i] = kind === 0 ? (k + 0.5) * s : kind === 1 ? (k + 0.5 + (r() - 0.5) * 1e-5) * s : k * s * r() * 1.5;
  }
  return fromArray(out, shape);
}

const scales = (c: number, seed: number) => {
  const r = rng(seed);
  return Float32Array.from({ length: c }, () => 2 ** (-10 + 8 * r()) * (1 + r()));
};

const qrange = fc.constantFrom([-128, 127], [-32768, 32767], [-8, 7]);

Deno.test({
  name: "fakeQuantizeGpu() equals the CPU bit for bit, per tensor and per channel, ties included",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
        qrange,
        fc.nat(),
        async (
          shape,
          [qmin, qmax],
          seed,
        ) => {
          const axis = seed % 2 === 0 ? -1 : seed % shape.length;
          const c = axis < 0 ? 1 : shape[axis];
          const inner = axis < 0 ? 1e9 : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
          const s = scales(c, seed);
          const x = gridValues(shape, s, inner, seed);
          const r = await runBoth("fakeQuantize", [x, fromArray(s, [c])], { qmin, qmax, axis });
          assertExact(r.gpu[0], r.cpu[0], "fakeQuantize");
        },
      ),
      { ...GPU_FC, numRuns: 6 },
    );
  },
});

/** Σ |dy · term| · g per channel: the magnitude of the LSQ scale gradient's sum. */
function lsqMagnitude(
  dy: Tensor,
  x: Tensor,
  s: Float32Array,
  inner: number,
  qmin: number,
  qmax: number,
): Float64Array {
  const out = new Float64Array(s.length);
  for (let i = 0; i < x.size; i++) {
    const c = Math.floor(i / inner) % s.length;
    const r = roundedQuotientEven(x.data[i], s[c]);
    const term = r < qmin ? qmin : r > qmax ? qmax : r - Math.fround(x.data[i]) / s[c];
    out[c] += Math.abs(dy.data[i] * term);
  }
  const g = 1 / Math.sqrt(x.size * qmax);
  return out.map((v) => v * g);
}

Deno.test({
  name:
    "fakeQuantizeBackwardGpu() gives the CPU's straight-through dx bit for bit and its LSQ scale gradient",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 3 }),
        qrange,
        fc.nat(),
        async (
          shape,
          [qmin, qmax],
          seed,
        ) => {
          const axis = seed % 2 === 0 ? -1 : 1;
          const c = axis < 0 ? 1 : shape[1];
          const inner = axis < 0 ? 1e9 : shape.slice(2).reduce((a, b) => a * b, 1);
          const s = scales(c, seed);
          const x = gridValues(shape, s, inner, seed);
          const dy = fromArray(Float32Array.from({ length: x.size }, rng(seed + 1)), shape);
          for (const scaleGrad of [false, true]) {
            const attrs = { qmin, qmax, axis, scaleGrad };
            const r = await runBoth("fakeQuantizeBackward", [dy, x, fromArray(s, [c])], attrs);
            assertExact(r.gpu[0], r.cpu[0], "dx");
            if (!scaleGrad) assertExact(r.gpu[1], r.cpu[1], "dscale (zero)");
            else {assertClose(
                r.gpu[1],
                r.cpu[1],
                { magnitude: lsqMagnitude(dy, x, s, inner, qmin, qmax) },
                "dscale",
              );}
          }
        },
      ),
      GPU_FC,
    );
  },
});

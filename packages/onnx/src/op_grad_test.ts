/**
 * Every operator that computes, imported as a one-node model: gradients with respect to the input and to
 * every parameter agree with central finite differences (fast-check over the operator's attributes,
 * fixed seed), and WebGPU computes the same output and gradients as the CPU within 1e-4.
 * @module
 */
import { assert } from "@std/assert";
import fc from "fast-check";
import { forward, splitState, type StateDict } from "@hqat/nn";
import {
  checkGradients,
  fromArray,
  mul,
  probeWebGpu,
  randomKey,
  randomNormal,
  stateToDevice,
  sum,
  type Tensor,
  toDevice,
  valueAndGrad,
  WebGpuDevice,
} from "@hqat/tensor";
import { loadOnnx } from "./load.ts";
import type { OnnxModel } from "./onnx_model.ts";
import { OP_CASES, type OpCase } from "./op_cases.ts";
import { relativeDifference } from "./fixture_util.ts";

const SEED = 7;
const GPU = (await probeWebGpu()).available;

/** The model, its parameters (names and values) and the function of [x, ...params] to differentiate. */
function setup(c: OpCase) {
  const model: OnnxModel = loadOnnx(c.bytes, { source: c.label });
  const state = model.initialState();
  const names = Object.keys(splitState(model, state).params);
  const f = (xs: Tensor[], base: StateDict = state) => {
    const s: StateDict = { ...base };
    names.forEach((k, i) => (s[k] = xs[i + 1]));
    return forward(model, s, xs[0], { training: c.training, key: randomKey(3) }).y;
  };
  return { model, state, names, f };
}

/** A random input for a case: clear of its kinks by 0.05, or with distinct values 0.1 apart. */
function input(c: OpCase, seed: number): Tensor {
  const x = randomNormal(randomKey(seed), [...c.shape]);
  const v = Float32Array.from(x.data);
  if (c.distinct) {
    const order = [...v.keys()].sort((a, b) => v[a] - v[b]);
    order.forEach((i, rank) => (v[i] = (rank - order.length / 2) * 0.1));
  }
  for (const k of c.kinks ?? []) {
    for (let i = 0; i < v.length; i++) if (Math.abs(v[i] - k) < 0.05) v[i] = k + (v[i] < k ? -0.05 : 0.05);
  }
  return fromArray(v, [...c.shape]);
}

for (const [op, arb] of Object.entries(OP_CASES)) {
  Deno.test(`loadOnnx() ${op}: gradients agree with finite differences`, () => {
    fc.assert(
      fc.property(arb, fc.nat(1000), (c, k) => {
        const { state, names, f } = setup(c);
        const x = input(c, k);
        const xs = [x, ...names.map((n) => state[n])];
        const { error, analytic, numeric } = checkGradients((v) => f(v), xs, { eps: 1e-3, seed: k });
        assert(error < 2e-2, `${c.label}: analytic ${analytic}, numeric ${numeric} (error ${error})`);
      }),
      { seed: SEED, numRuns: 8 },
    );
  });
}

/** Output and the gradients of Σ y · r with respect to the input and the parameters. */
function valueAndGrads(
  setupOut: ReturnType<typeof setup>,
  xs: Tensor[],
  base: StateDict,
  r: Tensor,
) {
  const g = valueAndGrad((v: Tensor[]) => sum(mul(setupOut.f(v, base), r)));
  const { grad } = g(xs);
  return { y: setupOut.f(xs, base), grad };
}

Deno.test({
  name: "loadOnnx() operators on WebGPU: the same outputs and gradients as on the CPU",
  ignore: !GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dev = await WebGpuDevice.create();
    try {
      for (const [op, arb] of Object.entries(OP_CASES)) {
        for (const [i, c] of fc.sample(arb, { seed: SEED, numRuns: 3 }).entries()) {
          const s = setup(c);
          const x = input(c, i);
          const xs = [x, ...s.names.map((n) => s.state[n])];
          const r = randomNormal(randomKey(100 + i), [...s.f(xs).shape]);
          const cpu = valueAndGrads(s, xs, s.state, r);
          const gs = stateToDevice(s.state, dev);
          const gxs = [toDevice(x, dev), ...s.names.map((n) => gs[n])];
          const gpu = valueAndGrads(s, gxs, gs, toDevice(r, dev));
          const pairs: [string, Tensor, Tensor][] = [["output", cpu.y, gpu.y]];
          cpu.grad.forEach((g, k) => pairs.push([k ? `d ${s.names[k - 1]}` : "d input", g, gpu.grad[k]]));
          for (const [what, a, b] of pairs) {
            const d = relativeDifference(await b.read(), a.data);
            assert(d <= 1e-4, `${op} ${c.label}: ${what} differs by ${d.toExponential(2)} on WebGPU`);
          }
        }
      }
    } finally {
      dev.destroy();
    }
  },
});

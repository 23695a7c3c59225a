import { fromArray, type Tensor } from "@hqat/tensor";
import type { Optimizer, OptimizerState, Params } from "../packages/nn/src/optim.ts";
import { adam, adamw } from "../packages/nn/src/optim_adam.ts";
import { sgd } from "../packages/nn/src/optim_sgd.ts";

// About MobileNetV2's 2.2 M parameters, in tensors of typical sizes.
const SIZES = [
  864,
  32,
  288,
  512,
  16,
  1536,
  96,
  864,
  2304,
  24,
  3456,
  144,
  1296,
  3456,
  24,
  36864,
  147456,
  368640,
  1280,
];
const params: Record<string, Tensor> = {};
const grads: Record<string, Tensor> = {};
let total = 0;
for (let k = 0; total < 2_200_000; k++) {
  const n = SIZES[k % SIZES.length];
  const p = new Float32Array(n), g = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    p[i] = Math.sin(i + k);
    g[i] = Math.cos(3 * i + k) * 1e-2;
  }
  params[`layer${k}.weight`] = fromArray(p, [n]);
  grads[`layer${k}.weight`] = fromArray(g, [n]);
  total += n;
}

/** Times steps that replace the state; with `donate` each step may write into the arrays of the last. */
function bench(name: string, opt: Optimizer, donate = false): void {
  let state: OptimizerState = opt.init(params);
  let p: Params = params;
  // The first step makes the bench's own arrays (the shared `params` are never donated).
  ({ params: p, state } = opt.step(p, grads, state));
  const how = donate ? ", donating the last state" : "";
  Deno.bench(`${name} step over ${(total / 1e6).toFixed(2)} M parameters${how}`, () => {
    ({ params: p, state } = opt.step(p, grads, state, { donate }));
  });
}

bench("sgd() momentum + weight decay", sgd({ lr: 0.05, momentum: 0.9, weightDecay: 4e-5 }));
bench("sgd() nesterov", sgd({ lr: 0.05, momentum: 0.9, nesterov: true }));
bench("sgd() nesterov", sgd({ lr: 0.05, momentum: 0.9, nesterov: true }), true);
bench("adam()", adam({ lr: 1e-3 }));
bench("adam()", adam({ lr: 1e-3 }), true);
bench("adamw() amsgrad", adamw({ lr: 1e-3, amsgrad: true }));
bench("adamw() amsgrad", adamw({ lr: 1e-3, amsgrad: true }), true);

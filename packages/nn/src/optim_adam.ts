/**
 * Adam (L2 weight decay added to the gradient, as `torch.optim.Adam`) and AdamW (decoupled weight decay,
 * as `torch.optim.AdamW`), both with the AMSGrad variant.
 * @module
 */
import type { Optimizer, OptimizerState, Params, StepOptions, StepResult } from "./optim.ts";
import { type AdamConstants, adamUpdate, add, div, maximum, mul, sqrt } from "@hqat/tensor";
import { checkHyperparameter, runUpdate, zeroSlots } from "./optim_update.ts";

/** Options of {@linkcode adam} (PyTorch's names in camelCase). */
export interface AdamOptions {
  /** The learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Weight decay (default 0 for Adam, 1e-2 for AdamW). */
  weightDecay?: number;
  /** Use the maximum of past second moments (AMSGrad; default false). */
  amsgrad?: boolean;
}

/** Options of {@linkcode adamw}: those of Adam, with decoupled weight decay (default 1e-2). */
export type AdamWOptions = AdamOptions;

const fround = Math.fround;

function adamFamily(who: string, decoupled: boolean, options: AdamOptions): Optimizer {
  const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, amsgrad = false } = options;
  const weightDecay = options.weightDecay ?? (decoupled ? 1e-2 : 0);
  checkHyperparameter(who, "lr", lr, { min: 0 });
  checkHyperparameter(who, "betas[0]", betas[0], { min: 0, max: 1, openMax: true });
  checkHyperparameter(who, "betas[1]", betas[1], { min: 0, max: 1, openMax: true });
  checkHyperparameter(who, "eps", eps, { min: 0 });
  checkHyperparameter(who, "weightDecay", weightDecay, { min: 0 });
  const slots = amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"];
  const [beta1, beta2] = betas;
  const b1 = fround(beta1), b2 = fround(beta2), c1 = fround(1 - beta1), c2 = fround(1 - beta2);
  const l2 = decoupled ? 0 : fround(weightDecay);
  const feps = fround(eps);
  return {
    name: decoupled ? "AdamW" : "Adam",
    lr,
    slots,
    init: (params: Params): OptimizerState => zeroSlots(who, slots, params),
    step<P extends Params>(
      params: P,
      grads: Params,
      state: OptimizerState,
      step: StepOptions = {},
    ): StepResult<P> {
      const stepLr = step.lr ?? lr;
      checkHyperparameter(who, "lr", stepLr, { min: 0 });
      const t = state.step + 1;
      // Python-float scalars of PyTorch's step, cast to float32 where they meet a tensor.
      const decay = decoupled ? fround(1 - stepLr * weightDecay) : 1;
      const negStepSize = fround(-(stepLr / (1 - beta1 ** t)));
      const bc2Sqrt = fround(Math.sqrt(1 - beta2 ** t));
      const constants: AdamConstants = {
        decay,
        l2,
        beta1: b1,
        oneMinusBeta1: c1,
        beta2: b2,
        oneMinusBeta2: c2,
        bias2Sqrt: bc2Sqrt,
        eps: feps,
        negStepSize,
        amsgrad,
      };
      return runUpdate(
        who,
        slots,
        { params, grads, state, donate: step.donate },
        (inputs) =>
          adamUpdate(
            inputs.map(({ p, g, slots: [m, v, vMax], inPlace }) => ({
              param: p,
              grad: g,
              expAvg: m,
              expAvgSq: v,
              maxExpAvgSq: vMax,
              inPlace,
            })),
            constants,
          ).map((r) => ({
            p: r.param,
            slots: amsgrad ? [r.expAvg, r.expAvgSq, r.maxExpAvgSq!] : [r.expAvg, r.expAvgSq],
          })),
        (p, g, [m, v, vMax]) => {
          const pi = decoupled ? mul(p, decay) : p;
          const gi = l2 !== 0 ? add(g, mul(pi, l2)) : g;
          const mi = add(mul(m, b1), mul(gi, c1));
          const vi = add(mul(v, b2), mul(mul(gi, c2), gi));
          const second = amsgrad ? maximum(vMax, vi) : vi;
          const denom = add(div(sqrt(second), bc2Sqrt), feps);
          const pNew = add(pi, div(mul(mi, negStepSize), denom));
          return [pNew, amsgrad ? [mi, vi, second] : [mi, vi]];
        },
      );
    },
  };
}

/**
 * Adam as in `torch.optim.Adam`: with `t` the step number, `g = grad + wd·p`, `m = β1·m + (1 − β1)·g`,
 * `v = β2·v + (1 − β2)·g²` (with AMSGrad `v̂ = max(v̂, v)` replaces `v` below), then
 * `p = p − lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + eps)`. Each operation rounds to float32 where
 * PyTorch's float32 kernels do. The state keeps `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adam } from "@hqat/nn";
 * import { tensor } from "@hqat/tensor";
 * const opt = adam({ lr: 0.1 });
 * const params = { w: tensor([1, -1]) };
 * const { params: next, state } = opt.step(params, { w: tensor([3, -0.5]) }, opt.init(params));
 * // The first Adam step moves each weight by about lr against the sign of its gradient.
 * assert(Math.abs(next.w.data[0] - 0.9) < 1e-6 && Math.abs(next.w.data[1] + 0.9) < 1e-6);
 * assert(state.step === 1 && Object.keys(state.slots).join() === "exp_avg,exp_avg_sq");
 * ```
 */
export function adam(options: AdamOptions = {}): Optimizer {
  return adamFamily("adam()", false, options);
}

/**
 * AdamW as in `torch.optim.AdamW`: first `p = p·(1 − lr·wd)` (decoupled weight decay), then the Adam
 * update of {@linkcode adam} without the L2 term. Weight decay defaults to 1e-2.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adamw } from "@hqat/nn";
 * import { tensor } from "@hqat/tensor";
 * const opt = adamw({ lr: 0.1, weightDecay: 0.5 });
 * const params = { w: tensor([2]) };
 * const { params: next } = opt.step(params, { w: tensor([0]) }, opt.init(params));
 * // A zero gradient leaves only the decay: 2 · (1 − 0.1 · 0.5).
 * assert(Math.abs(next.w.data[0] - 1.9) < 1e-6);
 * ```
 */
export function adamw(options: AdamWOptions = {}): Optimizer {
  return adamFamily("adamw()", true, options);
}

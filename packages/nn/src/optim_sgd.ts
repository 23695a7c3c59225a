/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay, with the
 * semantics of PyTorch's `torch.optim.SGD`.
 * @module
 */
import type { Optimizer, OptimizerState, Params, StepOptions, StepResult } from "./optim.ts";
import { add, mul, sgdUpdate, type Tensor } from "@hqat/tensor";
import { checkHyperparameter, runUpdate, zeroSlots } from "./optim_update.ts";

/** Options of {@linkcode sgd} (PyTorch's names in camelCase). */
export interface SgdOptions {
  /** The learning rate. */
  lr: number;
  /** The momentum factor (default 0: no momentum buffer). */
  momentum?: number;
  /** Dampening of the gradient added to the momentum buffer (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** L2 penalty added to the gradient: `g + weightDecay · p` (default 0). */
  weightDecay?: number;
}

const fround = Math.fround;

/**
 * SGD as in `torch.optim.SGD`: `d = g + wd·p`; with momentum, `buf = d` on the first step and
 * `buf = momentum·buf + (1 − dampening)·d` after, then `d = d + momentum·buf` (Nesterov) or `d = buf`;
 * finally `p = p − lr·d`. Each operation rounds to float32 where PyTorch's float32 kernels do. The state
 * keeps `momentum_buffer` only when momentum is non-zero.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sgd } from "@hqat/nn";
 * import { tensor } from "@hqat/tensor";
 * const opt = sgd({ lr: 0.5, momentum: 0.9 });
 * const params = { w: tensor([1, 2]) };
 * const first = opt.step(params, { w: tensor([1, 1]) }, opt.init(params));
 * assert(first.params.w.toArray().join() === "0.5,1.5");
 * const second = opt.step(first.params, { w: tensor([1, 1]) }, first.state);
 * assert(Math.abs(second.params.w.data[0] - (0.5 - 0.5 * 1.9)) < 1e-6);
 * ```
 */
export function sgd(options: SgdOptions): Optimizer {
  const who = "sgd()";
  const { lr, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = options;
  checkHyperparameter(who, "lr", lr, { min: 0 });
  checkHyperparameter(who, "momentum", momentum, { min: 0 });
  checkHyperparameter(who, "dampening", dampening, { min: -Infinity });
  checkHyperparameter(who, "weightDecay", weightDecay, { min: 0 });
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new RangeError(`${who}: Nesterov momentum needs momentum > 0 and dampening 0`);
  }
  const slots = momentum !== 0 ? ["momentum_buffer"] : [];
  const wd = fround(weightDecay), mom = fround(momentum), keep = fround(1 - dampening);
  return {
    name: "SGD",
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
      const negLr = fround(-stepLr);
      const first = state.step === 0;
      const constants = { negLr, weightDecay: wd, momentum: mom, keep, nesterov, first };
      return runUpdate(who, slots, { params, grads, state, donate: step.donate }, (inputs) => {
        const results = sgdUpdate(
          inputs.map(({ p, g, slots: [buf], inPlace }) => ({
            param: p,
            grad: g,
            momentumBuffer: buf,
            inPlace,
          })),
          constants,
        );
        // A momentum that rounds to float32 0 still keeps a (zero) buffer.
        return results.map((r, i) => ({
          p: r.param,
          slots: slots.length === 0 ? [] : [r.momentumBuffer ?? new Float32Array(inputs[i].p.length)],
        }));
      }, (p, g, [buf]) => {
        let d = wd !== 0 ? add(g, mul(p, wd)) : g;
        let bNew: Tensor[] = [];
        if (mom !== 0) {
          const b = first ? d : add(mul(buf, mom), mul(d, keep));
          bNew = [b];
          d = nesterov ? add(d, mul(b, mom)) : b;
        }
        return [add(p, mul(d, negLr)), bNew];
      });
    },
  };
}

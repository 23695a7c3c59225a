/**
 * The optimizer updates of `adamUpdate` and `sgdUpdate` as plain-TypeScript loops: the reference the
 * WebAssembly kernels (`packages/tensor/wasm/optim.c`) must match bit for bit, and the path where those
 * cannot run. Each step rounds to float32 where PyTorch's float32 kernels do; a step written `a + b * c`
 * without a `fround` around the product is rounded once, from float64 (the product of two float32 values is
 * exact there). Arrays marked `inPlace` receive their new values once every tensor has been computed.
 * @module
 */
import { forgetKept } from "./kept.ts";
import type {
  AdamConstants,
  AdamResult,
  AdamTensors,
  SgdConstants,
  SgdResult,
  SgdTensors,
} from "../optim_update.ts";

const fround = Math.fround;

/**
 * `adamUpdate` in plain TypeScript (the arrays are assumed checked).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adamUpdateReference } from "./optim_reference.ts";
 * const c = {
 *   decay: 1, l2: 0, beta1: 0.9, oneMinusBeta1: 0.1, beta2: 0.999, oneMinusBeta2: 0.001,
 *   bias2Sqrt: Math.sqrt(0.001), eps: 1e-8, negStepSize: -10, amsgrad: false,
 * };
 * const zero = new Float32Array(1);
 * const [r] = adamUpdateReference([{ param: Float32Array.of(1), grad: Float32Array.of(2), expAvg: zero, expAvgSq: zero }], c);
 * // lr 1 (negStepSize = −lr / (1 − β1)): the first step moves the weight by lr against its gradient.
 * assert(Math.abs(r.param[0]) < 1e-6);
 * ```
 */
export function adamUpdateReference(tensors: readonly AdamTensors[], c: AdamConstants): AdamResult[] {
  const decay = fround(c.decay), l2 = fround(c.l2), feps = fround(c.eps);
  const b1 = fround(c.beta1),
    c1 = fround(c.oneMinusBeta1),
    b2 = fround(c.beta2),
    c2 = fround(c.oneMinusBeta2);
  const bc2Sqrt = fround(c.bias2Sqrt), negStepSize = fround(c.negStepSize), amsgrad = c.amsgrad;
  const results = tensors.map(({ param: p, grad: g, expAvg: m, expAvgSq: v, maxExpAvgSq }) => {
    const n = p.length;
    const pOut = new Float32Array(n), mOut = new Float32Array(n), vOut = new Float32Array(n);
    const vMax = amsgrad ? maxExpAvgSq! : v, vMaxOut = amsgrad ? new Float32Array(n) : vOut;
    for (let i = 0; i < n; i++) {
      const pi = decay !== 1 ? fround(p[i] * decay) : p[i];
      const gi = l2 !== 0 ? fround(g[i] + l2 * pi) : g[i];
      const mi = fround(fround(m[i] * b1) + c1 * gi);
      const vi = fround(fround(v[i] * b2) + fround(c2 * gi) * gi);
      mOut[i] = mi;
      vOut[i] = vi;
      let second = vi;
      if (amsgrad) {
        second = Math.max(vMax[i], vi);
        vMaxOut[i] = second;
      }
      const denom = fround(fround(fround(Math.sqrt(second)) / bc2Sqrt) + feps);
      pOut[i] = pi + fround(fround(negStepSize * mi) / denom);
    }
    const r: AdamResult = { param: pOut, expAvg: mOut, expAvgSq: vOut };
    if (amsgrad) r.maxExpAvgSq = vMaxOut;
    return r;
  });
  return results.map((r, i) => {
    const t = tensors[i];
    if (!t.inPlace) return r;
    const out: AdamResult = {
      param: into(t.param, r.param),
      expAvg: into(t.expAvg, r.expAvg),
      expAvgSq: into(t.expAvgSq, r.expAvgSq),
    };
    if (amsgrad) out.maxExpAvgSq = into(t.maxExpAvgSq!, r.maxExpAvgSq!);
    return out;
  });
}

/** Copies `values` into `target` and returns `target`. */
function into(target: Float32Array, values: Float32Array): Float32Array {
  forgetKept(target);
  target.set(values);
  return target;
}

/**
 * `sgdUpdate` in plain TypeScript (the arrays are assumed checked).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sgdUpdateReference } from "./optim_reference.ts";
 * const c = { negLr: -0.5, weightDecay: 0, momentum: 0, keep: 1, nesterov: false, first: true };
 * const [r] = sgdUpdateReference([{ param: Float32Array.of(1, 2), grad: Float32Array.of(1, -1) }], c);
 * assert(r.param.join() === "0.5,2.5" && r.momentumBuffer === undefined);
 * ```
 */
export function sgdUpdateReference(tensors: readonly SgdTensors[], c: SgdConstants): SgdResult[] {
  const negLr = fround(c.negLr), wd = fround(c.weightDecay), mom = fround(c.momentum), keep = fround(c.keep);
  const { nesterov, first } = c;
  const results: SgdResult[] = tensors.map(({ param: p, grad: g, momentumBuffer }) => {
    const n = p.length;
    const pOut = new Float32Array(n);
    const buf = mom !== 0 ? momentumBuffer! : p, bufOut = mom !== 0 ? new Float32Array(n) : pOut;
    for (let i = 0; i < n; i++) {
      const pi = p[i];
      let d = wd !== 0 ? fround(g[i] + wd * pi) : g[i];
      if (mom !== 0) {
        const b = first ? d : fround(fround(buf[i] * mom) + keep * d);
        bufOut[i] = b;
        d = nesterov ? fround(d + mom * b) : b;
      }
      pOut[i] = pi + negLr * d;
    }
    return mom !== 0 ? { param: pOut, momentumBuffer: bufOut } : { param: pOut };
  });
  return results.map((r, i) => {
    const t = tensors[i];
    if (!t.inPlace) return r;
    const param = into(t.param, r.param);
    return mom !== 0 ? { param, momentumBuffer: into(t.momentumBuffer!, r.momentumBuffer!) } : { param };
  });
}

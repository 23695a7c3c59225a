/**
 * Gradient checking against central finite differences, for tests of any differentiable function.
 * @module
 */
import { valueAndGrad } from "./autodiff.ts";
import { mul } from "./math.ts";
import { sum } from "./reduce.ts";
import { reshape } from "./shape_ops.ts";
import { randomKey, randomNormal, splitKey } from "./random.ts";
import { fromArray, type Tensor } from "./tensor.ts";

/** The outcome of {@linkcode checkGradients}. */
export interface GradCheck {
  /** Directional derivative from the gradients, <∇L, v>. */
  analytic: number;
  /** The same from central differences. */
  numeric: number;
  /** |analytic - numeric| / max(1, |numeric|)-style relative error. */
  error: number;
}

function loss(f: (xs: Tensor[]) => Tensor, xs: Tensor[], r: Float32Array): number {
  const y = f(xs).data;
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i] * r[i];
  return s;
}

/**
 * Compares the gradient of L(xs) = Σ f(xs) · r (r random) along a random direction v with the central
 * difference (L(xs + εv) − L(xs − εv)) / 2ε, computed in float64 from float32 outputs.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { checkGradients, mul, tensor } from "@hqat/tensor";
 * const { error } = checkGradients(([a, b]) => mul(a, b), [tensor([1, 2]), tensor([3, 4])]);
 * assert(error < 1e-3);
 * ```
 */
export function checkGradients(
  f: (xs: Tensor[]) => Tensor,
  xs: Tensor[],
  options: { eps?: number; seed?: number } = {},
): GradCheck {
  const eps = options.eps ?? 1e-3;
  const [kr, kv] = splitKey(randomKey(options.seed ?? 7));
  const y = f(xs);
  const r = randomNormal(kr, y.shape).data as Float32Array;
  const dirs = xs.map((x, i) => randomNormal(splitKey(kv, xs.length)[i], x.shape).data as Float32Array);
  const { grad } = valueAndGrad((p: Tensor[]) => {
    const out = f(p);
    return sumWeighted(out, r);
  })(xs);
  let analytic = 0;
  grad.forEach((g, i) => {
    const gd = g.data;
    for (let j = 0; j < gd.length; j++) analytic += gd[j] * dirs[i][j];
  });
  const shifted = (sgn: number) =>
    xs.map((x, i) => {
      const d = new Float32Array(x.size);
      for (let j = 0; j < d.length; j++) d[j] = x.data[j] + sgn * eps * dirs[i][j];
      return fromArray(d, x.shape);
    });
  const numeric = (loss(f, shifted(1), r) - loss(f, shifted(-1), r)) / (2 * eps);
  const error = Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric), Math.abs(analytic));
  return { analytic, numeric, error };
}

function sumWeighted(y: Tensor, r: Float32Array): Tensor {
  return sum(mul(y, reshape(fromArray(r, [r.length]), y.shape)));
}

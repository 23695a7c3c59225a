/**
 * AdaRound (Nagel et al., "Up or Down? Adaptive Rounding for Post-Training Quantization", 2020), a pure
 * pass over a calibrated state: layer by layer in graph order, each convolution's or linear layer's
 * BN-folded weight chooses, element by element, to round down or up on its quantization grid, so that
 * the layer's output on the inputs the quantized model gives it stays closest to the output with the
 * float weight. The choice is learned through the rectified sigmoid `h(V) = clamp(1.2 σ(V) − 0.1, 0, 1)`
 * with Adam, the loss `mean((W x − W̃ x)²) + λ Σ (1 − |2h − 1|^β)` and β annealed from 20 to 2 after a
 * fifth of the iterations without the regularizer; then `h ≥ 0.5` rounds up. The weight written back lies
 * on the grid, so conversion's rounding gives the chosen integers.
 * @module
 */
import { Scope, type StateDict } from "@hqat/nn";
import { FakeQuantState } from "@hqat/qtensor";
import {
  abs,
  add,
  clamp,
  conv2d,
  fromArray,
  matmul,
  mean,
  mul,
  pow,
  sigmoid,
  square,
  sub,
  sum,
  type Tensor,
  transpose,
  valueAndGrad,
} from "@hqat/tensor";
import type { QatModel } from "./qat_model.ts";

/** Options of {@linkcode adaround}. */
export interface AdaRoundOptions {
  /** Adam iterations per layer. */
  iterations: number;
  /** The inputs (calibration batches); at most `rows` rows are used. */
  batches: readonly Tensor[];
  /** Rows of input per layer (default 32). */
  rows?: number;
  /** Adam learning rate (default 0.01). */
  lr?: number;
  /** Weight of the rounding regularizer (default 0.01). */
  lambda?: number;
}

/** One rounded layer. */
export interface AdaRoundLayer {
  /** Node name. */
  node: string;
  /** Weights rounded the other way than to nearest. */
  flipped: number;
  /** Reconstruction error (mean squared) with nearest rounding. */
  nearestError: number;
  /** Reconstruction error with the learned rounding. */
  error: number;
}

function gather(
  model: QatModel,
  state: StateDict,
  xs: readonly Tensor[],
  node: string,
  rows: number,
): Tensor {
  const parts: Float32Array[] = [];
  let shape: number[] = [], n = 0;
  for (const x of xs) {
    if (n >= rows) break;
    model.run(new Scope(state, "", { training: false, updates: new Map() }), x, (name, y) => {
      if (name !== node) return;
      const take = Math.min(rows - n, y.shape[0]), per = y.size / y.shape[0];
      parts.push((y.data as Float32Array).slice(0, take * per));
      shape = [...y.shape];
      n += take;
    });
  }
  const data = new Float32Array(parts.reduce((k, p) => k + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return fromArray(data, [n, ...shape.slice(1)]);
}

/**
 * Learns the rounding of every quantized convolution and linear layer of `prepared`; returns the new
 * state (weights on their grids, observer ranges unchanged) and per-layer figures.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { adaround, ptq } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, DeQuantStub, initState, QuantStub, Sequential } from "@hqat/nn";
 * import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const m = new Sequential(new QuantStub(), new Conv2d(3, 4, 3), new DeQuantStub());
 * const x = randomNormal(randomKey(1), [4, 3, 8, 8]);
 * const r = ptq(m, initState(m, randomKey(0)), x, { qconfig: { "": q8 }, march: March.BAYES });
 * const a = adaround(r.prepared, r.state, { iterations: 20, batches: [x] });
 * assert(a.layers.length === 1 && a.layers[0].error <= a.layers[0].nearestError);
 * ```
 */
export function adaround(
  prepared: QatModel,
  state: StateDict,
  options: AdaRoundOptions,
): { state: StateDict; layers: AdaRoundLayer[] } {
  const vm = prepared.withState(FakeQuantState.VALIDATION);
  const rows = options.rows ?? 32, lr = options.lr ?? 0.01, lambda = options.lambda ?? 0.01;
  let out: StateDict = { ...state };
  const layers: AdaRoundLayer[] = [];
  for (const n of prepared.graph.nodes) {
    const k = n.kind;
    if ((k.op !== "conv2d" && k.op !== "linear") || !prepared.specs.get(n.name)?.weight) continue;
    const wKey = `${k.module}.weight`, w = out[wKey];
    const x = gather(vm, out, options.batches, n.inputs[0], rows);
    if (x.shape[0] === 0) continue;
    const co = w.shape[0], per = w.size / co;
    const fold = new Float32Array(co).fill(1);
    if (k.op === "conv2d" && k.bn) {
      const g = out[`${k.bn.module}.weight`].data, v = out[`${k.bn.module}.running_var`].data;
      for (let c = 0; c < co; c++) fold[c] = Math.fround(g[c] / Math.sqrt(v[c] + k.bn.eps));
    }
    const s = prepared.scaleOf(out, `${k.module}.weight_fake_quant`);
    const o = prepared.observer(`${k.module}.weight_fake_quant`);
    const wf = new Float32Array(w.size), lo = new Float32Array(w.size), v0 = new Float32Array(w.size);
    const scale = new Float32Array(w.size);
    for (let i = 0; i < w.size; i++) {
      const c = Math.floor(i / per);
      wf[i] = Math.fround(w.data[i] * fold[c]);
      scale[i] = s[c];
      const r = Math.fround(wf[i] / s[c]);
      lo[i] = Math.floor(r);
      const rest = Math.min(0.999, Math.max(0.001, r - lo[i]));
      v0[i] = -Math.log(1.2 / (rest + 0.1) - 1);
    }
    const layer = (weights: Tensor) =>
      k.op === "conv2d"
        ? conv2d(x, weights, { stride: k.stride, padding: k.padding, dilation: k.dilation, groups: k.groups })
        : matmul(x, transpose(weights));
    const wShape = w.shape, floorT = fromArray(lo, wShape), scaleT = fromArray(scale, wShape);
    const target = layer(fromArray(wf, wShape));
    const quantized = (h: Tensor) => mul(clamp(add(floorT, h), o.qmin, o.qmax), scaleT);
    const rect = (vt: Tensor) => clamp(sub(mul(sigmoid(vt), 1.2), 0.1), 0, 1);
    const reconstruction = (q: Tensor) => mean(square(sub(layer(q), target))).item();
    const nearest = Float32Array.from(wf, (v, i) => Math.round(v / scale[i]) - lo[i]);
    const nearestError = reconstruction(quantized(fromArray(nearest, wShape)));
    let vArr = v0;
    const m1 = new Float32Array(w.size), m2 = new Float32Array(w.size);
    const warm = Math.floor(options.iterations / 5);
    for (let it = 0; it < options.iterations; it++) {
      const beta = it < warm ? 0 : 20 - (18 * (it - warm)) / Math.max(1, options.iterations - warm - 1);
      const f = (p: { v: Tensor }) => {
        const h = rect(p.v);
        const rec = mean(square(sub(layer(quantized(h)), target)));
        if (beta === 0) return rec;
        return add(rec, mul(sum(sub(1, pow(abs(sub(mul(h, 2), 1)), beta))), lambda));
      };
      const { grad } = valueAndGrad(f)({ v: fromArray(vArr, wShape) });
      const g = grad.v.data, next = new Float32Array(w.size);
      const b1 = 0.9, b2 = 0.999, t = it + 1;
      for (let i = 0; i < w.size; i++) {
        m1[i] = b1 * m1[i] + (1 - b1) * g[i];
        m2[i] = b2 * m2[i] + (1 - b2) * g[i] * g[i];
        const mh = m1[i] / (1 - b1 ** t), vh = m2[i] / (1 - b2 ** t);
        next[i] = vArr[i] - (lr * mh) / (Math.sqrt(vh) + 1e-8);
      }
      vArr = next;
    }
    const up = rect(fromArray(vArr, wShape)).data;
    const hard = Float32Array.from(up, (h) => (h >= 0.5 ? 1 : 0));
    const error = reconstruction(quantized(fromArray(hard, wShape)));
    // Keep nearest rounding where learning did not help (few iterations, or none).
    const chosen = error <= nearestError ? hard : nearest;
    let flipped = 0;
    const wNew = new Float32Array(w.size);
    for (let i = 0; i < w.size; i++) {
      const q = Math.min(o.qmax, Math.max(o.qmin, lo[i] + chosen[i]));
      if (chosen[i] !== nearest[i]) flipped++;
      wNew[i] = Math.fround((q * scale[i]) / fold[Math.floor(i / per)]);
    }
    out = { ...out, [wKey]: fromArray(wNew, wShape) };
    layers.push({ node: n.name, flipped, nearestError, error: Math.min(error, nearestError) });
  }
  return { state: out, layers };
}

/**
 * Cross-layer equalization (Nagel et al., "Data-Free Quantization", 2019), a pure pass over a float
 * state: for a convolution whose output goes, through nothing or a ReLU, only into a regular
 * convolution, output channel `i` of the first is divided by `s_i` and input channel `i` of the second
 * multiplied by it, with `s_i = sqrt(r1_i / r2_i)` (`r1_i` the largest |weight| of the first layer's
 * BN-folded channel `i`, `r2_i` that of the second layer's input channel `i`), so both ranges become
 * `sqrt(r1_i · r2_i)`. ReLU is positively homogeneous, so the float function is unchanged; ReLU6 is not,
 * and such pairs are left alone.
 * @module
 */
import type { Module, StateDict } from "@hqat/nn";
import { fromArray, type Tensor } from "@hqat/tensor";
import { fuse } from "./fuse.ts";
import type { GraphNode } from "./graph.ts";
import { trace } from "./trace.ts";

/** One equalized pair. */
export interface EqualizedPair {
  /** The first convolution's node. */
  first: string;
  /** The second convolution's node. */
  second: string;
  /** The per-channel factors `s_i`. */
  scales: Float32Array;
}

/** Options of {@linkcode equalizeCrossLayer}. */
export interface EqualizeOptions {
  /** An input of the model's shape (only the shape matters). */
  exampleInput: Tensor;
  /** Passes over the pairs (default 1; chains of layers converge over several). */
  iterations?: number;
}

type ConvKind = Extract<GraphNode["kind"], { op: "conv2d" }>;

/**
 * Equalizes every eligible pair of convolutions; returns the new float state and the pairs.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { equalizeCrossLayer } from "@hqat/fx";
 * import { Conv2d, forward, initState, ReLU, Sequential } from "@hqat/nn";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const m = new Sequential(new Conv2d(3, 4, 3), new ReLU(), new Conv2d(4, 2, 1));
 * const s = initState(m, randomKey(0)), x = randomNormal(randomKey(1), [1, 3, 6, 6]);
 * const r = equalizeCrossLayer(m, s, { exampleInput: x });
 * const a = forward(m, s, x).y.data, b = forward(m, r.state, x).y.data;
 * assert(r.pairs.length === 1 && a.every((v, i) => Math.abs(v - b[i]) < 1e-5));
 * ```
 */
export function equalizeCrossLayer(
  model: Module,
  state: StateDict,
  options: EqualizeOptions,
): { state: StateDict; pairs: EqualizedPair[] } {
  const graph = fuse(trace(model, state, options.exampleInput), { add: false });
  const users = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) users.set(i, [...(users.get(i) ?? []), n]);
  const candidates: [GraphNode & { kind: ConvKind }, GraphNode & { kind: ConvKind }][] = [];
  for (const a of graph.nodes) {
    const ka = a.kind;
    if (ka.op !== "conv2d" || ka.add || (ka.act !== undefined && ka.act !== "relu")) continue;
    const next = users.get(a.name) ?? [];
    const b = next[0];
    if (next.length !== 1 || b.kind.op !== "conv2d" || b.kind.groups !== 1 || b.inputs[0] !== a.name) {
      continue;
    }
    candidates.push([a as GraphNode & { kind: ConvKind }, b as GraphNode & { kind: ConvKind }]);
  }
  const out: StateDict = { ...state };
  const f32 = (k: string) => Float32Array.from(out[k].data as Float32Array);
  const put = (k: string, v: Float32Array) => (out[k] = fromArray(v, out[k].shape));
  const pairs: EqualizedPair[] = [];
  for (let it = 0; it < (options.iterations ?? 1); it++) {
    for (const [a, b] of candidates) {
      const w1 = f32(`${a.kind.module}.weight`), w2 = f32(`${b.kind.module}.weight`);
      const c = out[`${a.kind.module}.weight`].shape[0], per1 = w1.length / c;
      const [o2, i2] = out[`${b.kind.module}.weight`].shape, per2 = w2.length / (o2 * i2);
      const bn = a.kind.bn;
      const fold = new Float32Array(c).fill(1);
      if (bn) {
        const g = out[`${bn.module}.weight`].data, v = out[`${bn.module}.running_var`].data;
        for (let i = 0; i < c; i++) fold[i] = g[i] / Math.sqrt(v[i] + bn.eps);
      }
      const scales = new Float32Array(c);
      for (let i = 0; i < c; i++) {
        let r1 = 0, r2 = 0;
        for (let j = 0; j < per1; j++) r1 = Math.max(r1, Math.abs(w1[i * per1 + j] * fold[i]));
        for (let o = 0; o < o2; o++) {
          for (let j = 0; j < per2; j++) r2 = Math.max(r2, Math.abs(w2[(o * i2 + i) * per2 + j]));
        }
        scales[i] = r1 > 0 && r2 > 0 ? Math.sqrt(r1 / r2) : 1;
      }
      if (bn) {
        // The batch norm's affine part carries the factor: its output, and so the ReLU's, is divided by s.
        const g = f32(`${bn.module}.weight`), be = f32(`${bn.module}.bias`);
        for (let i = 0; i < c; i++) {
          g[i] /= scales[i];
          be[i] /= scales[i];
        }
        put(`${bn.module}.weight`, g);
        put(`${bn.module}.bias`, be);
      } else {
        for (let i = 0; i < c; i++) for (let j = 0; j < per1; j++) w1[i * per1 + j] /= scales[i];
        put(`${a.kind.module}.weight`, w1);
        if (a.kind.bias) {
          const b1 = f32(`${a.kind.module}.bias`);
          for (let i = 0; i < c; i++) b1[i] /= scales[i];
          put(`${a.kind.module}.bias`, b1);
        }
      }
      for (let o = 0; o < o2; o++) {
        for (let i = 0; i < i2; i++) for (let j = 0; j < per2; j++) w2[(o * i2 + i) * per2 + j] *= scales[i];
      }
      put(`${b.kind.module}.weight`, w2);
      pairs.push({ first: a.name, second: b.name, scales });
    }
  }
  return { state: out, pairs };
}

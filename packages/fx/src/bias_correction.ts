/**
 * Empirical bias correction (Nagel et al., "Data-Free Quantization", 2019), a pure pass over a calibrated
 * state: layer by layer in graph order, the per-channel mean of the float output minus the fake-quantized
 * (VALIDATION) output on the calibration inputs is added to the layer's bias — the batch norm's `bias`
 * where one is fused, else the convolution's or linear layer's own — with every earlier layer already
 * corrected. The quantization error then has zero mean on those inputs, up to the rounding of the int32
 * bias (and, where a ReLU is fused, the shift the clamp leaves).
 * @module
 */
import { Scope, type StateDict } from "@hqat/nn";
import { FakeQuantState } from "@hqat/qtensor";
import { fromArray, type Tensor } from "@hqat/tensor";
import type { GraphNode } from "./graph.ts";
import { QatModel } from "./qat_model.ts";

/** One corrected layer. */
export interface BiasShift {
  /** Node name. */
  node: string;
  /** The state entry that was shifted. */
  key: string;
  /** The shift added per channel. */
  shift: Float32Array;
}

/** Per-channel means (channel axis 1) of one node's output over the batches. */
function channelMeans(
  model: QatModel,
  state: StateDict,
  batches: readonly Tensor[],
  node: string,
): Float64Array {
  let sums: Float64Array | undefined, count = 0;
  for (const x of batches) {
    const scope = new Scope(state, "", { training: false, updates: new Map() });
    model.run(scope, x, (name, y) => {
      if (name !== node) return;
      const c = y.shape[1], inner = y.size / (y.shape[0] * c), d = y.data;
      sums ??= new Float64Array(c);
      for (let i = 0; i < d.length; i++) sums[Math.floor(i / inner) % c] += d[i];
      count += y.size / c;
    });
  }
  if (!sums) throw new RangeError(`Node "${node}" produced no output`);
  return sums.map((v) => v / count);
}

/** The state entry that adds a constant per output channel of `n`, if any. */
function biasKey(n: GraphNode): string | undefined {
  const k = n.kind;
  if (k.op === "conv2d") {
    if (k.add) return undefined;
    return k.bn ? `${k.bn.module}.bias` : k.bias ? `${k.module}.bias` : undefined;
  }
  if (k.op === "linear") return k.bias ? `${k.module}.bias` : undefined;
  return undefined;
}

/**
 * Corrects the biases of every quantized convolution and linear layer of `prepared` on `batches`;
 * returns the new state (observer ranges unchanged) and the shifts.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { correctBias, ptq } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, DeQuantStub, initState, QuantStub, Sequential } from "@hqat/nn";
 * import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const m = new Sequential(new QuantStub(), new Conv2d(3, 4, 3), new DeQuantStub());
 * const x = randomNormal(randomKey(1), [4, 3, 8, 8]);
 * const r = ptq(m, initState(m, randomKey(0)), x, { qconfig: { "": q8 }, march: March.BAYES });
 * const c = correctBias(r.prepared, r.state, [x]);
 * assert(c.shifts.length === 1 && c.shifts[0].key === "1.bias");
 * ```
 */
export function correctBias(
  prepared: QatModel,
  state: StateDict,
  batches: readonly Tensor[],
): { state: StateDict; shifts: BiasShift[] } {
  const p = prepared;
  const floatModel = new QatModel(p.float, p.graph, new Map(), p.march, FakeQuantState.VALIDATION);
  const vm = p.withState(FakeQuantState.VALIDATION);
  // The float reference uses the state as given: its float function is what the correction aims at.
  const reference = state;
  let out: StateDict = { ...state };
  const shifts: BiasShift[] = [];
  for (const n of p.graph.nodes) {
    const key = biasKey(n);
    if (!key || !p.specs.get(n.name)?.weight) continue;
    const want = channelMeans(floatModel, reference, batches, n.name);
    const got = channelMeans(vm, out, batches, n.name);
    const shift = Float32Array.from(want, (v, c) => v - got[c]);
    const b = Float32Array.from(out[key].data as Float32Array, (v, c) => v + shift[c]);
    out = { ...out, [key]: fromArray(b, out[key].shape) };
    shifts.push({ node: n.name, key, shift });
  }
  return { state: out, shifts };
}

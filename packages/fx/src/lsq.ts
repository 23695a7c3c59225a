/**
 * LSQ in QAT: a model prepared with a learned-scale qconfig (`default_qat_8bit_lsq_fake_quant_qconfig`)
 * trains each activation scale as a parameter; its first value is the calibrated one.
 * @module
 */
import { initState, type StateDict } from "@hqat/nn";
import { fromArray, randomKey } from "@hqat/tensor";
import type { QatModel } from "./qat_model.ts";
import { isSetScale } from "./qat_spec.ts";

/**
 * The state of an LSQ-prepared model from `state` (e.g. a calibration checkpoint, which has no trained
 * scales): every entry of `state` it has, and each trained scale (`<quantizer>.scale`) not yet set taken
 * from its calibrated observer — the scale the model computed with until then.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { calibrateBatches, initLearnedScales, prepareQatFx, qatStateFromFloat } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { initState, Linear, QuantStub, Sequential } from "@hqat/nn";
 * import { default_qat_8bit_fake_quant_qconfig as q8, default_qat_8bit_lsq_fake_quant_qconfig as lsq } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const float = new Sequential(new QuantStub({ scale: 1 / 128 }), new Linear(4, 3));
 * const x = randomNormal(randomKey(1), [8, 4]);
 * const opts = { march: March.BAYES, exampleInput: x };
 * const calib = prepareQatFx(float, { "": q8 }, opts);
 * const calibrated = calibrateBatches(calib, qatStateFromFloat(calib, initState(float, randomKey(0))), [x]);
 * const model = prepareQatFx(float, { "": lsq }, opts);
 * const state = initLearnedScales(model, calibrated);
 * assert(state["1.activation_post_process.scale"].item() === calib.scaleOf(calibrated, "1.activation_post_process")[0]);
 * ```
 */
export function initLearnedScales(model: QatModel, state: StateDict): StateDict {
  const fresh = initState(model, randomKey(0));
  const out: StateDict = {};
  for (const k of Object.keys(fresh)) out[k] = state[k] ?? fresh[k];
  for (const prefix of model.quantizers()) {
    if (!model.learnsScale(prefix)) continue;
    if (isSetScale(out[`${prefix}.scale`])) continue;
    const min = out[`${prefix}.min_val`];
    if (!min || min.toArray().every((x) => Number.isNaN(x))) {
      throw new RangeError(`Quantizer "${prefix}" has seen no data: calibrate before initializing its scale`);
    }
    // Without a trained value, scaleOf gives the calibrated observer's scale.
    const scale = model.scaleOf(out, prefix);
    out[`${prefix}.scale`] = fromArray(Float32Array.from(scale), [scale.length]);
  }
  return out;
}

/**
 * The quick start's MobileNetV2 as an int model for the tests: 10 classes, QuantStub scale 1/128,
 * calibrated on two random batches through the real pipeline and converted (built once per process).
 * @module
 */

import { convertFx, prepareQatFx, qatStateFromFloat, setFakeQuantize } from "@hqat/fx";
import { March } from "@hqat/march-bayes";
import { forward, initState, mobilenetV2 } from "@hqat/nn";
import type { IntModel } from "@hqat/program";
import {
  default_calib_8bit_fake_quant_qconfig as c8,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig as c32,
  FakeQuantState,
  type QConfig,
} from "@hqat/qtensor";
import { randomKey, randomUniform } from "@hqat/tensor";

export { everyOpModel, prng, randomInput, tinyIntModel, wideConvIntModel } from "../../program/testdata/programs.ts";

const built = new Map<string, IntModel>();

/**
 * MobileNetV2 converted after calibration on two random batches of 8; `moduleName` qconfigs override
 * the int8 default (the classifier keeps its 32-bit output).
 */
export function mobileNetV2IntModel(moduleName: Record<string, QConfig> = {}): IntModel {
  const key = JSON.stringify(Object.keys(moduleName));
  const cached = built.get(key);
  if (cached) return cached;
  const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
  const calib = prepareQatFx(float, { "": c8, moduleName: { ...moduleName, classifier: c32 } }, {
    march: March.BAYES,
  });
  let s = qatStateFromFloat(calib, initState(float, randomKey(0)));
  const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
  for (let i = 0; i < 2; i++) {
    s = forward(cm, s, randomUniform(randomKey(10 + i), [8, 3, 32, 32], { min: -1, max: 1 })).state;
  }
  const model = convertFx(setFakeQuantize(calib, FakeQuantState.VALIDATION), s);
  built.set(key, model);
  return model;
}

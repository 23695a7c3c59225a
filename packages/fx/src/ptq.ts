/**
 * Post-training quantization without labels: prepare a float model for calibration, run its observers
 * over batches of calibration-like inputs, and convert the calibrated model to the fixed-point model.
 * The steps are the seed's calibration flow (`prepare_qat_fx` with calibration qconfigs,
 * `set_fake_quantize(CALIBRATION)`, forward passes, `VALIDATION`, `convert_fx`) as one call.
 * @module
 */
import type { March } from "@hqat/march-bayes";
import { forward, type Module, type StateDict } from "@hqat/nn";
import type { IntModel } from "@hqat/program";
import { FakeQuantState } from "@hqat/qtensor";
import { fromArray, type Tensor, type WebGpuDevice } from "@hqat/tensor";
import { adaround } from "./adaround.ts";
import { correctBias } from "./bias_correction.ts";
import { type CalibratingPass, runPass, runPassOnDevice } from "./calibration_driver.ts";
import { convertFx } from "./convert.ts";
import { equalizeCrossLayer } from "./equalize.ts";
import { prepareQatFx, type QatModel, qatStateFromFloat, setFakeQuantize } from "./qat_model.ts";
import type { QConfigDict } from "./qconfig_dict.ts";

/**
 * Splits a batch `[N, …]` into consecutive batches of at most `batchSize` rows (the last may be
 * shorter), sharing `x`'s data; `limit` keeps only the first `limit` batches.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { splitBatches } from "@hqat/fx";
 * import { zeros } from "@hqat/tensor";
 * const parts = [...splitBatches(zeros([5, 3, 2, 2]), 2)];
 * assert(parts.map((t) => t.shape[0]).join() === "2,2,1");
 * ```
 */
export function* splitBatches(x: Tensor, batchSize: number, limit = Infinity): Generator<Tensor> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`splitBatches(): batchSize must be a positive integer, got ${batchSize}`);
  }
  if (x.rank < 1) throw new RangeError("splitBatches(): the input needs a batch dimension");
  const n = x.shape[0], row = n === 0 ? 0 : x.size / n, data = x.data as Float32Array;
  for (let k = 0, start = 0; start < n && k < limit; k++, start += batchSize) {
    const end = Math.min(n, start + batchSize);
    yield fromArray(data.subarray(start * row, end * row), [end - start, ...x.shape.slice(1)]);
  }
}

/**
 * Runs the observers of a calibration-prepared model over `batches` (CALIBRATION: evaluation mode,
 * observers update, no fake quantization) and returns the calibrated state.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { calibrateBatches, prepareQatFx, qatStateFromFloat } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { initState, mobilenetV2 } from "@hqat/nn";
 * import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
 * const calib = prepareQatFx(float, { "": q8 }, { march: March.BAYES });
 * const before = qatStateFromFloat(calib, initState(float, randomKey(0)));
 * const after = calibrateBatches(calib, before, [randomNormal(randomKey(1), [2, 3, 32, 32])]);
 * assert(!Number.isNaN(after["features.0.0.activation_post_process.max_val"].data[0]));
 * ```
 */
export function calibrateBatches(prepared: QatModel, state: StateDict, batches: Iterable<Tensor>): StateDict {
  const cm = setFakeQuantize(prepared, FakeQuantState.CALIBRATION);
  let s = state;
  for (const x of batches) s = forward(cm, s, x).state;
  return s;
}

/** Options of {@linkcode ptq}. */
export interface PtqOptions {
  /** The calibration qconfigs (the seed's `{"": calib_qconfig, "module_name": {...}}`). */
  qconfig: QConfigDict;
  /** The target (default: the march set with `setMarch`). */
  march?: March;
  /** Rows per calibration batch (default 32). */
  batchSize?: number;
  /** Calibrate on at most this many batches (default all). */
  batches?: number;
  /** Where the early target warnings of `prepareQatFx` go (default console.warn). */
  warn?: (line: string) => void;
  /** Cross-layer equalization of the float state before calibration ({@linkcode equalizeCrossLayer}). */
  equalize?: boolean;
  /** Bias correction after calibration on this many calibration batches ({@linkcode correctBias}; default 0, off). */
  biasCorrect?: number;
  /** AdaRound iterations per layer after calibration ({@linkcode adaround}; default 0, off). */
  adaround?: number;
}

/**
 * The PTQ passes around calibration: `before` equalizes the float state (when asked), `after` corrects
 * the biases of a calibrated state (when asked).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ptqPasses } from "@hqat/fx";
 * import { Conv2d, initState, ReLU, Sequential } from "@hqat/nn";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const m = new Sequential(new Conv2d(3, 4, 3), new ReLU(), new Conv2d(4, 2, 1));
 * const passes = ptqPasses(m, randomNormal(randomKey(1), [2, 3, 6, 6]), { equalize: true });
 * assert(passes.before(initState(m, randomKey(0))).pairs === 1);
 * ```
 */
export function ptqPasses(
  model: Module,
  calibData: Tensor,
  options: Pick<PtqOptions, "equalize" | "biasCorrect" | "adaround" | "batchSize">,
): {
  before(floatState: StateDict): { state: StateDict; pairs: number };
  after(prepared: QatModel, state: StateDict): { state: StateDict; layers: number; rounded: number };
} {
  return {
    before(floatState) {
      if (!options.equalize) return { state: floatState, pairs: 0 };
      const exampleInput = [...splitBatches(calibData, 1, 1)][0];
      const r = equalizeCrossLayer(model, floatState, { exampleInput, iterations: 2 });
      return { state: r.state, pairs: new Set(r.pairs.map((p) => p.first)).size };
    },
    after(prepared, calibrated) {
      let state = calibrated, rounded = 0, layers = 0;
      if ((options.adaround ?? 0) > 0) {
        const batches = [...splitBatches(calibData, options.batchSize ?? 32, 1)];
        const r = adaround(prepared, state, { iterations: options.adaround!, batches });
        state = r.state;
        rounded = r.layers.length;
      }
      const n = options.biasCorrect ?? 0;
      if (n > 0) {
        const batches = [...splitBatches(calibData, options.batchSize ?? 32, n)];
        const r = correctBias(prepared, state, batches);
        state = r.state;
        layers = r.shifts.length;
      }
      return { state, layers, rounded };
    },
  };
}

/** What {@linkcode ptq} gives: the calibration-prepared model, its calibrated state, the fixed-point model. */
export interface PtqResult {
  /** The calibration-prepared model (in CALIBRATION; `setFakeQuantize` gives the others). */
  prepared: QatModel;
  /** The calibrated state (the `calib-checkpoint`). */
  state: StateDict;
  /** The fixed-point model (`convertFx` of the calibrated model in VALIDATION). */
  intModel: IntModel;
  /** Calibration batches run. */
  batches: number;
  /** Calibration inputs seen. */
  images: number;
  /** Pairs of layers equalized (0 without `equalize`). */
  equalized: number;
  /** Layers whose bias was corrected (0 without `biasCorrect`). */
  biasCorrected: number;
  /** Layers rounded by AdaRound (0 without `adaround`). */
  adarounded: number;
}

/**
 * Post-training quantization: prepares `model` with `options.qconfig`, loads `floatState`, calibrates
 * on `calibData` ([N, …], split into batches of `batchSize` rows) and converts to the fixed-point model.
 * The model's QuantStub decides the input scale: a fixed scale stays, otherwise the qconfig's observer
 * sets it from the calibration inputs like every other activation. With `equalize` the float state is
 * equalized first; with `adaround` the weights' rounding is learned, and with `biasCorrect` the
 * biases are corrected, after calibration and before conversion.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ptq } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { initState, mobilenetV2 } from "@hqat/nn";
 * import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const float = mobilenetV2({ numClasses: 10, quantStubScale: null });
 * const x = randomNormal(randomKey(1), [4, 3, 32, 32]);
 * const r = ptq(float, initState(float, randomKey(0)), x, { qconfig: { "": q8 }, march: March.BAYES, batchSize: 2 });
 * assert(r.batches === 2 && r.images === 4 && r.intModel.instructions.at(-1)!.op === "dequantize");
 * ```
 */
export function ptq(model: Module, floatState: StateDict, calibData: Tensor, options: PtqOptions): PtqResult {
  return runPass(ptqPass(model, floatState, calibData, options), calibrateBatches);
}

/**
 * {@linkcode ptq} with the calibration on `options.device` (`calibrateBatchesOnDevice`: the calibrated
 * state the CPU's observers give for the activations the device computes); the other passes and the
 * conversion run on the CPU.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ptqOnDevice } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, DeQuantStub, initState, QuantStub, ReLU, Sequential } from "@hqat/nn";
 * import { calibQConfigFor } from "@hqat/qtensor";
 * import { probeWebGpu, randomKey, randomNormal, WebGpuDevice } from "@hqat/tensor";
 * if ((await probeWebGpu()).available) {
 *   const float = new Sequential(new QuantStub(), new Conv2d(3, 4, 3), new ReLU(), new DeQuantStub());
 *   const device = await WebGpuDevice.create();
 *   const x = randomNormal(randomKey(1), [4, 3, 6, 6]);
 *   const r = await ptqOnDevice(float, initState(float, randomKey(0)), x, {
 *     qconfig: { "": calibQConfigFor("kl") }, march: March.BAYES, batchSize: 2, device,
 *   });
 *   assert(r.batches === 2 && r.intModel.instructions.length > 0);
 *   device.destroy();
 * }
 * ```
 */
export function ptqOnDevice(
  model: Module,
  floatState: StateDict,
  calibData: Tensor,
  options: PtqOptions & { readonly device: WebGpuDevice },
): Promise<PtqResult> {
  return runPassOnDevice(ptqPass(model, floatState, calibData, options), options.device);
}

/** {@linkcode ptq} as a pass that asks for its calibration. */
function* ptqPass(
  model: Module,
  floatState: StateDict,
  calibData: Tensor,
  options: PtqOptions,
): CalibratingPass<PtqResult> {
  if (calibData.rank < 2 || calibData.shape[0] === 0) {
    throw new RangeError(
      `ptq(): the calibration data must be a non-empty batch [N, …], got [${calibData.shape.join(",")}]`,
    );
  }
  const exampleInput = fromArray(
    (calibData.data as Float32Array).subarray(0, calibData.size / calibData.shape[0]),
    [1, ...calibData.shape.slice(1)],
  );
  const prepared = prepareQatFx(model, options.qconfig, {
    march: options.march,
    exampleInput,
    warn: options.warn,
  });
  let batches = 0, images = 0;
  const counted = function* (xs: Iterable<Tensor>) {
    for (const x of xs) {
      batches++;
      images += x.shape[0];
      yield x;
    }
  };
  const passes = ptqPasses(model, calibData, options);
  const eq = passes.before(floatState);
  const calibrated = yield {
    prepared,
    state: qatStateFromFloat(prepared, eq.state),
    batches: counted(splitBatches(calibData, options.batchSize ?? 32, options.batches)),
  };
  const bc = passes.after(prepared, calibrated);
  const intModel = convertFx(setFakeQuantize(prepared, FakeQuantState.VALIDATION), bc.state);
  return {
    prepared,
    state: bc.state,
    intModel,
    batches,
    images,
    equalized: eq.pairs,
    biasCorrected: bc.layers,
    adarounded: bc.rounded,
  };
}

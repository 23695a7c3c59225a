/**
 * The per-layer "best of" calibration (Horizon's `mix`): calibrate once with each method, then walk the
 * activation quantizers in graph order and keep, for each, the method whose range gives the lowest
 * error of the network's output against float on a search batch, the choices made so far held.
 * @module
 */
import { forward, type StateDict } from "@hqat/nn";
import type { Module } from "@hqat/nn";
import { CALIB_METHODS, type CalibMethod, FakeQuantState } from "@hqat/qtensor";
import type { Tensor, WebGpuDevice } from "@hqat/tensor";
import { type CalibratingPass, runPass, runPassOnDevice } from "./calibration_driver.ts";
import { convertFx } from "./convert.ts";
import { calibrateBatches, type PtqOptions, ptqPasses, type PtqResult, splitBatches } from "./ptq.ts";
import { prepareQatFx, type QatModel, qatStateFromFloat, setFakeQuantize } from "./qat_model.ts";
import type { QConfigDict } from "./qconfig_dict.ts";

/** Options of {@linkcode ptqMix}: those of `ptq`, with a qconfig per method and the search's inputs. */
export interface PtqMixOptions extends Omit<PtqOptions, "qconfig"> {
  /** The calibration qconfigs of a method (e.g. its preset everywhere, 32-bit output on the classifier). */
  qconfig: (method: CalibMethod) => QConfigDict;
  /** The methods to choose from (default all of `CALIB_METHODS`). */
  methods?: readonly CalibMethod[];
  /** The inputs the search compares outputs on (default the first `searchRows` calibration inputs). */
  searchData?: Tensor;
  /** Rows of the default search batch (default 32). */
  searchRows?: number;
}

/** What {@linkcode ptqMix} gives: a PTQ result plus each quantizer's method and the errors seen. */
export interface PtqMixResult extends PtqResult {
  /** The method kept for each activation quantizer (`<node>.activation_post_process`). */
  choice: Record<string, CalibMethod>;
  /** The output mean squared error of each method alone, on the search batch. */
  methodError: Partial<Record<CalibMethod, number>>;
  /** The output mean squared error of the mix. */
  error: number;
}

function meanSquaredError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e += (a[i] - b[i]) ** 2;
  return a.length ? e / a.length : 0;
}

/** The fake-quantized (VALIDATION) output error of `state` against `reference`. */
function outputError(vm: QatModel, state: StateDict, x: Tensor, reference: Tensor): number {
  return meanSquaredError(forward(vm, state, x).y.data, reference.data);
}

/**
 * Post-training quantization with the per-layer best-of search: each method calibrates on `calibData`;
 * the method whose output error on the search batch is lowest sets every range; then, quantizer by
 * quantizer in graph order, each other method's range replaces it where that lowers the output error.
 * The result is converted like {@linkcode ptq}'s.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ptqMix } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, DeQuantStub, initState, QuantStub, ReLU, Sequential } from "@hqat/nn";
 * import { calibQConfigFor } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const float = new Sequential(new QuantStub(), new Conv2d(3, 4, 3), new ReLU(), new Conv2d(4, 2, 1), new DeQuantStub());
 * const x = randomNormal(randomKey(1), [8, 3, 8, 8]);
 * const r = ptqMix(float, initState(float, randomKey(0)), x, { qconfig: (m) => ({ "": calibQConfigFor(m) }), march: March.BAYES });
 * assert(Object.keys(r.choice).length === 3 && r.error <= Math.min(...Object.values(r.methodError)));
 * ```
 */
export function ptqMix(
  model: Module,
  floatState: StateDict,
  calibData: Tensor,
  options: PtqMixOptions,
): PtqMixResult {
  return runPass(ptqMixPass(model, floatState, calibData, options), calibrateBatches);
}

/**
 * {@linkcode ptqMix} with every method's calibration on `options.device` (`calibrateBatchesOnDevice`);
 * the search, the other passes and the conversion run on the CPU.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ptqMixOnDevice } from "@hqat/fx";
 * assert(typeof ptqMixOnDevice === "function");
 * ```
 */
export function ptqMixOnDevice(
  model: Module,
  floatState: StateDict,
  calibData: Tensor,
  options: PtqMixOptions & { readonly device: WebGpuDevice },
): Promise<PtqMixResult> {
  return runPassOnDevice(ptqMixPass(model, floatState, calibData, options), options.device);
}

/** {@linkcode ptqMix} as a pass that asks for its calibrations. */
function* ptqMixPass(
  model: Module,
  floatState: StateDict,
  calibData: Tensor,
  options: PtqMixOptions,
): CalibratingPass<PtqMixResult> {
  const methods = options.methods ?? CALIB_METHODS;
  if (methods.length === 0) throw new RangeError("ptqMix(): give at least one calibration method");
  const search = options.searchData ?? [...splitBatches(calibData, options.searchRows ?? 32, 1)][0];
  const exampleInput = [...splitBatches(calibData, 1, 1)][0];
  const passes = ptqPasses(model, calibData, options);
  const eq = passes.before(floatState);
  const reference = forward(model, eq.state, search).y;
  const runs = [];
  for (const method of methods) {
    const prepared = prepareQatFx(model, options.qconfig(method), {
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
    const state: StateDict = yield {
      prepared,
      state: qatStateFromFloat(prepared, eq.state),
      batches: counted(splitBatches(calibData, options.batchSize ?? 32, options.batches)),
    };
    const vm = setFakeQuantize(prepared, FakeQuantState.VALIDATION);
    runs.push({
      method,
      prepared,
      vm,
      state,
      batches,
      images,
      error: outputError(vm, state, search, reference),
    });
  }
  const methodError: Partial<Record<CalibMethod, number>> = {};
  for (const r of runs) methodError[r.method] = r.error;
  const base = runs.reduce((a, b) => (b.error < a.error ? b : a));
  let state = { ...base.state }, error = base.error;
  const choice: Record<string, CalibMethod> = {};
  for (const prefix of base.prepared.quantizers()) {
    if (!prefix.endsWith(".activation_post_process")) continue;
    choice[prefix] = base.method;
    for (const r of runs) {
      if (r === base) continue;
      const keys = [`${prefix}.min_val`, `${prefix}.max_val`];
      const trial = { ...state, [keys[0]]: r.state[keys[0]], [keys[1]]: r.state[keys[1]] };
      const e = outputError(base.vm, trial, search, reference);
      if (e < error) {
        error = e;
        state = trial;
        choice[prefix] = r.method;
      }
    }
  }
  const bc = passes.after(base.prepared, state);
  const intModel = convertFx(base.vm, bc.state);
  return {
    prepared: base.prepared,
    state: bc.state,
    equalized: eq.pairs,
    biasCorrected: bc.layers,
    adarounded: bc.rounded,
    intModel,
    batches: base.batches,
    images: base.images,
    choice,
    methodError,
    error,
  };
}

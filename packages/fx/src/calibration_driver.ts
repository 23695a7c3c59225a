/**
 * PTQ passes that calibrate, written once for the CPU and for a device: a pass is a generator that
 * yields each calibration it needs and receives the calibrated state; {@linkcode runPass} drives it
 * with a synchronous calibration (`calibrateBatches`), {@linkcode runPassOnDevice} with the calibration on
 * a WebGPU device (`calibrateBatchesOnDevice`).
 * @module
 */
import type { StateDict } from "@hqat/nn";
import type { Tensor, WebGpuDevice } from "@hqat/tensor";
import { calibrateBatchesOnDevice } from "./device_calibration.ts";
import type { QatModel } from "./qat_model.ts";

/** A calibration a pass asks for: `prepared`'s observers run from `state` over `batches`. */
export interface CalibrationRequest {
  /** The calibration-prepared model. */
  readonly prepared: QatModel;
  /** The state before calibration. */
  readonly state: StateDict;
  /** The batches. */
  readonly batches: Iterable<Tensor>;
}

/** A pass that yields calibration requests, receives the calibrated states, and returns `R`. */
export type CalibratingPass<R> = Generator<CalibrationRequest, R, StateDict>;

/** A calibration: the state after running `prepared`'s observers from `state` over `batches`. */
export type Calibrate<S> = (prepared: QatModel, state: StateDict, batches: Iterable<Tensor>) => S;

/**
 * Runs `pass`, answering each request with `calibrate`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { runPass } from "./calibration_driver.ts";
 * assert(runPass((function* () { return 1; })(), () => ({})) === 1);
 * ```
 */
export function runPass<R>(pass: CalibratingPass<R>, calibrate: Calibrate<StateDict>): R {
  let r = pass.next();
  while (!r.done) r = pass.next(calibrate(r.value.prepared, r.value.state, r.value.batches));
  return r.value;
}

/**
 * Runs `pass`, answering each request with the calibration on `device` (`calibrateBatchesOnDevice`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { WebGpuDevice } from "@hqat/tensor";
 * import { runPassOnDevice } from "./calibration_driver.ts";
 * assert((await runPassOnDevice((function* () { return 1; })(), {} as WebGpuDevice)) === 1);
 * ```
 */
export async function runPassOnDevice<R>(pass: CalibratingPass<R>, device: WebGpuDevice): Promise<R> {
  let r = pass.next();
  while (!r.done) {
    const { prepared, state, batches } = r.value;
    r = pass.next(await calibrateBatchesOnDevice(prepared, state, batches, device));
  }
  return r.value;
}

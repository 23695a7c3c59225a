/**
 * Calibration on WebGPU: the model, its state and each batch on the device; the MinMax observers run
 * there as in QAT (`observeMinMax`); a histogram observer (percentile, mse, kl) has the device compute
 * its batch statistics where the activation lives (`batchStatsResident`: min, max and the |x| histogram
 * or the candidates' squared errors) and only those few kilobytes come back, from which the CPU
 * observer's own `updateFromStats` finishes the update — so the calibrated state is the CPU's, bit for bit.
 * @module
 */
import { forward, type StateDict } from "@hqat/nn";
import { batchLayout, FakeQuantState, type Observer } from "@hqat/qtensor";
import {
  batchStatsResident,
  disposeTree,
  fromArray,
  GpuStorage,
  readBatchStats,
  type ResidentBatchStats,
  stateToCpu,
  stateToDevice,
  type Tensor,
  tidy,
  toCpu,
  toDevice,
  type WebGpuDevice,
} from "@hqat/tensor";
import type { QatModel } from "./qat_model.ts";
import { observerState } from "./qat_spec.ts";

/** One histogram observer's statistics of the current batch, recorded on the device. */
interface Pending {
  readonly prefix: string;
  readonly observer: Observer;
  readonly run: ResidentBatchStats;
}

/** Records on `y`'s device the statistics of `y` that `observer` needs (see the module doc). */
function record(observer: Observer, y: Tensor): ResidentBatchStats {
  const st = y.storage;
  if (!(st instanceof GpuStorage)) {
    throw new TypeError(`Observer "${observer.name}": its batch is not on WebGPU`);
  }
  if (!observer.statsPlan) {
    throw new TypeError(
      `Observer "${observer.name}" (${observer.kind}) has no batch statistics to compute on a device`,
    );
  }
  const layout = batchLayout(y.size, { axis: observer.axis, shape: y.shape, name: observer.name });
  return batchStatsResident(st.dev, st.gpu, observer.statsPlan(layout.outer * layout.inner), layout);
}

/** Reads every pending run (releasing all of them), then throws the first error if any. */
async function readAll(dev: WebGpuDevice, pending: readonly Pending[]) {
  const got = await Promise.allSettled(pending.map((p) => readBatchStats(dev, p.run, p.observer.name)));
  const failed = got.find((g) => g.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return got.map((g) => (g as PromiseFulfilledResult<Awaited<ReturnType<typeof readBatchStats>>>).value);
}

/**
 * `calibrateBatches` on `device`: runs the observers of a calibration-prepared model over `batches`
 * (CALIBRATION) with the state and the batches on the device, and returns the calibrated state on the
 * CPU — equal to `calibrateBatches`'s bit for bit (see the module doc). Each batch's histogram
 * statistics are read back once, after its forward pass.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { calibrateBatches, calibrateBatchesOnDevice, prepareQatFx, qatStateFromFloat } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, DeQuantStub, initState, QuantStub, ReLU, Sequential } from "@hqat/nn";
 * import { calibQConfigFor } from "@hqat/qtensor";
 * import { probeWebGpu, randomKey, randomNormal, WebGpuDevice } from "@hqat/tensor";
 * if ((await probeWebGpu()).available) {
 *   const float = new Sequential(new QuantStub(), new Conv2d(3, 4, 3), new ReLU(), new DeQuantStub());
 *   const x = randomNormal(randomKey(1), [2, 3, 6, 6]);
 *   const calib = prepareQatFx(float, { "": calibQConfigFor("percentile") }, { march: March.BAYES, exampleInput: x });
 *   const s0 = qatStateFromFloat(calib, initState(float, randomKey(0)));
 *   const dev = await WebGpuDevice.create();
 *   const gpu = await calibrateBatchesOnDevice(calib, s0, [x], dev);
 *   const cpu = calibrateBatches(calib, s0, [x]);
 *   for (const k of Object.keys(cpu)) assert(gpu[k].data.join() === cpu[k].data.join(), k);
 *   dev.destroy();
 * }
 * ```
 */
export async function calibrateBatchesOnDevice(
  prepared: QatModel,
  state: StateDict,
  batches: Iterable<Tensor> | AsyncIterable<Tensor>,
  device: WebGpuDevice,
): Promise<StateDict> {
  const cm = prepared.withState(FakeQuantState.CALIBRATION);
  // The histogram observers' state stays on the host, where their update finishes.
  const host = new Set<string>();
  for (const prefix of prepared.quantizers()) {
    if (prepared.observer(prefix).statsPlan) host.add(`${prefix}.min_val`).add(`${prefix}.max_val`);
  }
  const start: StateDict = { ...state };
  for (const k of host) if (state[k]) start[k] = await toCpu(state[k]);
  let s: StateDict = stateToDevice(
    start,
    device,
    (name, t) => host.has(name) || (t.dtype !== "float32" && t.size === 1),
  );
  try {
    for await (const x of batches) {
      const pending: Pending[] = [];
      const m = cm.withDeviceBatches((prefix, observer, y) =>
        pending.push({ prefix, observer, run: record(observer, y) })
      );
      let next: StateDict;
      try {
        next = tidy(() => forward(m, s, toDevice(x, device)).state);
      } catch (e) {
        for (const p of pending) device.release(p.run.buffer);
        throw e;
      }
      disposeTree(s, { next, state });
      s = { ...next };
      const stats = await readAll(device, pending);
      pending.forEach(({ prefix, observer }, i) => {
        const mn = `${prefix}.min_val`, mx = `${prefix}.max_val`;
        const u = observer.updateFromStats!(observerState(s[mn], s[mx]), stats[i]);
        s[mn] = fromArray(u.min, [u.min.length]);
        s[mx] = fromArray(u.max, [u.max.length]);
      });
    }
    return await stateToCpu(s);
  } finally {
    disposeTree(s, state);
  }
}

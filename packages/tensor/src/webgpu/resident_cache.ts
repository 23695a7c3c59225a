/**
 * A cache of what a model keeps on a device (uploaded weights, biases, requantization parameters), per
 * model and device: built on first use, freed on request. The fixed-point model and the `.hbm` runtime
 * share it.
 * @module
 */
import type { WebGpuDevice } from "./device.ts";
import { type GpuTensor, releaseTensor } from "./gpu_tensor.ts";

/** What a model keeps on one device: at least the buffers it owns. */
export interface ResidentParams {
  /** Buffers uploaded for the model, released together. */
  readonly owned: readonly GpuTensor[];
}

/** The cache {@linkcode residentCache} returns. */
export interface ResidentCache<M extends object, R extends ResidentParams> {
  /** The model's resident parameters on `dev`, prepared on first use. */
  get(model: M, dev: WebGpuDevice): R;
  /** Frees the model's parameters on `dev`; returns whether there were any. */
  release(model: M, dev: WebGpuDevice): boolean;
}

/**
 * A per-model, per-device cache of resident parameters built by `prepare`. Models are held weakly.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu, residentCache, uploadTensor, WebGpuDevice } from "@hqat/tensor";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   let built = 0;
 *   const cache = residentCache((m: { w: Float32Array }, d: WebGpuDevice) => {
 *     built++;
 *     return { owned: [uploadTensor(d, m.w, [m.w.length])] };
 *   });
 *   const model = { w: Float32Array.of(1, 2) };
 *   assert(cache.get(model, dev) === cache.get(model, dev) && built === 1);
 *   assert(cache.release(model, dev) && !cache.release(model, dev));
 *   dev.destroy();
 * }
 * ```
 */
export function residentCache<M extends object, R extends ResidentParams>(
  prepare: (model: M, dev: WebGpuDevice) => R,
): ResidentCache<M, R> {
  const byModel = new WeakMap<M, Map<WebGpuDevice, R>>();
  return {
    get(model, dev) {
      let byDevice = byModel.get(model);
      if (!byDevice) byModel.set(model, byDevice = new Map());
      let r = byDevice.get(dev);
      if (!r) byDevice.set(dev, r = prepare(model, dev));
      return r;
    },
    release(model, dev) {
      const byDevice = byModel.get(model);
      const r = byDevice?.get(dev);
      if (!r) return false;
      for (const t of r.owned) releaseTensor(dev, t);
      byDevice!.delete(dev);
      return true;
    },
  };
}

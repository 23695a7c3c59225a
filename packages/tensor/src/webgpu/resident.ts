/**
 * Device-resident tensors on WebGPU: {@linkcode GpuStorage} holds a tensor's pooled buffer, and
 * {@linkcode webgpuBackend} runs the primitive ops of {@linkcode GPU_KERNELS} on such tensors, so the
 * ordinary tensor functions, autodiff and the models run on the GPU once their operands are there
 * ({@linkcode toDevice}, {@linkcode stateToDevice}). Nothing is read back until a tensor is read.
 * @module
 */
import type { Backend } from "../backend.ts";
import { type DeviceStorage, Tensor, type TensorInfo } from "../tensor.ts";
import type { WebGpuDevice } from "./device.ts";
import { type GpuTensor, readTensor, releaseTensor, uploadTensor } from "./gpu_tensor.ts";
import { GPU_KERNELS } from "./kernels.ts";
import type { TypedArray } from "../dtype.ts";
import type { OpAttrs, OpName } from "../ops.ts";

const backends = new WeakMap<WebGpuDevice, Backend>();

/**
 * The buffer of one tensor on a {@linkcode WebGpuDevice}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { GpuStorage, probeWebGpu, tensor, toDevice, WebGpuDevice } from "@hqat/tensor";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const t = toDevice(tensor([1, 2]), dev);
 *   assert(t.storage instanceof GpuStorage && t.device === "webgpu");
 *   dev.destroy();
 * }
 * ```
 */
export class GpuStorage implements DeviceStorage {
  /** The device kind. */
  readonly device = "webgpu" as const;
  #released = false;

  /** Wraps `gpu`, a tensor buffer owned from now on by this storage. */
  constructor(readonly dev: WebGpuDevice, readonly gpu: GpuTensor) {}

  /** The element type. */
  get dtype(): GpuTensor["dtype"] {
    return this.gpu.dtype;
  }

  /** True once the buffer went back to the pool. */
  get released(): boolean {
    return this.#released;
  }

  /** The backend of this storage's device. */
  get backend(): Backend {
    return webgpuBackend(this.dev);
  }

  /** Reads the data back to the host. */
  read(): Promise<TypedArray> {
    if (this.#released) return Promise.reject(new Error("The tensor's GPU buffer was released"));
    return readTensor(this.dev, this.gpu);
  }

  /** Returns the buffer to the device's pool (idempotent). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    releaseTensor(this.dev, this.gpu);
  }
}

function operand(dev: WebGpuDevice, op: string, t: Tensor, temps: GpuTensor[]): GpuTensor {
  const st = t.storage;
  if (!st) {
    const g = uploadTensor(dev, t.data, t.shape);
    temps.push(g);
    return g;
  }
  if (!(st instanceof GpuStorage) || st.dev !== dev) {
    throw new Error(`${op}(): operands live on different devices; move them with toDevice() or toCpu()`);
  }
  if (st.released) throw new Error(`${op}(): an operand was disposed; its GPU buffer is gone`);
  return st.gpu;
}

/**
 * The backend running primitive ops on `dev` (one per device). CPU operands are copied to the device
 * for the op (scalars, dropout masks); results stay on the device.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { add, probeWebGpu, tensor, toDevice, webgpuBackend, WebGpuDevice } from "@hqat/tensor";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const y = add(toDevice(tensor([1, 2]), dev), 1);
 *   assert(y.device === "webgpu" && webgpuBackend(dev).device === "webgpu");
 *   assert((await y.read()).join() === "2,3");
 *   dev.destroy();
 * }
 * ```
 */
export function webgpuBackend(dev: WebGpuDevice): Backend {
  let b = backends.get(dev);
  if (b) return b;
  b = {
    device: "webgpu",
    run<K extends OpName>(
      op: K,
      inputs: readonly Tensor[],
      attrs: OpAttrs[K],
      outs: readonly TensorInfo[],
    ): GpuStorage[] {
      const temps: GpuTensor[] = [];
      try {
        const ins = inputs.map((t) => operand(dev, op, t, temps));
        const kernel = GPU_KERNELS[op] as (
          d: WebGpuDevice,
          i: readonly GpuTensor[],
          a: OpAttrs[K],
          o: readonly TensorInfo[],
        ) => GpuTensor[];
        return kernel(dev, ins, attrs, outs).map((g) => new GpuStorage(dev, g));
      } finally {
        for (const g of temps) releaseTensor(dev, g);
      }
    },
  };
  backends.set(dev, b);
  return b;
}

/**
 * A copy of `t` on `dev` (`t` itself if it is already there).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu, tensor, toDevice, WebGpuDevice } from "@hqat/tensor";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   assert((await toDevice(tensor([3]), dev).read())[0] === 3);
 *   dev.destroy();
 * }
 * ```
 */
export function toDevice(t: Tensor, dev: WebGpuDevice): Tensor {
  const st = t.storage;
  if (st instanceof GpuStorage && st.dev === dev) return t;
  if (st) throw new Error("toDevice(): the tensor lives on another device; toCpu() it first");
  return new Tensor(new GpuStorage(dev, uploadTensor(dev, t.data, t.shape)), t.shape);
}

/**
 * Copies the tensors of a state dict to `dev`, except those `keepOnCpu` names (by default integer
 * scalars such as batch norm's `num_batches_tracked`, which the host updates).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu, stateToDevice, tensor, WebGpuDevice } from "@hqat/tensor";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const s = stateToDevice({ w: tensor([1]), n: tensor([0], { dtype: "int32", shape: [] }) }, dev);
 *   assert(s.w.device === "webgpu" && s.n.device === "cpu");
 *   dev.destroy();
 * }
 * ```
 */
export function stateToDevice<S extends Readonly<Record<string, Tensor>>>(
  state: S,
  dev: WebGpuDevice,
  keepOnCpu: (name: string, t: Tensor) => boolean = (_n, t) => t.dtype !== "float32" && t.size === 1,
): { [K in keyof S]: Tensor } {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(state)) out[k] = keepOnCpu(k, t) ? t : toDevice(t, dev);
  return out as { [K in keyof S]: Tensor };
}

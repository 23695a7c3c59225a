/**
 * The backend contract: a backend runs primitive ops on its device. The CPU backend is the reference;
 * others must agree with it (floats within 1e-4 relative, integers bit for bit).
 * @module
 */
import type { TypedArray } from "./dtype.ts";
import type { OpAttrs, OpName } from "./ops.ts";
import type { Device, DeviceStorage, Tensor, TensorInfo } from "./tensor.ts";

/** A device's implementation of the primitive ops. */
export interface Backend {
  /** The device it runs on. */
  readonly device: Device;
  /**
   * Runs `op` on `inputs`, returning one array (CPU) or device buffer per output described by `outs`.
   * A device backend accepts CPU inputs too (it copies them to the device).
   */
  run<K extends OpName>(
    op: K,
    inputs: readonly Tensor[],
    attrs: OpAttrs[K],
    outs: readonly TensorInfo[],
  ): readonly (TypedArray | DeviceStorage)[];
}

/**
 * Data movement of the integer program on GPU-resident tensors: one gather by a resident index map,
 * frame by frame — `@hqat/qtensor`'s `gatherFrames`, used for transpose, slice, padding, nearest resize
 * and constants (every frame reading one shared frame).
 * @module
 */
import type { DType } from "../dtype.ts";
import type { Shape } from "../shape.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import type { GpuTensor } from "./gpu_tensor.ts";

/** Options of {@linkcode gatherResident}. */
export interface GatherResidentOptions {
  /** Per output element of a frame, the input element it copies within its frame, or −1 for `fill` (int32). */
  readonly index: GpuTensor;
  /** Input elements per frame (0: every frame reads the same elements). */
  readonly inFrame: number;
  /** The output shape (dimension 0: the frames). */
  readonly shape: Shape;
  /** The output dtype (an integer dtype; the input's values must fit it). */
  readonly out: DType;
  /** The value of −1 cells. */
  readonly fill?: number;
}

/**
 * Output element `j` of frame `f` is `x[f · inFrame + index[j]]`, or `fill` where `index[j]` is −1.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { gatherResident } from "./int_gather_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(1, 2, 3, 4), [2, 2]), index = uploadTensor(dev, Int32Array.of(1, -1, 0), [3]);
 *   const y = gatherResident(dev, x, { index, inFrame: 2, shape: [2, 3], out: "int8", fill: 9 });
 *   assert((await readTensor(dev, y)).join() === "2,9,1,4,9,3");
 *   dev.destroy();
 * }
 * ```
 */
export function gatherResident(dev: WebGpuDevice, x: GpuTensor, o: GatherResidentOptions): GpuTensor {
  if (o.index.dtype !== "int32") {
    throw new TypeError(`gatherResident(): the index must be int32, not ${o.index.dtype}`);
  }
  const ints = ["int8", "int16", "int32"];
  if (!ints.includes(x.dtype) || !ints.includes(o.out)) {
    throw new TypeError(`gatherResident(): moves integers, not ${x.dtype} to ${o.out}`);
  }
  const frame = o.index.shape.reduce((a, b) => a * b, 1);
  return runElem(
    dev,
    {
      name: "int_gather",
      inputs: [{ name: "x", dtype: x.dtype }, { name: "ix", dtype: "int32" }],
      out: o.out,
      uniforms: [{ name: "frame", type: "u32" }, { name: "inframe", type: "u32" }, {
        name: "fill",
        type: "i32",
      }],
      elem: `  let f = i / u_frame(); let s = ld_ix(i % u_frame());
  if (s < 0) { return u_fill(); }
  return ld_x(f * u_inframe() + u32(s));`,
    },
    [x, o.index],
    o.shape,
    { frame: Math.max(1, frame), inframe: o.inFrame, fill: o.fill ?? 0 },
  );
}

/**
 * Spatial resizing of NCHW tensors with ONNX Resize's rules (opsets 11–19): nearest neighbour or
 * bilinear, the four coordinate transformations PyTorch and ONNX use, and the four nearest roundings.
 * @module
 */
import { apply1 } from "./engine.ts";
import type { CoordinateTransformation, NearestMode } from "./ops.ts";
import type { Tensor } from "./tensor.ts";

/** Options of {@linkcode resize}. */
export interface ResizeOptions {
  /** Output size [oh, ow]. */
  size: readonly [number, number];
  /** Nearest neighbour or bilinear interpolation. */
  mode: "nearest" | "linear";
  /**
   * How output coordinate o maps to an input coordinate, with scale = output / input length:
   * `half_pixel` (o + ½) / scale − ½; `pytorch_half_pixel` the same, but 0 for an output of length 1;
   * `align_corners` o · (in − 1) / (out − 1); `asymmetric` o / scale.
   */
  coordinateTransformation: CoordinateTransformation;
  /** How nearest mode rounds the input coordinate (default `round_prefer_floor`, ONNX's default). */
  nearestMode?: NearestMode;
  /**
   * ONNX Resize's `scales` for the two spatial axes, when the model gives scales rather than sizes: the
   * coordinate mapping then divides by them instead of by output / input length (the output size is
   * still `size`, normally floor(input · scale)).
   */
  scales?: readonly [number, number];
}

/**
 * Resizes the last two axes of `x` [N, C, H, W] to `size`, exactly as ONNX Resize does for the given
 * mode, coordinate transformation and nearest rounding (coordinates outside the input clamp to its edge).
 * PyTorch's `F.interpolate(mode="nearest")` is `nearest` + `asymmetric` + `floor`; `mode="bilinear"` is
 * `linear` + `align_corners` or `half_pixel`; `mode="nearest-exact"` is `nearest` + `half_pixel` +
 * `round_prefer_ceil`. Differentiable in `x` (linear mode needs float32).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { reshape, resize, tensor } from "@hqat/tensor";
 * const x = reshape(tensor([1, 2, 3, 4]), [1, 1, 2, 2]);
 * const near = resize(x, { size: [4, 4], mode: "nearest", coordinateTransformation: "asymmetric", nearestMode: "floor" });
 * assertEquals(Array.from(near.data.slice(0, 4)), [1, 1, 2, 2]);
 * const lin = resize(x, { size: [1, 3], mode: "linear", coordinateTransformation: "align_corners" });
 * assertEquals(Array.from(lin.data), [1, 1.5, 2]);
 * ```
 */
export function resize(x: Tensor, options: ResizeOptions): Tensor {
  const attrs = {
    size: [options.size[0], options.size[1]] as const,
    mode: options.mode,
    coordinateTransformation: options.coordinateTransformation,
    nearestMode: options.nearestMode ?? "round_prefer_floor",
    scales: options.scales ? [options.scales[0], options.scales[1]] as const : null,
  };
  // Every coordinate transformation maps an output of the input's size onto the input itself.
  if (
    attrs.scales === null && x.rank === 4 && attrs.size[0] === x.shape[2] && attrs.size[1] === x.shape[3] &&
    (attrs.mode === "nearest" || x.dtype === "float32")
  ) {
    return x;
  }
  return apply1("resize", [x], attrs);
}

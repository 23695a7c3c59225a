/**
 * The geometry of a (strided) slice: the output shape of the `slice` primitive's normalized attributes,
 * with the checks that they are in range.
 * @module
 */
import type { OpAttrs } from "./ops.ts";
import type { Shape } from "./shape.ts";

/**
 * The output shape of `slice` with normalized attributes: per axis, the indices `starts[i] + k · steps[i]`
 * before `ends[i]`, with 0 ≤ start ≤ end ≤ size for a positive step and −1 ≤ end ≤ start < size for a
 * negative one; a `RangeError` names the axis otherwise.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { sliceShape } from "./slice_geometry.ts";
 * assertEquals(sliceShape([7, 5], { starts: [6, 0], ends: [-1, 5], steps: [-2, 1] }), [4, 5]);
 * assertThrows(() => sliceShape([3], { starts: [0], ends: [4] }), RangeError, "out of range for axis 0");
 * ```
 */
export function sliceShape(s: Shape, a: OpAttrs["slice"]): number[] {
  if (a.starts.length !== s.length || a.ends.length !== s.length) {
    throw new RangeError(`slice(): starts/ends need ${s.length} entries`);
  }
  if (a.steps && a.steps.length !== s.length) throw new RangeError(`slice(): steps need ${s.length} entries`);
  return s.map((d, i) => {
    const [b, e, step] = [a.starts[i], a.ends[i], a.steps?.[i] ?? 1];
    if (!Number.isInteger(step) || step === 0) {
      throw new RangeError(`slice(): step ${step} of axis ${i} must be a non-zero integer`);
    }
    const ok = [b, e].every(Number.isInteger) &&
      (step > 0 ? 0 <= b && b <= e && e <= d : -1 <= e && e <= b && b < d);
    if (!ok) {
      throw new RangeError(
        `slice(): [${b}, ${e}) with step ${step} is out of range for axis ${i} of size ${d}`,
      );
    }
    return Math.max(0, Math.ceil((e - b) / step));
  });
}

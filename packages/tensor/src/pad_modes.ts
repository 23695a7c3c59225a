/**
 * Padding with ONNX Pad's modes: constant (the `pad` primitive), edge (replicate) and reflect, the last
 * two composed from slices, broadcasts and concatenation, so that they run and differentiate on every
 * backend (the gradient of a replicated or reflected cell flows back to the cell it copies).
 * @module
 */
import { broadcastTo, concat, pad, slice } from "./shape_ops.ts";
import type { Tensor } from "./tensor.ts";

/** The padding modes of {@linkcode padMode}. */
export type PadMode = "constant" | "edge" | "reflect";

/** Options of {@linkcode padMode}. */
export interface PadModeOptions {
  /** `constant` (default), `edge` (repeat the border cell) or `reflect` (mirror without the border). */
  mode?: PadMode;
  /** The constant of `constant` mode (default 0). */
  value?: number;
}

const fmt = (p: readonly (readonly [number, number])[]) => `[${p.map((q) => `[${q.join(",")}]`).join(",")}]`;

/** Pads axis `axis` of `x` by `before` and `after` cells (both ≥ 0) in `mode`. */
function padAxis(x: Tensor, axis: number, before: number, after: number, mode: "edge" | "reflect"): Tensor {
  const d = x.shape[axis];
  // `e` −1 means "through index 0" (a negative step's open end), not the last index.
  const at = (b: number, e: number, step = 1) => {
    const begin = x.shape.map(() => 0), end: (number | undefined)[] = [...x.shape];
    const steps = x.shape.map(() => 1);
    begin[axis] = b;
    end[axis] = e < 0 ? undefined : e;
    steps[axis] = step;
    return slice(x, begin, end, { steps });
  };
  const widen = (t: Tensor, n: number) => broadcastTo(t, t.shape.map((s, i) => (i === axis ? n : s)));
  const parts: Tensor[] = [];
  if (mode === "edge") {
    if (before > 0) parts.push(widen(at(0, 1), before));
    parts.push(x);
    if (after > 0) parts.push(widen(at(d - 1, d), after));
  } else {
    // Mirror images without the border cell: cells before..1, then d-2..d-1-after.
    if (before > 0) parts.push(at(before, 0, -1));
    parts.push(x);
    if (after > 0) parts.push(at(d - 2, d - 2 - after, -1));
  }
  return parts.length === 1 ? x : concat(parts, axis);
}

/**
 * Pads `x` by `pads[i] = [before, after]` cells on each axis (ONNX Pad): `constant` fills `value`, `edge`
 * repeats the border cell, `reflect` mirrors the cells next to the border (like NumPy's `reflect` and
 * PyTorch's `ReflectionPad`, so each pad must be below the axis length). Negative pads crop, as in ONNX.
 * Differentiable in `x`; `pad` is the constant mode.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { padMode, tensor } from "@hqat/tensor";
 * const x = tensor([1, 2, 3]);
 * assertEquals(Array.from(padMode(x, [[2, 1]], { mode: "edge" }).data), [1, 1, 1, 2, 3, 3]);
 * assertEquals(Array.from(padMode(x, [[2, 1]], { mode: "reflect" }).data), [3, 2, 1, 2, 3, 2]);
 * assertEquals(Array.from(padMode(x, [[1, -1]], { value: 9 }).data), [9, 1, 2]);
 * ```
 */
export function padMode(
  x: Tensor,
  pads: readonly (readonly [number, number])[],
  options: PadModeOptions = {},
): Tensor {
  const mode = options.mode ?? "constant";
  if (mode !== "constant" && mode !== "edge" && mode !== "reflect") {
    throw new RangeError(`padMode(): unknown mode "${mode}"`);
  }
  if (pads.length !== x.rank || pads.some((p) => !p.every(Number.isInteger))) {
    throw new RangeError(
      `padMode(): pads ${fmt(pads)} need one [before, after] integer pair per axis of ${x.rank}`,
    );
  }
  // Negative pads crop first.
  if (pads.some((p, i) => Math.max(0, -p[0]) + Math.max(0, -p[1]) > x.shape[i])) {
    throw new RangeError(`padMode(): pads ${fmt(pads)} crop more than the input [${x.shape.join(",")}]`);
  }
  const cropped = slice(
    x,
    pads.map((p) => Math.max(0, -p[0])),
    pads.map((p, i) => x.shape[i] - Math.max(0, -p[1])),
  );
  const grow = pads.map((p) => [Math.max(0, p[0]), Math.max(0, p[1])] as [number, number]);
  if (mode === "constant") return pad(cropped, grow, options.value ?? 0);
  let y = cropped;
  grow.forEach(([before, after], axis) => {
    if (before === 0 && after === 0) return;
    const d = y.shape[axis];
    if (mode === "edge" && d === 0) {
      throw new RangeError(`padMode(): edge padding needs a non-empty axis ${axis}`);
    }
    if (mode === "reflect" && (before >= d || after >= d)) {
      throw new RangeError(
        `padMode(): reflect pads [${before},${after}] of axis ${axis} must be below its length ${d}`,
      );
    }
    y = padAxis(y, axis, before, after, mode);
  });
  return y;
}

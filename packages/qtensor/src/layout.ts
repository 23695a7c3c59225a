/**
 * The per-channel layout of a row-major array: `outer × channels × inner` around one axis.
 * @module
 */

import { normalizeAxis, shapeSize } from "./dtypes.ts";

/** How a row-major array splits around a channel axis: element `(o, c, i)` is at `(o·channels + c)·inner + i`. */
export interface ChannelLayout {
  /** Product of the dimensions before the axis. */
  readonly outer: number;
  /** Size of the axis. */
  readonly channels: number;
  /** Product of the dimensions after the axis. */
  readonly inner: number;
  /** The normalized (non-negative) axis. */
  readonly axis: number;
}

/**
 * The layout of `shape` around `axis` for `scaleCount` per-channel values; checks that the shape holds
 * `length` elements and that `shape[axis] === scaleCount`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { channelLayout } from "@hqat/qtensor";
 * const l = channelLayout([2, 3, 4], { axis: 1, scaleCount: 3, length: 24 });
 * assert(l.outer === 2 && l.channels === 3 && l.inner === 4);
 * ```
 */
export function channelLayout(
  shape: readonly number[],
  options: { readonly axis: number; readonly scaleCount: number; readonly length: number },
): ChannelLayout {
  const size = shapeSize(shape);
  if (size !== options.length) {
    throw new RangeError(
      `Shape [${shape.join(", ")}] has ${size} elements but the data has ${options.length}`,
    );
  }
  const axis = normalizeAxis(options.axis, shape.length);
  const channels = shape[axis];
  if (channels !== options.scaleCount) {
    throw new RangeError(
      `${options.scaleCount} per-channel values do not match dimension ${axis} (${channels}) of shape [${
        shape.join(", ")
      }]`,
    );
  }
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, channels, inner, axis };
}

/** Options that select per-channel values along an axis of a shaped array. */
export interface PerChannelOptions {
  /** Channel axis (negative counts from the end); needed with more than one per-channel value. */
  readonly axis?: number;
  /** Shape of the array; needed with more than one per-channel value. */
  readonly shape?: readonly number[];
}

/**
 * The layout for `count` per-channel values over an array of `length` elements: a single value is per
 * tensor (`outer = 1, channels = 1, inner = length`); more need `axis` and `shape`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { resolveLayout } from "@hqat/qtensor";
 * assert(resolveLayout(1, 10, {}).inner === 10);
 * assert(resolveLayout(2, 6, { axis: 0, shape: [2, 3] }).inner === 3);
 * ```
 */
export function resolveLayout(count: number, length: number, options: PerChannelOptions): ChannelLayout {
  if (count === 1) return { outer: 1, channels: 1, inner: length, axis: -1 };
  if (options.axis === undefined || options.shape === undefined) {
    throw new TypeError(`${count} per-channel values need both an axis and a shape`);
  }
  return channelLayout(options.shape, { axis: options.axis, scaleCount: count, length });
}

/**
 * The O3 tiling search: for each convolution, the number of output rows per tile that keeps the
 * tile's working set (input rows with their halo, the int32 accumulator tile, the output tile and
 * the weights) inside the feature memory and moves the fewest bytes through DDR.
 * @module
 */

import { type BufferDtype, bufferDtypeBytes } from "@hqat/program";

/**
 * What the search needs to know of one convolution: input `[N, C, H, W]` and its dtype, output
 * `[N, O, OH, OW]` and its dtype, kernel, stride, dilation and padding, and the bytes of weights
 * and per-channel parameters.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { ConvGeometry } from "@hqat/hbdk";
 * const g: ConvGeometry = {
 *   input: [1, 8, 64, 64], inputDtype: "qint8", output: [1, 8, 64, 64], outputDtype: "qint8",
 *   kernel: [3, 3], stride: [1, 1], dilation: [1, 1], padding: [1, 1], weightBytes: 640,
 * };
 * assert(g.kernel[0] === 3);
 * ```
 */
export interface ConvGeometry {
  /** The input shape `[N, C, H, W]`. */
  readonly input: readonly number[];
  /** The input dtype. */
  readonly inputDtype: BufferDtype;
  /** The output shape `[N, O, OH, OW]`. */
  readonly output: readonly number[];
  /** The output dtype. */
  readonly outputDtype: BufferDtype;
  /** The kernel size `[kh, kw]`. */
  readonly kernel: readonly [number, number];
  /** The stride `[sh, sw]`. */
  readonly stride: readonly [number, number];
  /** The dilation `[dh, dw]`. */
  readonly dilation: readonly [number, number];
  /** The padding `[ph, pw]`. */
  readonly padding: readonly [number, number];
  /** The bytes of weights and per-channel parameters. */
  readonly weightBytes: number;
}

/**
 * The chosen tiling: output rows per tile, the number of tiles, the working set of one tile and
 * the DDR bytes the layer moves (0 when the whole layer fits: nothing leaves the chip).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { TilePlan } from "@hqat/hbdk";
 * const t: TilePlan = { tileRows: 8, tiles: 4, workingSetBytes: 1000, ddrBytes: 5000 };
 * assert(t.tiles === 4);
 * ```
 */
export interface TilePlan {
  /** Output rows per tile. */
  readonly tileRows: number;
  /** The number of tiles. */
  readonly tiles: number;
  /** The working set of one tile in bytes. */
  readonly workingSetBytes: number;
  /** The bytes the layer moves through DDR (0 when the whole layer fits). */
  readonly ddrBytes: number;
}

/**
 * Rows of the image inside the input window of output rows `[from, to)`: the rows a tile loads.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { inputRows } from "@hqat/hbdk";
 * const g = {
 *   input: [1, 1, 8, 8], inputDtype: "qint8", output: [1, 1, 8, 8], outputDtype: "qint8",
 *   kernel: [3, 3], stride: [1, 1], dilation: [1, 1], padding: [1, 1], weightBytes: 9,
 * } as const;
 * assert(inputRows(g, { from: 0, to: 2 }) === 3 && inputRows(g, { from: 2, to: 4 }) === 4);
 * ```
 */
export function inputRows(g: ConvGeometry, rows: { readonly from: number; readonly to: number }): number {
  const { from: r0, to: r1 } = rows;
  const h = g.input[2];
  const lo = Math.max(0, r0 * g.stride[0] - g.padding[0]);
  const hi = Math.min(h, (r1 - 1) * g.stride[0] - g.padding[0] + (g.kernel[0] - 1) * g.dilation[0] + 1);
  return Math.max(0, hi - lo);
}

/**
 * Searches the rows per tile of one convolution against `sramBytes` of feature memory: every
 * tile height from 1 to OH is a candidate; it is feasible when its largest tile's working set
 * fits; its cost is 0 for a single tile (the layer stays on chip) and otherwise the input rows
 * each tile loads (halos loaded again) plus the stored output. The feasible candidate of least
 * cost wins, the taller one on a tie; when none is feasible, one row per tile.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { searchTiles } from "@hqat/hbdk";
 * const g = {
 *   input: [1, 8, 256, 256], inputDtype: "qint8", output: [1, 8, 256, 256], outputDtype: "qint8",
 *   kernel: [3, 3], stride: [1, 1], dilation: [1, 1], padding: [1, 1], weightBytes: 640,
 * } as const;
 * const whole = searchTiles(g, { sramBytes: 1 << 24 });
 * const tiled = searchTiles(g, { sramBytes: 1 << 20 });
 * assert(whole.tiles === 1 && whole.ddrBytes === 0);
 * assert(tiled.tiles > 1 && tiled.workingSetBytes <= 1 << 20);
 * ```
 */
export function searchTiles(g: ConvGeometry, options: { readonly sramBytes: number }): TilePlan {
  const [n, c, , w] = g.input;
  const [, o, oh, ow] = g.output;
  const ib = bufferDtypeBytes(g.inputDtype), ob = bufferDtypeBytes(g.outputDtype);
  const workingSet = (rows: number) =>
    n * c * inputRows(g, { from: 0, to: rows }) * w * ib + n * o * rows * ow * (4 + ob) + g.weightBytes;
  const outputBytes = n * o * oh * ow * ob;
  let best: TilePlan | undefined;
  for (let rows = oh; rows >= 1; rows--) {
    const tiles = Math.ceil(oh / rows);
    let ws = 0, loads = 0;
    for (let t = 0; t < tiles; t++) {
      const r0 = t * rows, r1 = Math.min(oh, r0 + rows);
      ws = Math.max(ws, workingSet(r1 - r0));
      loads += n * c * inputRows(g, { from: r0, to: r1 }) * w * ib;
    }
    if (ws > options.sramBytes) continue;
    const cost = tiles === 1 ? 0 : loads + outputBytes;
    if (best === undefined || cost < best.ddrBytes) {
      best = { tileRows: rows, tiles, workingSetBytes: ws, ddrBytes: cost };
    }
  }
  if (best !== undefined) return best;
  let loads = 0;
  for (let r = 0; r < oh; r++) loads += n * c * inputRows(g, { from: r, to: r + 1 }) * w * ib;
  return { tileRows: 1, tiles: oh, workingSetBytes: workingSet(1), ddrBytes: loads + outputBytes };
}

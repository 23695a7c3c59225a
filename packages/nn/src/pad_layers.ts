/**
 * Padding layers with PyTorch's names (`ConstantPad2d`, `ReplicationPad2d`, `ReflectionPad2d`): the last
 * two axes grow (or, with negative amounts, shrink) by `(left, right, top, bottom)`. Tracing records each
 * as one `pad` node, so that quantization keeps it on its input's integer grid.
 * @module
 */
import { type PadMode, padMode, type Tensor } from "@hqat/tensor";
import { Module, type Scope } from "./module.ts";

/** Padding amounts `[left, right, top, bottom]` (negative crops). */
export type Padding4 = readonly [number, number, number, number];

/**
 * A padding layer of the last two axes of an [N, C, H, W] input.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { PadLayer, ReplicationPad2d } from "@hqat/nn";
 * const p: PadLayer = new ReplicationPad2d([1, 0, 1, 0]);
 * assert(p.mode === "edge" && p.pads[2].join() === "1,0");
 * ```
 */
export abstract class PadLayer extends Module {
  /** How new cells are filled. */
  abstract readonly mode: PadMode;
  /** The constant of `constant` mode. */
  readonly value: number = 0;
  /** `[before, after]` per axis of [N, C, H, W]. */
  readonly pads: readonly (readonly [number, number])[];

  /** Creates the layer. */
  constructor(padding: number | Padding4) {
    super();
    const [l, r, t, b] = typeof padding === "number" ? [padding, padding, padding, padding] : padding;
    if (![l, r, t, b].every(Number.isInteger)) {
      throw new RangeError(`${this.constructor.name}: padding [${[l, r, t, b]}] must be integers`);
    }
    this.pads = [[0, 0], [0, 0], [t, b], [l, r]];
  }

  /** PyTorch's `extra_repr`. */
  override extraRepr(): string {
    return `(${this.pads[3][0]}, ${this.pads[3][1]}, ${this.pads[2][0]}, ${this.pads[2][1]})`;
  }

  /** Pads `x`. */
  forward(_s: Scope, x: Tensor): Tensor {
    if (x.rank !== 4) throw new RangeError(`${this.typeName}: needs an [N, C, H, W] input, got [${x.shape}]`);
    return padMode(x, this.pads, { mode: this.mode, value: this.value });
  }
}

/**
 * Pads with a constant (PyTorch's `nn.ConstantPad2d`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ConstantPad2d, forward } from "@hqat/nn";
 * import { ones } from "@hqat/tensor";
 * assert(forward(new ConstantPad2d([0, -1, 0, -1], 0), {}, ones([1, 1, 4, 4])).y.shape.join() === "1,1,3,3");
 * ```
 */
export class ConstantPad2d extends PadLayer {
  /** The PyTorch class name. */
  readonly typeName = "ConstantPad2d";
  /** Constant mode. */
  readonly mode = "constant";
  /** The fill. */
  override readonly value: number;
  /** Creates the layer. */
  constructor(padding: number | Padding4, value: number) {
    super(padding);
    this.value = value;
  }
}

/**
 * Pads by repeating the border cells (PyTorch's `nn.ReplicationPad2d`, ONNX Pad's `edge`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { forward, ReplicationPad2d } from "@hqat/nn";
 * import { tensor, reshape } from "@hqat/tensor";
 * const y = forward(new ReplicationPad2d([1, 0, 0, 0]), {}, reshape(tensor([1, 2]), [1, 1, 1, 2])).y;
 * assert(y.toArray().join() === "1,1,2");
 * ```
 */
export class ReplicationPad2d extends PadLayer {
  /** The PyTorch class name. */
  readonly typeName = "ReplicationPad2d";
  /** Edge mode. */
  readonly mode = "edge";
}

/**
 * Pads by mirroring without the border cells (PyTorch's `nn.ReflectionPad2d`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { forward, ReflectionPad2d } from "@hqat/nn";
 * import { tensor, reshape } from "@hqat/tensor";
 * const y = forward(new ReflectionPad2d([1, 0, 0, 0]), {}, reshape(tensor([1, 2]), [1, 1, 1, 2])).y;
 * assert(y.toArray().join() === "2,1,2");
 * ```
 */
export class ReflectionPad2d extends PadLayer {
  /** The PyTorch class name. */
  readonly typeName = "ReflectionPad2d";
  /** Reflect mode. */
  readonly mode = "reflect";
}

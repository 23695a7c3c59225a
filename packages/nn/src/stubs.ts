/**
 * QuantStub and DeQuantStub: the model's quantization boundaries. In a float model both pass values
 * through; QuantStub carries an optional fixed scale (1/128 for pyramid input) that calibration and
 * QAT keep.
 * @module
 */
import type { Tensor } from "@hqat/tensor";
import { Module, type Scope } from "./module.ts";

/**
 * Marks where the network's input gets quantized. `scale` fixes the input scale (it never moves).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { QuantStub } from "@hqat/nn";
 * assert(new QuantStub({ scale: 1 / 128 }).scale === 0.0078125);
 * ```
 */
export class QuantStub extends Module {
  /** The PyTorch class name. */
  readonly typeName = "QuantStub";
  /** The fixed scale, if any. */
  readonly scale?: number;
  /** Creates a stub, optionally with a fixed scale. */
  constructor(options: { scale?: number } = {}) {
    super();
    if (options.scale !== undefined && !(options.scale > 0 && Number.isFinite(options.scale))) {
      throw new RangeError(`QuantStub: scale must be a positive finite number, got ${options.scale}`);
    }
    this.scale = options.scale;
  }
  /** PyTorch-style `extra_repr`: the fixed scale, if any. */
  override extraRepr(): string {
    return this.scale === undefined ? "" : `scale=${this.scale}`;
  }
  /** Returns `x` unchanged (float model). */
  forward(_s: Scope, x: Tensor): Tensor {
    return x;
  }
}

/**
 * Marks where the network's output gets dequantized.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { DeQuantStub } from "@hqat/nn";
 * assert(new DeQuantStub().typeName === "DeQuantStub");
 * ```
 */
export class DeQuantStub extends Module {
  /** The PyTorch class name. */
  readonly typeName = "DeQuantStub";
  /** Returns `x` unchanged (float model). */
  forward(_s: Scope, x: Tensor): Tensor {
    return x;
  }
}

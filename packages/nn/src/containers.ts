/**
 * Containers: {@linkcode Sequential}.
 * @module
 */
import type { Tensor } from "@hqat/tensor";
import { fuseConvBnEval } from "./eval_fusion.ts";
import { Module, type Scope } from "./module.ts";

/**
 * Runs its children in order; children are named "0", "1", … like PyTorch's `nn.Sequential`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Linear, ReLU, Sequential } from "@hqat/nn";
 * const s = new Sequential(new Linear(4, 4), new ReLU());
 * assert(s.length === 2 && s.at(1).typeName === "ReLU");
 * ```
 */
export class Sequential extends Module {
  /** The PyTorch class name. */
  readonly typeName: string = "Sequential";
  readonly #layers: Module[];

  /** Creates a sequence of modules. */
  constructor(...layers: Module[]) {
    super();
    this.#layers = layers.map((m, i) => this.register(String(i), m));
  }

  /** The number of children. */
  get length(): number {
    return this.#layers.length;
  }

  /** The child at `index`. */
  at(index: number): Module {
    const m = this.#layers[index < 0 ? index + this.#layers.length : index];
    if (!m) throw new RangeError(`Sequential has no child ${index}`);
    return m;
  }

  /**
   * Runs the children in order, each on the previous one's output; in evaluation mode a convolution, its
   * batch norm and a ReLU6 run as one op (`eval_fusion.ts`).
   */
  forward(s: Scope, x: Tensor): Tensor {
    let y = x;
    for (let i = 0; i < this.#layers.length; i++) {
      const fused = fuseConvBnEval(this.#layers, i, s, y);
      if (fused) {
        y = fused.y;
        i += fused.count - 1;
      } else {
        y = s.call(String(i), this.#layers[i], y);
      }
    }
    return y;
  }
}

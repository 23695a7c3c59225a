/**
 * Containers: {@linkcode Sequential}.
 * @module
 */
import { recycle, type Tensor } from "@hqat/tensor";
import { fuseConvBnEval, type FusedRun } from "./eval_fusion.ts";
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
   * Runs the children in order, each on the previous one's output. In evaluation mode a convolution, its batch
   * norm and a ReLU6 — here, or as the whole of a child Sequential — run as one op (`eval_fusion.ts`), and
   * a fused result that only this loop has seen goes back to the kernels once the next fused op has read it.
   */
  forward(s: Scope, x: Tensor): Tensor {
    let y = x;
    let ours = false; // y is a fused op's result that nothing but this loop has seen
    for (let i = 0; i < this.#layers.length; i++) {
      const fused = fuseConvBnEval(this.#layers, i, s, y) ?? this.#fusedChild(i, s, y);
      if (fused) {
        if (ours) recycle(y);
        y = fused.y;
        ours = true;
        i += fused.count - 1;
      } else {
        y = s.call(String(i), this.#layers[i], y);
        ours = false;
      }
    }
    return y;
  }

  /** Child `i` run as one fused op when it is a plain Sequential that fuses whole; else undefined. */
  #fusedChild(i: number, s: Scope, x: Tensor): FusedRun | undefined {
    const m = this.#layers[i];
    if (!(m instanceof Sequential) || m.forward !== Sequential.prototype.forward) return undefined;
    const f = fuseConvBnEval(m.#layers, 0, s.child(String(i)), x);
    return f && f.count === m.#layers.length ? { y: f.y, count: 1 } : undefined;
  }
}

/**
 * Containers: {@linkcode Sequential}.
 * @module
 */
import { recycle, type Tensor } from "@hqat/tensor";
import { fuseConvBnEval, type FusedLayer, type FusedSpec, runFused } from "./eval_fusion.ts";
import { BatchNorm2d, ReLU6 } from "./layers.ts";
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
   * norm and a ReLU6 — here, or as the whole of a child Sequential — run as one op, consecutive ones as one
   * chain (`eval_fusion.ts`), and a fused result that only this loop has seen goes back to the kernels once
   * the next fused op has read it.
   */
  forward(s: Scope, x: Tensor): Tensor {
    let y = x;
    let ours = false; // y is a fused op's result that nothing but this loop has seen
    for (let i = 0; i < this.#layers.length;) {
      const run: FusedLayer[] = [];
      let j = i;
      for (let f = this.#fused(j, s); f; f = this.#fused(j, s)) {
        run.push(f.layer);
        j += f.count;
      }
      if (run.length > 0) {
        const out = runFused(y, run);
        if (ours) recycle(y);
        y = out;
        ours = true;
        i = j;
      } else if (this.#bnRelu6(i, s)) {
        // Training: a batch norm and the ReLU6 after it in one pass (the same values and gradients).
        y = (this.#layers[i] as BatchNorm2d).forwardClamped(s.child(String(i)), y, 6);
        ours = false;
        i += 2;
      } else {
        y = s.call(String(i), this.#layers[i], y);
        ours = false;
        i++;
      }
    }
    return y;
  }

  /**
   * The fused layers that stand for all of this Sequential's children, run in its scope `s` (evaluation
   * mode, no interceptor, every child fusing); undefined otherwise. A caller that adds something to the
   * result (an inverted residual block's skip connection) runs them as one chain with it.
   */
  fusedLayers(s: Scope): FusedLayer[] | undefined {
    if (this.forward !== Sequential.prototype.forward) return undefined;
    const run: FusedLayer[] = [];
    let j = 0;
    for (let f = this.#fused(j, s); f; f = this.#fused(j, s)) {
      run.push(f.layer);
      j += f.count;
    }
    return run.length > 0 && j === this.#layers.length ? run : undefined;
  }

  /** Whether children i and i + 1 are a BatchNorm2d and a ReLU6 to run as one op in training. */
  #bnRelu6(i: number, s: Scope): boolean {
    const bn = this.#layers[i], act = this.#layers[i + 1];
    return s.ctx.training && !s.ctx.intercept && bn instanceof BatchNorm2d &&
      bn.constructor === BatchNorm2d &&
      act instanceof ReLU6 && act.constructor === ReLU6;
  }

  /** The fused layer at child `i`: a convolution's run here, or a child that is a plain Sequential fusing whole. */
  #fused(i: number, s: Scope): FusedSpec | undefined {
    const direct = fuseConvBnEval(this.#layers, i, s);
    if (direct) return direct;
    const m = this.#layers[i];
    if (!(m instanceof Sequential) || m.forward !== Sequential.prototype.forward) return undefined;
    const f = fuseConvBnEval(m.#layers, 0, s.child(String(i)));
    return f && f.count === m.#layers.length ? { layer: f.layer, count: 1 } : undefined;
  }
}

/**
 * Containers: {@linkcode Sequential}.
 * @module
 */
import { recycle, type Tensor } from "@hqat/tensor";
import { appendFused, fuseConvBnEval, type FusedLayer, runFused } from "./eval_fusion.ts";
import { BatchNorm2d, ReLU6 } from "./layers.ts";
import { Module, type Scope } from "./module.ts";

/**
 * A module whose evaluation-mode forward is a chain of fused layers (skip connections as `residualFrom`): a
 * `Sequential` holding it runs them in the chain of the fused layers around it (its result never leaving the
 * kernels' memory).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { InvertedResidual, type ChainFusable } from "@hqat/nn";
 * const block: ChainFusable = new InvertedResidual(16, 24, 2, 6);
 * assert(typeof block.fusedChain === "function");
 * ```
 */
export interface ChainFusable {
  /**
   * The fused layers its forward runs in scope `s` (evaluation mode, no interceptor), the same values as
   * its forward; undefined where it does not fuse so. (Evaluation-fusion plumbing, not documented API.)
   * @ignore
   */
  fusedChain(s: Scope): FusedLayer[] | undefined;
}

function isChainFusable(m: Module | undefined): m is Module & ChainFusable {
  return typeof (m as Partial<ChainFusable> | undefined)?.fusedChain === "function";
}

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
        appendFused(run, f.layers);
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
   * (Evaluation-fusion plumbing, not documented API.)
   * @ignore
   */
  fusedLayers(s: Scope): FusedLayer[] | undefined {
    if (this.forward !== Sequential.prototype.forward) return undefined;
    const run: FusedLayer[] = [];
    let j = 0;
    for (let f = this.#fused(j, s); f; f = this.#fused(j, s)) {
      appendFused(run, f.layers);
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

  /**
   * The fused layers at child `i` and how many children they stand for: a convolution's run here, a child
   * that is a plain Sequential fusing whole into one layer, or a child that offers its eval-mode chain
   * ({@linkcode ChainFusable}: an inverted residual block, its skip connection as the last layer's
   * `residualFrom`).
   */
  #fused(i: number, s: Scope): { layers: FusedLayer[]; count: number } | undefined {
    const direct = fuseConvBnEval(this.#layers, i, s);
    if (direct) return { layers: [direct.layer], count: direct.count };
    const m = this.#layers[i];
    if (isChainFusable(m)) {
      const layers = m.fusedChain(s.child(String(i)));
      return layers && layers.length > 0 ? { layers, count: 1 } : undefined;
    }
    if (!(m instanceof Sequential) || m.forward !== Sequential.prototype.forward) return undefined;
    const f = fuseConvBnEval(m.#layers, 0, s.child(String(i)));
    return f && f.count === m.#layers.length ? { layers: [f.layer], count: 1 } : undefined;
  }
}

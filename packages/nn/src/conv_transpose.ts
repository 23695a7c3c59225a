/**
 * `ConvTranspose2d`: PyTorch's `nn.ConvTranspose2d` (state `weight` [Cin, Cout/groups, kh, kw], `bias`
 * [Cout]), the upsampling layer of encoder-decoder networks.
 * @module
 */
import {
  add,
  convTranspose2d,
  randomUniform,
  reshape,
  type Shape,
  type Size2,
  type Tensor,
} from "@hqat/tensor";
import type { Initializer } from "./layers.ts";
import { Module, type Scope, type StateSpec } from "./module.ts";

/** Options of {@linkcode ConvTranspose2d}. */
export interface ConvTranspose2dOptions {
  /** Stride (default 1). */
  stride?: Size2;
  /** Padding removed from each side of the output (default 0). */
  padding?: Size2;
  /** Extra rows/columns added at the end of the output (default 0). */
  outputPadding?: Size2;
  /** Dilation (default 1). */
  dilation?: Size2;
  /** Groups (default 1). */
  groups?: number;
  /** Learnable bias (default true). */
  bias?: boolean;
  /** Weight initializer (default PyTorch's). */
  weightInit?: Initializer;
  /** Bias initializer (default PyTorch's). */
  biasInit?: Initializer;
}

const pair = (v: Size2): [number, number] => (typeof v === "number" ? [v, v] : [v[0], v[1]]);

/** PyTorch's default, U(±1/√fan_in) with fan_in = weight.size(1) · kh · kw. */
const uniform = (fanIn: number): Initializer => (key, shape: Shape) => {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return randomUniform(key, shape, { min: -bound, max: bound });
};

/**
 * Transposed 2-D convolution.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ConvTranspose2d, forward, initState } from "@hqat/nn";
 * import { ones, randomKey } from "@hqat/tensor";
 * const up = new ConvTranspose2d(8, 4, 2, { stride: 2 });
 * assert(forward(up, initState(up, randomKey(0)), ones([1, 8, 5, 5])).y.shape.join() === "1,4,10,10");
 * ```
 */
export class ConvTranspose2d extends Module {
  /** The PyTorch class name. */
  readonly typeName = "ConvTranspose2d";
  /** Kernel [kh, kw]. */
  readonly kernelSize: [number, number];
  /** Stride. */
  readonly stride: [number, number];
  /** Padding. */
  readonly padding: [number, number];
  /** Output padding. */
  readonly outputPadding: [number, number];
  /** Dilation. */
  readonly dilation: [number, number];
  /** Groups. */
  readonly groups: number;
  /** Has a bias. */
  readonly bias: boolean;
  readonly #options: ConvTranspose2dOptions;

  /** Creates the layer. */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    options: ConvTranspose2dOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    this.padding = pair(options.padding ?? 0);
    this.outputPadding = pair(options.outputPadding ?? 0);
    this.dilation = pair(options.dilation ?? 1);
    this.groups = options.groups ?? 1;
    this.bias = options.bias ?? true;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new RangeError(
        `ConvTranspose2d: groups ${this.groups} must divide ${inChannels} and ${outChannels} channels`,
      );
    }
    this.#options = options;
  }

  /** Weight shape [Cin, Cout/groups, kh, kw]. */
  get weightShape(): number[] {
    return [this.inChannels, this.outChannels / this.groups, ...this.kernelSize];
  }

  /** `weight`, then `bias` [Cout] when the layer has one. */
  override ownState(): StateSpec[] {
    const ws = this.weightShape, fanIn = ws[1] * ws[2] * ws[3];
    const wi = this.#options.weightInit ?? uniform(fanIn), bi = this.#options.biasInit ?? uniform(fanIn);
    const specs: StateSpec[] = [{
      name: "weight",
      shape: ws,
      dtype: "float32",
      kind: "param",
      init: (k) => wi(k, ws),
    }];
    if (this.bias) {
      const bs = [this.outChannels];
      specs.push({ name: "bias", shape: bs, dtype: "float32", kind: "param", init: (k) => bi(k, bs) });
    }
    return specs;
  }

  /** PyTorch's `extra_repr`. */
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize}), stride=(${this.stride})` +
      (this.padding.some((p) => p) ? `, padding=(${this.padding})` : "") +
      (this.outputPadding.some((p) => p) ? `, output_padding=(${this.outputPadding})` : "") +
      (this.groups > 1 ? `, groups=${this.groups}` : "") + (this.bias ? "" : ", bias=False");
  }

  /** The transposed convolution of `x` (NCHW) with `weight`, plus `bias`. */
  forward(s: Scope, x: Tensor): Tensor {
    const y = convTranspose2d(x, s.get("weight"), {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      dilation: this.dilation,
      groups: this.groups,
    });
    return this.bias ? add(y, reshape(s.get("bias"), [1, -1, 1, 1])) : y;
  }
}

/**
 * MobileNetV2, identical to torchvision 0.14's `torchvision.models.MobileNetV2` in structure, state
 * names, shapes, initialization scheme and eval-mode numerics, with optional Quant/DeQuant stubs as in
 * the quick start's `FxQATReadyMobileNetV2`.
 * @module
 */
import { adaptiveAvgPool2d, add, flatten, randomNormal, recycle, type Tensor, zeros } from "@hqat/tensor";
import { type ChainFusable, Sequential } from "../containers.ts";
import { type FusedLayer, runFused } from "../eval_fusion.ts";
import { BatchNorm2d, Conv2d, Dropout, type Initializer, Linear, ReLU6 } from "../layers.ts";
import { Module, type Scope } from "../module.ts";
import { DeQuantStub, QuantStub } from "../stubs.ts";

/** torchvision's `_make_divisible`: round `v` to a multiple of `divisor`, never below 90 % of `v`. */
export function makeDivisible(v: number, divisor: number, minValue?: number): number {
  const min = minValue ?? divisor;
  let nv = Math.max(min, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (nv < 0.9 * v) nv += divisor;
  return nv;
}

/** kaiming_normal_(mode="fan_out") for ReLU: N(0, 2 / (Co·kh·kw)). */
const convInit: Initializer = (key, shape) => {
  const fanOut = shape[0] * shape.slice(2).reduce((a, b) => a * b, 1);
  return randomNormal(key, shape, { std: Math.sqrt(2 / fanOut) });
};
const zeroInit: Initializer = (_key, shape) => zeros(shape);
const linearInit: Initializer = (key, shape) => randomNormal(key, shape, { std: 0.01 });

/**
 * Conv2d + BatchNorm2d + ReLU6, torchvision's `Conv2dNormActivation` (a Sequential).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { Conv2dNormActivation } from "@hqat/nn";
 * assert(new Conv2dNormActivation(3, 32, { stride: 2 }).length === 3);
 * ```
 */
export class Conv2dNormActivation extends Sequential {
  /** The torchvision class name. */
  override readonly typeName: string = "Conv2dNormActivation";
  /** Creates the block; padding is (kernel − 1) / 2. */
  constructor(
    inCh: number,
    outCh: number,
    options: { kernelSize?: number; stride?: number; groups?: number } = {},
  ) {
    const k = options.kernelSize ?? 3;
    super(
      new Conv2d(inCh, outCh, k, {
        stride: options.stride ?? 1,
        padding: (k - 1) >> 1,
        groups: options.groups ?? 1,
        bias: false,
        weightInit: convInit,
      }),
      new BatchNorm2d(outCh),
      new ReLU6(),
    );
  }
}

/**
 * torchvision's `InvertedResidual`: optional 1×1 expansion, 3×3 depthwise, 1×1 projection, and a
 * residual connection when the stride is 1 and the channel count is kept.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { InvertedResidual } from "@hqat/nn";
 * assert(new InvertedResidual(16, 16, 1, 6).useResConnect);
 * ```
 */
export class InvertedResidual extends Module implements ChainFusable {
  /** The torchvision class name. */
  readonly typeName = "InvertedResidual";
  /** Whether the input is added to the output. */
  readonly useResConnect: boolean;
  /** The block's layers. */
  readonly conv: Sequential;

  /** Creates the block. */
  constructor(
    readonly inp: number,
    readonly oup: number,
    readonly stride: number,
    readonly expandRatio: number,
  ) {
    super();
    if (stride !== 1 && stride !== 2) {
      throw new RangeError(`InvertedResidual: stride should be 1 or 2, got ${stride}`);
    }
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(new Conv2dNormActivation(inp, hidden, { kernelSize: 1 }));
    layers.push(
      new Conv2dNormActivation(hidden, hidden, { stride, groups: hidden }),
      new Conv2d(hidden, oup, 1, { bias: false, weightInit: convInit }),
      new BatchNorm2d(oup),
    );
    this.conv = this.register("conv", new Sequential(...layers));
  }

  /**
   * With `forward` not overridden, the fused layers of `conv` in evaluation mode — with a skip connection, the
   * last one adding the block's input (`residualFrom: 0`) — for the chain of the `Sequential` that holds this
   * block; undefined otherwise. (Evaluation-fusion plumbing, not documented API.)
   * @ignore
   */
  fusedChain(s: Scope): FusedLayer[] | undefined {
    return this.forward === InvertedResidual.prototype.forward ? this.#chain(s) : undefined;
  }

  /** `conv`'s fused layers (no interceptor, evaluation mode), the last adding the block's input when it has a skip. */
  #chain(s: Scope): FusedLayer[] | undefined {
    if (s.ctx.intercept) return undefined;
    const layers = this.conv.fusedLayers(s.child("conv"));
    if (!layers || !this.useResConnect) return layers;
    return [...layers.slice(0, -1), { ...layers[layers.length - 1], residualFrom: 0 }];
  }

  /**
   * Runs `conv`, adding `x` when `useResConnect`; in evaluation mode, where `conv` fuses whole, the add is
   * part of its chain (the last layer's `residualFrom`: the same bits, no pass of its own).
   */
  forward(s: Scope, x: Tensor): Tensor {
    const fused = this.useResConnect ? this.#chain(s) : undefined;
    if (fused) return runFused(x, fused);
    const y = s.call("conv", this.conv, x);
    return this.useResConnect ? add(x, y) : y;
  }
}

/** Options of {@linkcode mobilenetV2}. */
export interface MobileNetV2Options {
  /** Output classes (default 1000). */
  numClasses?: number;
  /** Width multiplier (default 1). */
  widthMult?: number;
  /** Rows of (t, c, n, s): expansion, channels, repeats, first stride. */
  invertedResidualSetting?: readonly (readonly [number, number, number, number])[];
  /** Channel rounding (default 8). */
  roundNearest?: number;
  /** Dropout before the classifier (default 0.2). */
  dropout?: number;
  /** Add `quant` (with this fixed scale, or none when `null`) and `dequant` stubs, as the quick start does. */
  quantStubScale?: number | null;
}

const DEFAULT_SETTING: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/**
 * torchvision's MobileNetV2 module (`features`, `classifier`, optional `quant`/`dequant`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mobilenetV2 } from "@hqat/nn";
 * assert(mobilenetV2({ numClasses: 10 }).lastChannel === 1280);
 * ```
 */
export class MobileNetV2 extends Module {
  /** The torchvision class name. */
  readonly typeName = "MobileNetV2";
  /** The convolutional trunk. */
  readonly features: Sequential;
  /** Dropout + Linear. */
  readonly classifier: Sequential;
  /** Input stub, when requested. */
  readonly quant?: QuantStub;
  /** Output stub, when requested. */
  readonly dequant?: DeQuantStub;
  /** Channels into the classifier. */
  readonly lastChannel: number;

  /** Builds the network. */
  constructor(options: MobileNetV2Options = {}) {
    super();
    const widthMult = options.widthMult ?? 1;
    const roundNearest = options.roundNearest ?? 8;
    const setting = options.invertedResidualSetting ?? DEFAULT_SETTING;
    if (setting.length === 0 || setting.some((r) => r.length !== 4)) {
      throw new RangeError("invertedResidualSetting should be non-empty and each row a 4-element list");
    }
    let inputChannel = makeDivisible(32 * widthMult, roundNearest);
    this.lastChannel = makeDivisible(1280 * Math.max(1, widthMult), roundNearest);
    const layers: Module[] = [new Conv2dNormActivation(3, inputChannel, { stride: 2 })];
    for (const [t, c, n, s] of setting) {
      const outputChannel = makeDivisible(c * widthMult, roundNearest);
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidual(inputChannel, outputChannel, i === 0 ? s : 1, t));
        inputChannel = outputChannel;
      }
    }
    layers.push(new Conv2dNormActivation(inputChannel, this.lastChannel, { kernelSize: 1 }));
    this.features = this.register("features", new Sequential(...layers));
    this.classifier = this.register(
      "classifier",
      new Sequential(
        new Dropout(options.dropout ?? 0.2),
        new Linear(this.lastChannel, options.numClasses ?? 1000, {
          weightInit: linearInit,
          biasInit: zeroInit,
        }),
      ),
    );
    if (options.quantStubScale !== undefined) {
      this.quant = this.register(
        "quant",
        new QuantStub(options.quantStubScale === null ? {} : { scale: options.quantStubScale }),
      );
      this.dequant = this.register("dequant", new DeQuantStub());
    }
  }

  /**
   * Input stub, `features`, global average pooling, `classifier`, output stub. Where `features` runs as one fused
   * chain (evaluation mode, no interceptor: `fusedLayers`), its result goes back to the kernels once pooled, and
   * the pooled values once the classifier has read them, so that the next pass writes into them instead of
   * fresh arrays.
   */
  forward(s: Scope, x: Tensor): Tensor {
    let y = this.quant ? s.call("quant", this.quant, x) : x;
    // Where `features` fuses whole (no interceptor: `call` would only run its forward), its forward is this one
    // chain: run it here, and the result is ours to hand back.
    const chain = this.features.fusedLayers(s.child("features"));
    const f = chain ? runFused(y, chain) : s.call("features", this.features, y);
    const pooled = adaptiveAvgPool2d(f, 1);
    if (chain) recycle(f);
    y = s.call("classifier", this.classifier, flatten(pooled, 1));
    if (chain && y.data !== pooled.data) recycle(pooled);
    return this.dequant ? s.call("dequant", this.dequant, y) : y;
  }
}

/**
 * Builds torchvision's MobileNetV2.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mobilenetV2, stateSpecs } from "@hqat/nn";
 * const specs = stateSpecs(mobilenetV2({ numClasses: 10 }));
 * assert(specs.length === 314);
 * ```
 */
export function mobilenetV2(options: MobileNetV2Options = {}): MobileNetV2 {
  return new MobileNetV2(options);
}

/**
 * ResNet-18 for 32×32 inputs (CIFAR): torchvision's `resnet18` names and blocks with a 3×3, stride-1
 * stem and no max pooling, the usual CIFAR adaptation.
 * @module
 */
import { adaptiveAvgPool2d, add, flatten, relu, type Tensor } from "@hqat/tensor";
import { Sequential } from "../containers.ts";
import { BatchNorm2d, Conv2d, Linear, ReLU } from "../layers.ts";
import { Module, type Scope } from "../module.ts";

/**
 * torchvision's `BasicBlock`: two 3×3 conv + BN, with a 1×1 conv + BN shortcut when the shape changes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BasicBlock } from "@hqat/nn";
 * assert(new BasicBlock(64, 128, 2).downsample !== undefined);
 * ```
 */
export class BasicBlock extends Module {
  /** The torchvision class name. */
  readonly typeName = "BasicBlock";
  /** First convolution. */
  readonly conv1: Conv2d;
  /** First batch norm. */
  readonly bn1: BatchNorm2d;
  /** Activation. */
  readonly relu: ReLU;
  /** Second convolution. */
  readonly conv2: Conv2d;
  /** Second batch norm. */
  readonly bn2: BatchNorm2d;
  /** Shortcut projection, when needed. */
  readonly downsample?: Sequential;

  /** Creates the block. */
  constructor(inPlanes: number, planes: number, stride = 1) {
    super();
    this.conv1 = this.register("conv1", new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.register("bn1", new BatchNorm2d(planes));
    this.relu = this.register("relu", new ReLU());
    this.conv2 = this.register("conv2", new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.register("bn2", new BatchNorm2d(planes));
    if (stride !== 1 || inPlanes !== planes) {
      this.downsample = this.register(
        "downsample",
        new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes)),
      );
    }
  }

  /** conv1, bn1, relu, conv2, bn2, plus the shortcut, then ReLU. */
  forward(s: Scope, x: Tensor): Tensor {
    let y = s.call("relu", this.relu, s.call("bn1", this.bn1, s.call("conv1", this.conv1, x)));
    y = s.call("bn2", this.bn2, s.call("conv2", this.conv2, y));
    const identity = this.downsample ? s.call("downsample", this.downsample, x) : x;
    return relu(add(y, identity));
  }
}

/**
 * ResNet-18 for CIFAR-sized inputs.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { resnet18Cifar, stateSpecs } from "@hqat/nn";
 * const n = stateSpecs(resnet18Cifar({ numClasses: 10 })).filter((s) => s.kind === "param")
 *   .reduce((a, s) => a + s.shape.reduce((p, d) => p * d, 1), 0);
 * assert(n === 11173962);
 * ```
 */
export class ResNet18Cifar extends Module {
  /** The torchvision class name. */
  readonly typeName = "ResNet";
  /** Stem convolution. */
  readonly conv1: Conv2d;
  /** Stem batch norm. */
  readonly bn1: BatchNorm2d;
  /** Stem activation. */
  readonly relu: ReLU;
  /** Stages. */
  readonly layers: Sequential[];
  /** Classifier. */
  readonly fc: Linear;

  /** Builds the network. */
  constructor(options: { numClasses?: number } = {}) {
    super();
    this.conv1 = this.register("conv1", new Conv2d(3, 64, 3, { padding: 1, bias: false }));
    this.bn1 = this.register("bn1", new BatchNorm2d(64));
    this.relu = this.register("relu", new ReLU());
    let inPlanes = 64;
    this.layers = [64, 128, 256, 512].map((planes, i) => {
      const stride = i === 0 ? 1 : 2;
      const stage = new Sequential(
        new BasicBlock(inPlanes, planes, stride),
        new BasicBlock(planes, planes, 1),
      );
      inPlanes = planes;
      return this.register(`layer${i + 1}`, stage);
    });
    this.fc = this.register("fc", new Linear(512, options.numClasses ?? 10));
  }

  /** Stem, the four stages, global average pooling, then `fc`. */
  forward(s: Scope, x: Tensor): Tensor {
    let y = s.call("relu", this.relu, s.call("bn1", this.bn1, s.call("conv1", this.conv1, x)));
    this.layers.forEach((l, i) => (y = s.call(`layer${i + 1}`, l, y)));
    return s.call("fc", this.fc, flatten(adaptiveAvgPool2d(y, 1), 1));
  }
}

/**
 * Builds {@linkcode ResNet18Cifar}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { resnet18Cifar } from "@hqat/nn";
 * assert(resnet18Cifar().layers.length === 4);
 * ```
 */
export function resnet18Cifar(options: { numClasses?: number } = {}): ResNet18Cifar {
  return new ResNet18Cifar(options);
}

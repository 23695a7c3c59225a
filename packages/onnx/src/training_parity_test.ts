/**
 * A network written with `@hqat/nn` and the same network exported by PyTorch (`resnet_block.onnx`, module
 * names kept) and imported train identically: same weights, same Fashion-MNIST batches, same optimizer,
 * same loss after every step.
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { existsSync } from "node:fs";
import { createLoader, loadFashionMnist } from "@hqat/data";
import {
  adam,
  AdaptiveAvgPool2d,
  BatchNorm2d,
  checkState,
  Conv2d,
  createTrainState,
  Linear,
  makeTrainStep,
  modelState,
  Module,
  type Scope,
  Sequential,
  type StateDict,
} from "@hqat/nn";
import { add, flatten, fromArray, randomKey, relu, type Tensor } from "@hqat/tensor";
import { fixtureData, relativeDifference } from "./fixture_util.ts";
import { loadOnnx } from "./load.ts";

const HAVE_FMNIST = existsSync("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");

/** torchvision's basic block with a strided 1×1 downsample (as in `make_fixtures.py`). */
class BasicBlock extends Module {
  readonly typeName = "BasicBlock";
  readonly conv1 = this.register("conv1", new Conv2d(8, 16, 3, { stride: 2, padding: 1, bias: false }));
  readonly bn1 = this.register("bn1", new BatchNorm2d(16));
  readonly conv2 = this.register("conv2", new Conv2d(16, 16, 3, { padding: 1, bias: false }));
  readonly bn2 = this.register("bn2", new BatchNorm2d(16));
  readonly downsample = this.register(
    "downsample",
    new Sequential(new Conv2d(8, 16, 1, { stride: 2, bias: false }), new BatchNorm2d(16)),
  );
  forward(s: Scope, x: Tensor): Tensor {
    const y = relu(s.call("bn1", this.bn1, s.call("conv1", this.conv1, x)));
    const z = s.call("bn2", this.bn2, s.call("conv2", this.conv2, y));
    return relu(add(z, s.call("downsample", this.downsample, x)));
  }
}

/** The fixture's ResNetTiny, written in TypeScript. */
class ResNetTiny extends Module {
  readonly typeName = "ResNetTiny";
  readonly conv1 = this.register("conv1", new Conv2d(3, 8, 3, { stride: 2, padding: 1, bias: false }));
  readonly bn1 = this.register("bn1", new BatchNorm2d(8));
  readonly layer1 = this.register("layer1", new Sequential(new BasicBlock()));
  readonly avgpool = this.register("avgpool", new AdaptiveAvgPool2d(1));
  readonly fc = this.register("fc", new Linear(16, 10));
  forward(s: Scope, x: Tensor): Tensor {
    const y = s.call("layer1", this.layer1, relu(s.call("bn1", this.bn1, s.call("conv1", this.conv1, x))));
    return s.call("fc", this.fc, flatten(s.call("avgpool", this.avgpool, y), 1));
  }
}

Deno.test({
  name: "loadOnnx() network and its TypeScript twin give the same Fashion-MNIST training run",
  ignore: !HAVE_FMNIST,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const imported = loadOnnx((await fixtureData("resnet_block")).bytes, { source: "resnet_block.onnx" });
    const twin = new ResNetTiny();
    const start: StateDict = imported.initialState();
    // The same names: PyTorch's export kept the module paths, and the TypeScript model uses them too.
    checkState(twin, start);
    const loader = createLoader(await loadFashionMnist({ split: "train" }), {
      batchSize: 32,
      shuffle: true,
      seed: 0,
      limit: 640,
      workers: 0,
    });
    const batches: { x: Tensor; y: Tensor }[] = [];
    for await (const b of loader.epoch(0)) {
      batches.push({ x: fromArray(b.x, b.shape), y: fromArray(b.y, [b.y.length]) });
    }
    const run = (model: Module) => {
      const opt = adam({ lr: 3e-3, weightDecay: 1e-4 });
      const step = makeTrainStep(model, opt);
      let ts = createTrainState(model, start, opt);
      const losses: number[] = [];
      batches.forEach((b, i) => {
        const r = step(ts, b.x, b.y, { key: randomKey(i) });
        ts = r.state;
        losses.push(r.loss);
      });
      return { losses, state: modelState(model, ts) };
    };
    const a = run(twin), b = run(imported);
    assertEquals(a.losses.length, 20);
    let worst = 0;
    a.losses.forEach((l, i) => (worst = Math.max(worst, Math.abs(l - b.losses[i]) / Math.abs(l))));
    let params = 0;
    for (const k of Object.keys(a.state)) {
      if (a.state[k].dtype === "float32") {
        params = Math.max(params, relativeDifference(b.state[k].data, a.state[k].data));
      }
    }
    console.log(
      `losses ${a.losses[0].toFixed(4)} → ${a.losses.at(-1)!.toFixed(4)} over ${a.losses.length} steps; ` +
        `largest loss difference ${worst.toExponential(2)} (relative), largest weight difference ${
          params.toExponential(2)
        }`,
    );
    assert(a.losses.at(-1)! < a.losses[0], "the loss did not fall");
    assert(worst <= 1e-5 && params <= 1e-5, `the runs differ: loss ${worst}, weights ${params}`);
  },
});

import { assert, assertEquals } from "@std/assert";
import { add, observeOps, randomKey, randomNormal, type Tensor, tensor } from "@hqat/tensor";
import { clearFloatPool } from "../../tensor/src/cpu/float_pool.ts";
import {
  adam,
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  createTrainState,
  Flatten,
  initState,
  Linear,
  makeTrainStep,
  ReLU6,
  Sequential,
} from "../mod.ts";
import { bits, stateBits } from "./state_bits_test_util.ts";

function model() {
  return new Sequential(
    new Conv2d(16, 16, 3, { padding: 1, bias: false }),
    new BatchNorm2d(16),
    new ReLU6(),
    new Conv2d(16, 16, 3, { padding: 1, groups: 16, bias: false }),
    new BatchNorm2d(16),
    new ReLU6(),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(16, 4),
  );
}

Deno.test("makeTrainStep() hands the step's intermediate results back and trains to the same bits", () => {
  const m = model(), opt = adam({ lr: 1e-2 });
  // x is an array of its own (not a view), as the kernels' results are.
  const x = add(randomNormal(randomKey(1), [8, 16, 16, 16]), 0),
    y = tensor([0, 1, 2, 3, 0, 1, 2, 3], { dtype: "int32" });
  const step = makeTrainStep(m, opt);
  const start = createTrainState(m, initState(m, randomKey(0)), opt);
  const run = () => {
    let ts = start;
    const logits: Tensor[] = [];
    for (let i = 0; i < 4; i++) {
      const out = step(ts, x, y, { key: randomKey(10 + i) });
      ts = out.state;
      logits.push(out.logits);
    }
    return { ts, logits };
  };
  // An observer turns the recycling off: the reference.
  const ref = observeOps(() => {}, run);
  clearFloatPool();
  const a = run();
  assert(clearFloatPool() > 0, "the steps should hand arrays back");
  const b = run();
  assertEquals(stateBits(a.ts), stateBits(ref.ts));
  assertEquals(stateBits(b.ts), stateBits(ref.ts));
  a.logits.forEach((l, i) => assertEquals(bits(l), bits(ref.logits[i])));
  assertEquals(stateBits(start), stateBits(createTrainState(m, initState(m, randomKey(0)), opt)));
});

import { assertRejects } from "@std/assert";
import { fromArray, randomKey, randomNormal, tensor } from "@hqat/tensor";
import { Linear, ReLU } from "./layers.ts";
import { Sequential } from "./containers.ts";
import { initState } from "./module.ts";
import { firstNonFinite } from "./non_finite.ts";
import { adam } from "./optim_adam.ts";
import { createTrainState, makeTrainStep, modelState } from "./train_step.ts";
import { trainOneEpoch } from "./train_loop.ts";

Deno.test("a diverged training names the first module whose output is not finite", async () => {
  const m = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 3));
  const s = initState(m, randomKey(0));
  s["2.bias"] = fromArray(Float32Array.of(0, Infinity, 0), [3]);
  const opt = adam({ lr: 0.01 });
  const batches = [{ x: randomNormal(randomKey(1), [4, 4]), y: tensor([0, 1, 2, 0], { dtype: "int32" }) }];
  await assertRejects(
    () =>
      trainOneEpoch(makeTrainStep(m, opt), createTrainState(m, s, opt), batches, {
        key: randomKey(2),
        progress: false,
        locate: (ts, x) => firstNonFinite(m, modelState(m, ts), x, { training: true }),
      }),
    RangeError,
    `loss is NaN at step 0; the first non-finite value is the output of "2"`,
  );
  const fc = new Linear(4, 3);
  const bad = [{ x: fromArray(Float32Array.of(NaN, 0, 0, 0), [1, 4]), y: tensor([0], { dtype: "int32" }) }];
  await assertRejects(
    () =>
      trainOneEpoch(makeTrainStep(fc, opt), createTrainState(fc, initState(fc, randomKey(0)), opt), bad, {
        key: randomKey(2),
        progress: false,
        locate: (ts, x) => firstNonFinite(fc, modelState(fc, ts), x),
      }),
    RangeError,
    "the batch's input holds a NaN or an infinity",
  );
});

import { assert, assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import {
  accuracy,
  adam,
  BatchNorm2d,
  createTrainState,
  evaluate,
  forward,
  initState,
  Linear,
  loadTrainCheckpoint,
  makeTrainStep,
  modelState,
  Progress,
  ReLU,
  saveTrainCheckpoint,
  Sequential,
  trainOneEpoch,
} from "@hqat/nn";
import { add, cast, fromArray, greater, mul, randomKey, randomNormal, sum, tensor } from "@hqat/tensor";

Deno.test("BatchNorm2d updates running statistics like PyTorch (momentum 0.1, unbiased variance)", () => {
  const bn = new BatchNorm2d(2);
  const x = randomNormal(randomKey(3), [4, 2, 3, 3]);
  const { state } = forward(bn, initState(bn, randomKey(0)), x, { training: true });
  for (let c = 0; c < 2; c++) {
    const vals: number[] = [];
    for (let n = 0; n < 4; n++) for (let i = 0; i < 9; i++) vals.push(x.data[(n * 2 + c) * 9 + i]);
    const m = vals.reduce((a, b) => a + b) / vals.length;
    const v = vals.reduce((a, b) => a + (b - m) ** 2, 0) / (vals.length - 1);
    assertAlmostEquals(state["running_mean"].data[c], 0.1 * m, 1e-6);
    assertAlmostEquals(state["running_var"].data[c], 0.9 + 0.1 * v, 1e-6);
  }
  assertEquals(state["num_batches_tracked"].item(), 1);
});

/** A separable toy problem: the label says whether the sum of the features is positive. */
function toyBatches(seed: number, count: number) {
  return Array.from({ length: count }, (_, i) => {
    const x = randomNormal(randomKey(seed * 1000 + i), [32, 8]);
    const y = cast(greater(sum(x, { axes: 1 }), 0), "int32");
    return { x, y };
  });
}

Deno.test("trainOneEpoch() learns a separable problem and evaluate() measures it", async () => {
  const model = new Sequential(new Linear(8, 16), new ReLU(), new Linear(16, 2));
  const opt = adam({ lr: 0.01 });
  const step = makeTrainStep(model, opt);
  let ts = createTrainState(model, initState(model, randomKey(0)), opt);
  for (let epoch = 0; epoch < 4; epoch++) {
    ts = (await trainOneEpoch(step, ts, toyBatches(epoch, 20), { key: randomKey(epoch), progress: false }))
      .state;
  }
  const r = await evaluate(model, modelState(model, ts), toyBatches(99, 10), { progress: false });
  assert(r.top1 > 90, `top-1 ${r.top1}`);
  assertEquals(r.top5, 100);
  assertEquals(r.images, 320);
});

Deno.test("saveTrainCheckpoint() round-trips and a failed write keeps the last good file", async () => {
  const model = new Sequential(new Linear(3, 4), new BatchNorm2d(4));
  const opt = adam({ lr: 1e-3 });
  const ts = createTrainState(model, initState(model, randomKey(1)), opt);
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ckpt.safetensors`;
  await saveTrainCheckpoint(path, model, ts, { epoch: 2, bestTop1: 80.25, extra: { arch: "toy" } });
  const before = await Deno.readFile(path);
  const back = await loadTrainCheckpoint(path, model, opt);
  assertEquals(back.info, { epoch: 2, bestTop1: 80.25, extra: { arch: "toy" } });
  assertEquals(back.state.params["0.weight"].toArray(), ts.params["0.weight"].toArray());
  assertEquals(back.state.opt.step, 0);
  // A state that does not fit the model fails before anything is written.
  const bad = { ...ts, params: { ...ts.params, "0.weight": mul(ts.params["0.bias"], 1) } };
  await assertRejects(
    () => saveTrainCheckpoint(path, model, bad, { epoch: 3, bestTop1: 0 }),
    RangeError,
    "0.weight",
  );
  assertEquals(await Deno.readFile(path), before);
  // A truncated file is rejected with its name.
  await Deno.writeFile(`${dir}/cut.safetensors`, before.slice(0, before.length - 5));
  await assertRejects(
    () => loadTrainCheckpoint(`${dir}/cut.safetensors`, model, opt),
    Error,
    "cut.safetensors",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("accuracy() ranks ties by lower index and Progress prints plain lines off a terminal", () => {
  const logits = tensor([[1, 1, 0], [0, 2, 2]]);
  assertEquals(accuracy(logits, tensor([1, 2], { dtype: "int32" }), [1, 2]), [0, 100]);
  const lines: string[] = [];
  let t = 0;
  const p = new Progress("Epoch 0", {
    total: 10,
    live: false,
    everySeconds: 1,
    write: (s) => lines.push(s),
    now: () => t,
  });
  t = 500;
  p.update(2, { loss: 1.5 });
  t = 1500;
  p.update(3, { loss: 1.25 });
  p.done();
  assertEquals(lines.length, 3);
  assert(
    lines[1].includes("5/10") && lines[1].includes("loss 1.2500") && lines[1].includes("images/s"),
    lines[1],
  );
  assertEquals(fromArray(new Float32Array([1]), [1]).size, 1);
  assertEquals(add(tensor([1]), 1).item(), 2);
});

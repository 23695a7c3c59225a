import { assert, assertEquals } from "@std/assert";
import { add, fromArray, randomKey, randomNormal, tensor } from "@hqat/tensor";
import {
  adam,
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  createTrainState,
  Flatten,
  forward,
  initState,
  Linear,
  makeTrainStep,
  ReLU6,
  Sequential,
  sgd,
  trainOneEpoch,
  type TrainState,
} from "../mod.ts";
import { bits, stateBits } from "./state_bits_test_util.ts";

function model() {
  return new Sequential(
    new Conv2d(16, 32, 3, { padding: 1, bias: false }),
    new BatchNorm2d(32),
    new ReLU6(),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(32, 4),
  );
}

const x = add(randomNormal(randomKey(1), [8, 16, 8, 8]), 0);
const y = tensor([0, 1, 2, 3, 0, 1, 2, 3], { dtype: "int32" });

for (const opt of [adam({ lr: 1e-2, weightDecay: 1e-3 }), sgd({ lr: 0.05, momentum: 0.9 })]) {
  Deno.test(`makeTrainStep() with donate trains to the same bits (${opt.name}), reusing the state's arrays`, () => {
    const m = model();
    const step = makeTrainStep(m, opt);
    const start = createTrainState(m, initState(m, randomKey(0)), opt);
    const startBits = stateBits(start);
    const run = (donate: boolean) => {
      let ts = start;
      const states: TrainState[] = [], logits: number[][] = [];
      for (let i = 0; i < 4; i++) {
        const out = step(ts, x, y, { key: randomKey(10 + i), donate: donate && ts !== start });
        logits.push(bits(out.logits));
        ts = out.state;
        states.push(ts);
      }
      return { states, logits };
    };
    const ref = run(false);
    const refBits = ref.states.map(stateBits);
    const donated = run(true);
    assertEquals(donated.logits, ref.logits);
    assertEquals(stateBits(donated.states[3]), refBits[3]);
    assertEquals(ref.states.map(stateBits), refBits, "states handed out without donating are untouched");
    assertEquals(stateBits(start), startBits, "the state the loop started from is untouched");
    const w = "0.weight";
    assert(donated.states[3].params[w].data === donated.states[0].params[w].data, "the arrays were reused");
    assert(ref.states[3].params[w].data !== ref.states[0].params[w].data);
  });
}

Deno.test("makeTrainStep() with donate leaves a state whose loss is not finite as it was", () => {
  const m = model(), opt = adam({ lr: 1e-2 });
  const step = makeTrainStep(m, opt);
  const start = createTrainState(m, initState(m, randomKey(0)), opt);
  const ts = step(start, x, y, { key: randomKey(2) }).state;
  const before = stateBits(ts);
  const nan = fromArray(new Float32Array(x.size).fill(NaN), x.shape);
  const out = step(ts, nan, y, { key: randomKey(3), donate: true });
  assert(!Number.isFinite(out.loss));
  assertEquals(stateBits(ts), before);
});

Deno.test("trainOneEpoch() donates only its own states: the state passed in is left as it was", async () => {
  const m = model(), opt = adam({ lr: 1e-2 });
  const start = createTrainState(m, initState(m, randomKey(0)), opt);
  const startBits = stateBits(start);
  const batches = Array.from({ length: 4 }, () => ({ x, y }));
  const r = await trainOneEpoch(makeTrainStep(m, opt), start, batches, {
    key: randomKey(5),
    progress: false,
  });
  assertEquals(stateBits(start), startBits);
  // The same epoch without donating.
  const noDonate: Parameters<typeof trainOneEpoch>[0] = (ts, bx, by, o) =>
    makeTrainStep(m, opt)(ts, bx, by, { ...o, donate: false });
  const ref = await trainOneEpoch(noDonate, start, batches, { key: randomKey(5), progress: false });
  assertEquals(stateBits(r.state), stateBits(ref.state));
  assertEquals(r.loss, ref.loss);
});

Deno.test("evaluation after donated steps reads the updated weights, not the copies the kernels kept", () => {
  // in evaluation the two convolutions run as one fused chain, whose weights the kernels keep across calls
  const m = new Sequential(
    new Conv2d(16, 32, 1, { bias: false }),
    new BatchNorm2d(32),
    new ReLU6(),
    new Conv2d(32, 32, 3, { padding: 1, groups: 32, bias: false }),
    new BatchNorm2d(32),
    new ReLU6(),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(32, 4),
  );
  const opt = sgd({ lr: 0.05, momentum: 0.9 });
  const step = makeTrainStep(m, opt);
  let ts = step(createTrainState(m, initState(m, randomKey(0)), opt), x, y, { key: randomKey(1) }).state;
  for (let i = 0; i < 3; i++) {
    const live = { ...ts.params, ...ts.buffers };
    const copied = Object.fromEntries(
      Object.entries(live).map(([k, t]) => [k, fromArray((t.data as Float32Array).slice(), t.shape)]),
    );
    assertEquals(bits(forward(m, live, x).y), bits(forward(m, copied, x).y));
    const before = ts.params["0.weight"].data;
    ts = step(ts, x, y, { key: randomKey(2 + i), donate: true }).state;
    assert(ts.params["0.weight"].data === before, "the step wrote the new weights into the same array");
  }
});

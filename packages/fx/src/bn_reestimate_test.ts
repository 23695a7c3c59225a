import { assert, assertEquals, assertLessOrEqual, assertRejects } from "@std/assert";
import { prepareQatFx, type QatModel, reestimateBnStats } from "@hqat/fx";
import { March, setMarch } from "@hqat/march-bayes";
import { BatchNorm2d, Conv2d, forward, initState, ReLU, Sequential, type StateDict } from "@hqat/nn";
import { default_qat_8bit_fake_quant_qconfig, fakeQuantize } from "@hqat/qtensor";
import { conv2d, fromArray, randomKey, randomNormal, type Tensor } from "@hqat/tensor";

const EPS = 1e-5;

function model(): QatModel {
  setMarch(March.BAYES);
  const float = new Sequential(
    new Conv2d(3, 4, 3, { padding: 1 }),
    new BatchNorm2d(4),
    new ReLU(),
    new Conv2d(4, 5, 1),
    new BatchNorm2d(5),
  );
  return prepareQatFx(float, { "": default_qat_8bit_fake_quant_qconfig }, {
    exampleInput: randomNormal(randomKey(0), [2, 3, 6, 6]),
  });
}

/** A state after a few QAT forwards (observers set), with the running statistics then spoiled. */
function trainedState(qat: QatModel): StateDict {
  let s = initState(qat, randomKey(1));
  for (let i = 0; i < 3; i++) {
    const x = randomNormal(randomKey(10 + i), [8, 3, 6, 6], { mean: 0.5, std: 2 });
    s = forward(qat, s, x, { training: true, key: randomKey(i) }).state;
  }
  const spoil = (n: number, v: number) => fromArray(new Float32Array(n).fill(v), [n]);
  return {
    ...s,
    "1.running_mean": spoil(4, 3),
    "1.running_var": spoil(4, 0.01),
    "4.running_mean": spoil(5, -2),
    "4.running_var": spoil(5, 40),
  };
}

/**
 * Reference statistics of the first conv's output for batch `x`, written out by hand: the weight folded
 * with the state's running variance and fake-quantized with the frozen observer's scale, the conv, the
 * fold undone, then the per-channel mean and unbiased variance in float64.
 */
function firstConvStats(qat: QatModel, s: StateDict, x: Tensor): { mean: number[]; variance: number[] } {
  const gamma = s["1.weight"].data,
    rv = s["1.running_var"].data,
    w = s["0.weight"].data,
    b = s["0.bias"].data;
  const co = 4, per = w.length / co;
  const scale = Array.from({ length: co }, (_, c) => Math.fround(gamma[c] / Math.sqrt(rv[c] + EPS)));
  const folded = Float32Array.from(w, (v, i) => Math.fround(v * scale[Math.floor(i / per)]));
  const wq = fakeQuantize(folded, qat.scaleOf(s, "0.weight_fake_quant"), {
    axis: 0,
    shape: s["0.weight"].shape,
    qmin: -128,
    qmax: 127,
  });
  const y = conv2d(x, fromArray(wq, s["0.weight"].shape), { padding: [1, 1] }).data;
  const [n, , h, ww] = x.shape, hw = h * ww, count = n * hw;
  const mean: number[] = [], variance: number[] = [];
  for (let c = 0; c < co; c++) {
    const vals: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < hw; j++) vals.push(y[(i * co + c) * hw + j] / scale[c] + b[c]);
    }
    const m = vals.reduce((a, v) => a + v, 0) / count;
    mean.push(m);
    variance.push(vals.reduce((a, v) => a + (v - m) ** 2, 0) / (count - 1));
  }
  return { mean, variance };
}

function assertClose(actual: ArrayLike<number>, expected: number[], rel: number) {
  for (let i = 0; i < expected.length; i++) {
    assertLessOrEqual(
      Math.abs(actual[i] - expected[i]),
      rel * Math.max(1, Math.abs(expected[i])),
      `index ${i}`,
    );
  }
}

Deno.test("reestimateBnStats() averages each batch's mean and unbiased variance under the frozen quantizers", async () => {
  const qat = model();
  const s = trainedState(qat);
  const xs = [0, 1, 2].map((i) => randomNormal(randomKey(20 + i), [6, 3, 6, 6], { mean: -0.3, std: 1.5 }));
  const r = await reestimateBnStats(qat, s, xs);
  assertEquals([r.batches, r.images, r.modules], [3, 18, ["1", "4"]]);
  const per = xs.map((x) => firstConvStats(qat, s, x));
  const avg = (k: "mean" | "variance") =>
    per[0][k].map((_, c) => per.reduce((a, p) => a + p[k][c], 0) / per.length);
  assertClose(r.state["1.running_mean"].data, avg("mean"), 1e-5);
  assertClose(r.state["1.running_var"].data, avg("variance"), 1e-5);
  // The second batch norm was re-estimated too: far from its spoiled values, and positive.
  assert(Array.from(r.state["4.running_var"].data).every((v) => v > 0 && v !== 40));
  assert(Array.from(r.state["4.running_mean"].data).every((v) => v !== -2));
  assertEquals(r.state["1.num_batches_tracked"].item(), s["1.num_batches_tracked"].item() + 3);
});

Deno.test("reestimateBnStats() changes only the running statistics, never weights or observers", async () => {
  const qat = model();
  const s = trainedState(qat);
  const r = await reestimateBnStats(qat, s, [randomNormal(randomKey(30), [4, 3, 6, 6])]);
  const stats = /\.(running_mean|running_var|num_batches_tracked)$/;
  for (const k of Object.keys(s)) {
    if (stats.test(k)) assert(r.state[k] !== s[k], k);
    else assert(r.state[k] === s[k], k);
  }
  assertEquals(Object.keys(r.state), Object.keys(s));
});

Deno.test("reestimateBnStats() gives the same statistics for a batch seen once as for it seen twice", async () => {
  const qat = model();
  const s = trainedState(qat);
  const x = randomNormal(randomKey(40), [5, 3, 6, 6]);
  const once = await reestimateBnStats(qat, s, [x]), twice = await reestimateBnStats(qat, s, [x, x]);
  for (const k of ["1.running_mean", "1.running_var", "4.running_mean", "4.running_var"]) {
    assertClose(twice.state[k].data, Array.from(once.state[k].data), 1e-6);
  }
});

Deno.test("reestimateBnStats() rejects an empty batch stream", async () => {
  const qat = model();
  await assertRejects(() => reestimateBnStats(qat, trainedState(qat), []), RangeError, "no batches");
});

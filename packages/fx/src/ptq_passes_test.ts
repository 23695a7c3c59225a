import { assert, assertEquals, assertGreater, assertLessOrEqual } from "@std/assert";
import { March } from "@hqat/march-bayes";
import {
  Conv2d,
  DeQuantStub,
  forward,
  initState,
  loadNpy,
  QuantStub,
  ReLU,
  Scope,
  Sequential,
} from "@hqat/nn";
import { readOnnx } from "@hqat/onnx";
import {
  default_calib_8bit_fake_quant_qconfig as q8,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig as q32,
  FakeQuantState,
} from "@hqat/qtensor";
import { randomKey, randomNormal, type Tensor } from "@hqat/tensor";
import {
  adaround,
  convertFx,
  correctBias,
  equalizeCrossLayer,
  ptq,
  type QatModel,
  splitBatches,
} from "../mod.ts";

const ONNX = new URL("../../onnx/testdata/", import.meta.url).pathname;

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]));
  }
  return d / m;
}

for (const name of ["resnet_block", "resnet_block_folded", "regnet_block"]) {
  Deno.test(`equalizeCrossLayer() leaves ${name}'s float function unchanged within 1e-5 and equalizes the ranges`, async () => {
    const x = await loadNpy(`${ONNX}${name}.input.npy`, { dtype: "float32" });
    const m = await readOnnx(`${ONNX}${name}.onnx`, { inputShape: x.shape });
    const s = m.initialState();
    const r = equalizeCrossLayer(m, s, { exampleInput: x, iterations: 2 });
    assertGreater(r.pairs.length, 0);
    assertLessOrEqual(maxRelDiff(forward(m, s, x).y.data, forward(m, r.state, x).y.data), 1e-5);
    // A second equalization finds the ranges equal already: factors 1.
    const again = equalizeCrossLayer(m, r.state, { exampleInput: x });
    for (const p of again.pairs) for (const v of p.scales) assert(Math.abs(v - 1) < 1e-3, `${p.first}: ${v}`);
  });
}

Deno.test("equalizeCrossLayer() leaves pairs joined by ReLU6 alone", () => {
  const m = new Sequential(new Conv2d(3, 4, 3), new Sequential(), new Conv2d(4, 2, 1));
  const s = initState(m, randomKey(0));
  assertEquals(
    equalizeCrossLayer(m, s, { exampleInput: randomNormal(randomKey(1), [1, 3, 5, 5]) }).pairs.length,
    1,
  );
});

/** The per-channel mean of (float − fake-quantized) output of node `node` over `xs`: float with `floatState`. */
function meanError(
  p: QatModel,
  floatState: Record<string, Tensor>,
  state: Record<string, Tensor>,
  xs: Tensor[],
  node: string,
): Float64Array {
  const grab = (model: QatModel, state: Record<string, Tensor>) => {
    const outs: Tensor[] = [];
    for (const x of xs) {
      model.run(
        new Scope(state, "", { training: false, updates: new Map() }),
        x,
        (n, y) => n === node && outs.push(y),
      );
    }
    return outs;
  };
  const f = grab(p.withState(FakeQuantState.CALIBRATION), floatState);
  const q = grab(p.withState(FakeQuantState.VALIDATION), state);
  const c = f[0].shape[1], sums = new Float64Array(c);
  let n = 0;
  f.forEach((t, k) => {
    const inner = t.size / (t.shape[0] * c);
    for (let i = 0; i < t.size; i++) sums[Math.floor(i / inner) % c] += t.data[i] - q[k].data[i];
    n += t.size / c;
  });
  return sums.map((v) => v / n);
}

Deno.test("correctBias() zeroes the mean output error on its calibration data, to the int32 bias's rounding", () => {
  const m = new Sequential(
    new QuantStub(),
    new Conv2d(3, 8, 3),
    new ReLU(),
    new Conv2d(8, 4, 1),
    new DeQuantStub(),
  );
  const data = randomNormal(randomKey(2), [24, 3, 10, 10]);
  const xs = [...splitBatches(data, 8)];
  const r = ptq(m, initState(m, randomKey(7)), data, {
    qconfig: { "": q8, moduleName: { "3": q32 } },
    march: March.BAYES,
  });
  const before = meanError(r.prepared, r.state, r.state, xs, "3");
  const c = correctBias(r.prepared, r.state, xs);
  assertEquals(c.shifts.map((s) => s.key), ["1.bias", "3.bias"]);
  const after = meanError(r.prepared, r.state, c.state, xs, "3");
  const sx = r.prepared.scaleOf(r.state, "1.activation_post_process")[0];
  const sw = r.prepared.scaleOf(r.state, "3.weight_fake_quant");
  for (let ch = 0; ch < 4; ch++) {
    assertLessOrEqual(Math.abs(after[ch]), 0.5 * sx * sw[ch] * (1 + 1e-6) + 1e-9);
  }
  assertGreater(Math.max(...before.map(Math.abs)), Math.max(...after.map(Math.abs)));
});

Deno.test("adaround() learns a rounding no worse than nearest, on the weight grid, and conversion keeps it", async () => {
  const held = await loadNpy(`${ONNX}resnet_block.input.npy`, { dtype: "float32" });
  const m = await readOnnx(`${ONNX}resnet_block.onnx`, { inputShape: held.shape, quantStubScale: null });
  const data = randomNormal(randomKey(6), [8, 3, 32, 32]);
  const r = ptq(m, m.initialState(), data, { qconfig: { "": q8 }, march: March.BAYES, warn: () => {} });
  const a = adaround(r.prepared, r.state, { iterations: 60, batches: [data], rows: 8 });
  assertEquals(a.layers.length, 5);
  for (const l of a.layers) assertLessOrEqual(l.error, l.nearestError);
  assert(a.layers.some((l) => l.flipped > 0 && l.error < l.nearestError), "some layer improves");
  // Every rounded weight lies on its grid (the folded weight over its scale is an integer).
  const conv = a.layers[0].node, s = r.prepared.scaleOf(a.state, `${conv}.weight_fake_quant`);
  const w = a.state[`${conv}.weight`], per = w.size / w.shape[0];
  const bn = r.prepared.graph.nodes.find((n) => n.name === conv)!.kind as {
    bn?: { module: string; eps: number };
  };
  for (let i = 0; i < w.size; i++) {
    const c = Math.floor(i / per);
    const fold = bn.bn
      ? a.state[`${bn.bn.module}.weight`].data[c] /
        Math.sqrt(a.state[`${bn.bn.module}.running_var`].data[c] + bn.bn.eps)
      : 1;
    const q = Math.fround(w.data[i] * Math.fround(fold)) / s[c];
    assertLessOrEqual(Math.abs(q - Math.round(q)), 1e-3);
  }
  assert(convertFx(r.prepared.withState(FakeQuantState.VALIDATION), a.state).instructions.length > 0);
});

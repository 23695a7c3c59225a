import { assert, assertEquals } from "@std/assert";
import { fromArray, type Tensor, tensor } from "@hqat/tensor";
import type { Optimizer, OptimizerState, Params } from "./optim.ts";
import { adam, adamw } from "./optim_adam.ts";
import { sgd } from "./optim_sgd.ts";

const bits = (t: Tensor) => Array.from(new Int32Array(Float32Array.from(t.data as Float32Array).buffer));
const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k + k) / k);

/** Every float32 array of params and state, by name, as bits. */
function snapshot(params: Params, state: OptimizerState): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(params)) out[k] = bits(v);
  for (const [slot, buffers] of Object.entries(state.slots)) {
    for (const [k, v] of Object.entries(buffers)) out[`${slot}.${k}`] = bits(v);
  }
  return out;
}

const OPTIMIZERS: [string, () => Optimizer][] = [
  ["adam() with weight decay", () => adam({ lr: 1e-2, weightDecay: 1e-3 })],
  ["adamw() amsgrad", () => adamw({ lr: 1e-2, amsgrad: true })],
  ["sgd() nesterov", () => sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })],
  ["sgd() plain", () => sgd({ lr: 0.1 })],
];

/** Parameters of every kind a donated step meets: whole arrays, a view, a tied pair, a small one. */
function makeParams(): { params: Record<string, Tensor>; grads: (step: number) => Record<string, Tensor> } {
  const big = 3 * 4096 + 5;
  const file = wave(2 * big, 7); // two parameters loaded as views of one buffer
  const tied = fromArray(wave(64, 3), [64]);
  const params = {
    "a.weight": fromArray(wave(big, 1), [big]),
    "b.weight": fromArray(file.subarray(0, big), [big]),
    "c.weight": fromArray(file.subarray(big), [big]),
    "d.weight": tied,
    "e.weight": tied,
    "f.bias": tensor([0.5, -0.25, 2]),
  };
  const grads = (step: number) => {
    const g: Record<string, Tensor> = {};
    Object.entries(params).forEach(([k, v], i) => g[k] = fromArray(wave(v.size, 11 + i + step), v.shape));
    return g;
  };
  return { params, grads };
}

for (const [label, make] of OPTIMIZERS) {
  Deno.test(`${label}: step() with donate gives the same bits and reuses only unshared whole arrays`, () => {
    const opt = make();
    const { params, grads } = makeParams();
    // The reference: three steps without donating, each result left untouched by the next step.
    let p: Params = params, state = opt.init(params);
    const reference: Record<string, number[]>[] = [];
    const handedOut: { params: Params; state: OptimizerState }[] = [];
    for (let i = 0; i < 3; i++) {
      ({ params: p, state } = opt.step(p, grads(i), state));
      reference.push(snapshot(p, state));
      handedOut.push({ params: p, state });
    }
    handedOut.forEach((r, i) =>
      assertEquals(snapshot(r.params, r.state), reference[i], `step ${i + 1} untouched`)
    );

    const start = snapshot(params, opt.init(params));
    let q: Params = params, s = opt.init(params);
    ({ params: q, state: s } = opt.step(q, grads(0), s)); // the caller's own state is not donated
    assertEquals(snapshot(params, opt.init(params)), start, "the first step's input is left as it was");
    assertEquals(snapshot(q, s), reference[0]);
    for (let i = 1; i < 3; i++) {
      const before = q;
      ({ params: q, state: s } = opt.step(q, grads(i), s, { donate: true }));
      assertEquals(snapshot(q, s), reference[i], `donated step ${i + 1}`);
      assert(q["a.weight"].data === before["a.weight"].data, "a whole, unshared array is reused");
      assert(q["f.bias"].data === before["f.bias"].data, "so is a small one");
      assert(q["d.weight"].data !== q["e.weight"].data, "tied parameters get arrays of their own");
    }
    // Donating the initial parameters: the views of one buffer and the tied pair keep their values.
    const again = makeParams();
    const tiedBits = bits(again.params["d.weight"]), viewBits = bits(again.params["b.weight"]);
    const r = opt.step(again.params, grads(0), opt.init(again.params), { donate: true });
    assertEquals(snapshot(r.params, r.state), reference[0], "a donated first step");
    assert(r.params["a.weight"].data === again.params["a.weight"].data);
    assertEquals(bits(again.params["b.weight"]), viewBits, "views of a shared buffer are not reused");
    assertEquals(bits(again.params["d.weight"]), tiedBits, "nor a tensor that two parameters share");
  });
}

Deno.test("Optimizer.step() with donate does not reuse an array that a gradient shares", () => {
  const opt = adam({ lr: 0.1 });
  const w = fromArray(wave(5000, 1), [5000]);
  const first = opt.step({ w }, { w: fromArray(wave(5000, 2), [5000]) }, opt.init({ w }));
  const p = first.params.w;
  const expected = opt.step(first.params, { w: p }, first.state);
  const got = opt.step(first.params, { w: p }, first.state, { donate: true });
  assert(got.params.w.data !== p.data);
  assertEquals(bits(got.params.w), bits(expected.params.w));
});

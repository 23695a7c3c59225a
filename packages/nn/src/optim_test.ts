import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { fromArray, type Tensor, tensor } from "@hqat/tensor";
import {
  type Optimizer,
  type OptimizerState,
  optimizerStateFromEntries,
  optimizerStateToEntries,
  type Params,
} from "./optim.ts";
import { adam, adamw } from "./optim_adam.ts";
import { sgd } from "./optim_sgd.ts";

type JsonTensors = Record<string, { shape: number[]; data: number[] }>;
interface GoldenStep {
  lr: number | null;
  grads: JsonTensors;
  params: JsonTensors;
  state: JsonTensors;
  step: number | null;
}
interface GoldenCase {
  name: string;
  optimizer: "sgd" | "adam" | "adamw";
  options: Record<string, number | boolean | number[]>;
  initial: JsonTensors;
  steps: GoldenStep[];
}

const golden: { optimizers: GoldenCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/optim_golden.json", import.meta.url)),
);

const toParams = (j: JsonTensors): Record<string, Tensor> =>
  Object.fromEntries(Object.entries(j).map(([k, v]) => [k, fromArray(new Float32Array(v.data), v.shape)]));

function makeOptimizer(c: GoldenCase): Optimizer {
  const o = c.options as Record<string, never>;
  if (c.optimizer === "sgd") {
    return sgd({
      lr: o.lr,
      momentum: o.momentum,
      dampening: o.dampening,
      nesterov: o.nesterov,
      weightDecay: o.weight_decay,
    });
  }
  const make = c.optimizer === "adam" ? adam : adamw;
  return make({ lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weight_decay, amsgrad: o.amsgrad });
}

/** |actual − expected| ≤ 1e-6 · |expected| (values at most 1e-30 count as 0). */
function assertClose(actual: Float32Array, expected: number[], what: string): void {
  assertEquals(actual.length, expected.length, what);
  expected.forEach((e, i) => {
    const ok = Math.abs(actual[i] - e) <= 1e-6 * Math.max(Math.abs(e), 1e-30);
    assert(ok, `${what}[${i}]: ${actual[i]} differs from PyTorch's ${e}`);
  });
}

for (const c of golden.optimizers) {
  Deno.test(`${c.optimizer}() follows PyTorch 1.13's trajectory: ${c.name}`, () => {
    const opt = makeOptimizer(c);
    let params: Params = toParams(c.initial);
    let state = opt.init(params);
    c.steps.forEach((s, i) => {
      const before = params.w.toArray();
      const r = opt.step(params, toParams(s.grads), state, s.lr === null ? {} : { lr: s.lr });
      assertEquals(params.w.toArray(), before, "the input parameters are left as they were");
      params = r.params;
      state = r.state;
      assertEquals(Object.keys(params), Object.keys(c.initial));
      for (const [name, v] of Object.entries(s.params)) {
        assertClose(params[name].data as Float32Array, v.data, `step ${i + 1} ${name}`);
      }
      const entries = new Map(optimizerStateToEntries(state));
      assertEquals([...entries.keys()].sort(), [...Object.keys(s.state), "step"].sort());
      for (const [name, v] of Object.entries(s.state)) {
        assertClose(entries.get(name)!.data as Float32Array, v.data, `step ${i + 1} state ${name}`);
      }
      assertEquals(state.step, i + 1);
      if (s.step !== null) assertEquals(state.step, s.step);
    });
  });
}

const f32 = fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true });

Deno.test("sgd() without momentum takes one step p − lr·(g + wd·p)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(f32, f32), { minLength: 1, maxLength: 20 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.constantFrom(0, 1e-4, 0.01, 0.5),
      (pairs, lr, wd) => {
        const p = fromArray(Float32Array.from(pairs, ([x]) => x), [pairs.length]);
        const g = fromArray(Float32Array.from(pairs, ([, y]) => y), [pairs.length]);
        const opt = sgd({ lr, weightDecay: wd });
        const { params, state } = opt.step({ p }, { p: g }, opt.init({ p }));
        assertEquals(Object.keys(state.slots), []);
        pairs.forEach(([x, y], i) => {
          const pf = Math.fround(x), gf = Math.fround(y);
          const expected = pf - lr * (gf + wd * pf);
          const scale = Math.abs(pf) + lr * (Math.abs(gf) + wd * Math.abs(pf));
          const got = params.p.data[i];
          assert(Math.abs(got - expected) <= 1e-6 * scale + 1e-30, `${got} vs ${expected}`);
        });
      },
    ),
    { seed: 42, numRuns: 200 },
  );
});

Deno.test("optimizerStateToEntries() and optimizerStateFromEntries() round-trip a state", () => {
  for (const opt of [sgd({ lr: 0.1, momentum: 0.9 }), adam({ amsgrad: true }), adamw(), sgd({ lr: 1 })]) {
    const params = { "features.0.0.weight": tensor([[1, 2], [3, 4]]), "classifier.1.bias": tensor([5, 6]) };
    const grads = {
      "features.0.0.weight": tensor([[0.5, -1], [2, 0]]),
      "classifier.1.bias": tensor([1, -3]),
    };
    let state: OptimizerState = opt.init(params);
    let p: Params = params;
    for (let i = 0; i < 3; i++) ({ params: p, state } = opt.step(p, grads, state));
    const entries = optimizerStateToEntries(state);
    assertEquals(entries.at(-1)![0], "step");
    assertEquals(entries.at(-1)![1].dtype, "int32");
    for (const slot of opt.slots) assert(entries.some(([n]) => n === `${slot}.features.0.0.weight`));
    const back = optimizerStateFromEntries(entries, params);
    assertEquals(back.step, 3);
    assertEquals(Object.keys(back.slots), opt.slots);
    for (const slot of opt.slots) {
      for (const name of Object.keys(params)) {
        assertEquals(back.slots[slot][name].toArray(), state.slots[slot][name].toArray());
      }
    }
    // Continuing from the loaded state equals continuing from the original one.
    const a = opt.step(p, grads, state), b = opt.step(p, grads, back);
    for (const name of Object.keys(params)) assertEquals(a.params[name].toArray(), b.params[name].toArray());
  }
});

Deno.test("optimizerStateFromEntries() rejects entries that do not fit the parameters", () => {
  const params = { w: tensor([1, 2]), b: tensor([3]) };
  const good = optimizerStateToEntries(adam().init(params));
  const without = (name: string) => good.filter(([n]) => n !== name);
  const cases: [[string, Tensor][], RegExp][] = [
    [without("step"), /"step" is missing/],
    [without("exp_avg_sq.b"), /"exp_avg_sq\.b" is missing/],
    [[...good, ["exp_avg.c", tensor([0])]], /names no parameter \("c"\)/],
    [
      [...without("exp_avg.w"), ["exp_avg.w", tensor([0, 0, 0])]],
      /has shape \[3\] but parameter "w" has shape \[2\]/,
    ],
    [[...without("exp_avg.w"), ["exp_avg.w", tensor([0, 0], { dtype: "int32" })]], /is int32, not float32/],
    [[...without("step"), ["step", tensor(-1, { dtype: "int32" })]], /non-negative integer/],
    [[...without("step"), ["step", tensor([1.5])]], /non-negative integer/],
    [[...good, ["nodot", tensor([0])]], /is not "step" nor/],
    [[...good, ["step", tensor(1, { dtype: "int32" })]], /"step" appears twice/],
  ];
  for (const [entries, message] of cases) {
    const e = assertThrows(() => optimizerStateFromEntries(entries, params, { label: '"ckpt.safetensors"' }));
    assert(e instanceof RangeError || e instanceof TypeError);
    assert(message.test((e as Error).message), (e as Error).message);
    assert((e as Error).message.startsWith('Cannot load "ckpt.safetensors": '));
  }
});

Deno.test("Optimizer.step() rejects mismatched gradients, states and hyperparameters", () => {
  const params = { w: tensor([1, 2]) };
  const opt = adam();
  const state = opt.init(params);
  assertThrows(() => opt.step(params, {}, state), RangeError, `parameter "w" has no gradient`);
  assertThrows(
    () => opt.step(params, { w: tensor([1, 2, 3]) }, state),
    RangeError,
    `gradient "w" is float32[3]`,
  );
  assertThrows(
    () => opt.step(params, { w: tensor([1, 2]), v: tensor([1]) }, state),
    RangeError,
    `"v" names no`,
  );
  const momentum = sgd({ lr: 0.1, momentum: 0.9 });
  assertThrows(() => momentum.step(params, params, state), RangeError, `no "momentum_buffer" buffers`);
  assertThrows(() => sgd({ lr: 0.1 }).step(params, params, state), RangeError, `"exp_avg" buffers`);
  assertThrows(() => opt.step(params, params, { ...state, step: -1 }), RangeError, "non-negative integer");
  assertThrows(() => opt.step(params, params, state, { lr: -1 }), RangeError, "lr must be");
  assertThrows(() => opt.init({ q: tensor([1], { dtype: "int8" }) }), TypeError, `"q" is int8, not float32`);
  assertThrows(() => sgd({ lr: 0.1, nesterov: true }), RangeError, "Nesterov momentum needs");
  assertThrows(() => sgd({ lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), RangeError, "Nesterov");
  assertThrows(() => adam({ betas: [0.9, 1] }), RangeError, "betas[1]");
  assertThrows(() => adamw({ eps: -1 }), RangeError, "eps");
  assertThrows(() => sgd({ lr: NaN }), RangeError, "lr");
});

Deno.test("adamw() defaults to weight decay 1e-2 and adam() to none", () => {
  const params = { w: tensor([1]) };
  const zero = { w: tensor([0]) };
  assertEquals(
    adamw({ lr: 0.5 }).step(params, zero, adamw().init(params)).params.w.data[0],
    Math.fround(0.995),
  );
  assertEquals(adam({ lr: 0.5 }).step(params, zero, adam().init(params)).params.w.data[0], 1);
});

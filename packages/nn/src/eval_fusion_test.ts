import { assertEquals } from "@std/assert";
import {
  abs,
  add,
  mul,
  observeOps,
  profileOps,
  randomKey,
  randomNormal,
  sum,
  type Tensor,
  valueAndGrad,
} from "@hqat/tensor";
import { forward, initState, mobilenetV2, type StateDict } from "../mod.ts";
import { BatchNorm2d, Conv2d, ReLU, ReLU6 } from "./layers.ts";
import { Sequential } from "./containers.ts";

const bits = (t: Tensor) => Array.from(new Int32Array((t.data as Float32Array).slice().buffer));

/** A state whose batch norms have non-trivial running statistics. */
function perturbed(state: StateDict): StateDict {
  const out: StateDict = {};
  let i = 0;
  for (const [k, v] of Object.entries(state)) {
    const noise = () => randomNormal(randomKey(100 + i++), v.shape, { std: 0.3 });
    if (k.endsWith("running_var")) out[k] = add(abs(randomNormal(randomKey(200 + i++), v.shape)), 0.2);
    else if (k.endsWith("running_mean") || (k.endsWith(".bias") && !k.startsWith("classifier"))) {
      out[k] = noise();
    } else out[k] = v;
  }
  return out;
}

/** Layer by layer: an interceptor turns fusion off. */
const layerByLayer = {
  intercept: (_n: string, _m: unknown, x: Tensor, run: (x: Tensor) => Tensor) => run(x),
};

Deno.test("forward() in eval mode gives MobileNetV2's layer-by-layer outputs bit for bit with conv, BN and ReLU6 fused", () => {
  const model = mobilenetV2({ numClasses: 10 });
  const state = perturbed(initState(model, randomKey(0)));
  const x = randomNormal(randomKey(1), [3, 3, 32, 32]);
  const { result, profile } = profileOps(() => forward(model, state, x).y);
  // The whole of `features` is one chain: the first layer, the 17 blocks' 51 layers, the last layer.
  assertEquals(profile.calls.get("conv2dAffine") ?? 0, 0);
  assertEquals(profile.calls.get("conv2dAffineChain"), 1);
  assertEquals(profile.calls.get("conv2d") ?? 0, 0);
  const want = bits(forward(model, state, x, layerByLayer).y);
  assertEquals(bits(result), want);
  // The ten blocks with a skip connection add their input inside the chain (from their first layer's input
  // to their third layer's output), not as an add of its own.
  const chains: string[] = [];
  const count = (op: string, _ins: unknown, a: unknown) => {
    const c = a as { skips?: { from: number; to: number }[]; layers: unknown[] };
    const skips = (c.skips ?? []).map((k) => `${k.from}-${k.to}`);
    if (op === "conv2dAffineChain") chains.push(`${c.layers.length}: ${skips.join(" ")}`);
  };
  assertEquals(bits(observeOps(count, () => forward(model, state, x).y)), want);
  assertEquals(chains, ["52: 6-8 12-14 15-17 21-23 24-26 27-29 33-35 36-38 42-44 45-47"]);
  // Later passes reuse the intermediate arrays handed back; no result handed out changes.
  const x2 = randomNormal(randomKey(2), [3, 3, 32, 32]);
  const again = [forward(model, state, x2).y, forward(model, state, x).y, forward(model, state, x2).y];
  assertEquals(bits(result), want);
  assertEquals(bits(again[1]), want);
  assertEquals(bits(again[0]), bits(forward(model, state, x2, layerByLayer).y));
  assertEquals(bits(again[2]), bits(again[0]));
  // An interceptor that keeps `features`' output and the classifier's input sees them unchanged by later passes
  // (nothing handed back; 16 images, so that they are large enough for the pool to keep).
  const x16 = randomNormal(randomKey(3), [16, 3, 32, 32]);
  const kept: Tensor[] = [];
  const keep = {
    intercept: (name: string, _m: unknown, x: Tensor, run: (x: Tensor) => Tensor) => {
      const y = run(x);
      if (name === "features") kept.push(y);
      if (name === "classifier") kept.push(x);
      return y;
    },
  };
  forward(model, state, x16, keep);
  const before = kept.map(bits);
  forward(model, state, mul(x16, 2));
  forward(model, state, mul(x16, 3));
  assertEquals(kept.map(bits), before);
});

Deno.test("forward() in eval mode hands no intermediate back while autodiff records or an observer watches", () => {
  const m = new Sequential(
    new Sequential(new Conv2d(8, 64, 1, { bias: false }), new BatchNorm2d(64), new ReLU6()),
    new Sequential(
      new Conv2d(64, 64, 3, { padding: 1, groups: 64, bias: false }),
      new BatchNorm2d(64),
      new ReLU6(),
    ),
    new Conv2d(64, 8, 1, { bias: false }),
    new BatchNorm2d(8),
  );
  const state = perturbed(initState(m, randomKey(4)));
  const x = randomNormal(randomKey(5), [4, 8, 16, 16]);
  const kept: Tensor[] = [];
  const seen = observeOps((_op, _ins, _a, outs) => kept.push(...outs), () => forward(m, state, x).y);
  const copies = kept.map(bits);
  for (let i = 0; i < 3; i++) forward(m, state, x);
  kept.forEach((t, i) => assertEquals(bits(t), copies[i]));
  assertEquals(bits(seen), bits(forward(m, state, x, layerByLayer).y));
});

Deno.test("forward() in eval mode fuses only what it can, with the same values and gradients", () => {
  const m = new Sequential(
    new Conv2d(4, 6, 3, { padding: 1, bias: false }),
    new BatchNorm2d(6),
    new ReLU(),
    new Conv2d(6, 6, 3, { padding: 1, bias: true }),
    new BatchNorm2d(6),
    new ReLU6(),
    new Conv2d(6, 5, 1, { bias: false }),
    new BatchNorm2d(5),
    new ReLU6(),
  );
  const state = perturbed(initState(m, randomKey(2)));
  const x = randomNormal(randomKey(3), [2, 4, 6, 6]);
  const f = (opts: object) => (p: { x: Tensor; s: StateDict }) => sum(forward(m, p.s, p.x, opts).y);
  const a = valueAndGrad(f({}))({ x, s: state }), b = valueAndGrad(f(layerByLayer))({ x, s: state });
  assertEquals(bits(a.value), bits(b.value));
  // A fused layer without a clamp (the first, whose ReLU stays apart) has the three ops' gradient up to
  // float rounding; one with a clamp has it bit for bit.
  assertClose(a.grad.x, b.grad.x, "x");
  for (const k of Object.keys(state)) {
    if (state[k].dtype !== "float32") continue;
    if (k.startsWith("0.") || k.startsWith("1.")) assertClose(a.grad.s[k], b.grad.s[k], k);
    else assertEquals(bits(a.grad.s[k]), bits(b.grad.s[k]), k);
  }
});

/** |a − b| ≤ 1e-5 · (|b| + 1e-2 · max |b|) elementwise. */
function assertClose(a: Tensor, b: Tensor, what: string): void {
  const x = a.data as Float32Array, y = b.data as Float32Array;
  const big = y.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let i = 0; i < x.length; i++) {
    if (!(Math.abs(x[i] - y[i]) <= 1e-5 * (Math.abs(y[i]) + 1e-2 * big))) {
      throw new Error(`${what}[${i}]: ${x[i]} vs ${y[i]}`);
    }
  }
}

Deno.test("forward() in training runs a batch norm and its ReLU6 as one op: the same values, gradients and statistics", () => {
  const model = mobilenetV2({ numClasses: 10 });
  const state = perturbed(initState(model, randomKey(6)));
  const x = randomNormal(randomKey(7), [4, 3, 32, 32]);
  const f = (opts: object) => (p: { x: Tensor; s: StateDict }) => {
    const r = forward(model, p.s, p.x, { training: true, key: randomKey(8), ...opts });
    return [sum(mul(r.y, r.y)), r.updates] as [Tensor, Map<string, Tensor>];
  };
  const { result: a, profile } = profileOps(() => valueAndGrad(f({}), { hasAux: true })({ x, s: state }));
  const b = valueAndGrad(f(layerByLayer), { hasAux: true })({ x, s: state });
  assertEquals(profile.calls.get("clamp") ?? 0, 0);
  assertEquals(bits(a.value), bits(b.value));
  assertEquals(bits(a.grad.x), bits(b.grad.x));
  for (const k of Object.keys(state)) {
    if (state[k].dtype === "float32") assertEquals(bits(a.grad.s[k]), bits(b.grad.s[k]), k);
  }
  for (const [k, t] of b.aux) if (t.dtype === "float32") assertEquals(bits(a.aux.get(k)!), bits(t), k);
});

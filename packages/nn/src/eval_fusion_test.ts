import { assertEquals } from "@std/assert";
import { abs, add, profileOps, randomKey, randomNormal, sum, type Tensor, valueAndGrad } from "@hqat/tensor";
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
  assertEquals(profile.calls.get("conv2dAffine"), 52);
  assertEquals(profile.calls.get("conv2d") ?? 0, 0);
  assertEquals(bits(result), bits(forward(model, state, x, layerByLayer).y));
});

Deno.test("forward() in eval mode fuses only what it can and keeps the gradients bit for bit", () => {
  const m = new Sequential(
    new Conv2d(4, 6, 3, { padding: 1, bias: false }),
    new BatchNorm2d(6),
    new ReLU(),
    new Conv2d(6, 6, 3, { padding: 1, bias: true }),
    new BatchNorm2d(6),
    new ReLU6(),
    new Conv2d(6, 5, 1, { bias: false }),
    new BatchNorm2d(5),
  );
  const state = perturbed(initState(m, randomKey(2)));
  const x = randomNormal(randomKey(3), [2, 4, 6, 6]);
  const f = (opts: object) => (p: { x: Tensor; s: StateDict }) => sum(forward(m, p.s, p.x, opts).y);
  const a = valueAndGrad(f({}))({ x, s: state }), b = valueAndGrad(f(layerByLayer))({ x, s: state });
  assertEquals(bits(a.value), bits(b.value));
  assertEquals(bits(a.grad.x), bits(b.grad.x));
  for (const k of Object.keys(state)) {
    if (state[k].dtype === "float32") assertEquals(bits(a.grad.s[k]), bits(b.grad.s[k]), k);
  }
});

import { assertEquals } from "@std/assert";
import {
  batchNormTrain,
  mul,
  ones,
  randomKey,
  randomNormal,
  relu6,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
} from "@hqat/tensor";

const bits = (t: Tensor) => Array.from(new Int32Array((t.data as Float32Array).slice().buffer));

Deno.test("batchNormTrain({ clampMax: 6 }) equals batchNormTrain then relu6 bit for bit, values and gradients", () => {
  for (const [shape, seed] of [[[8, 5, 6, 7], 1], [[3, 4, 1, 1], 2], [[16, 24, 8, 8], 3]] as const) {
    const x = mul(randomNormal(randomKey(seed), shape), 4);
    const gamma = randomNormal(randomKey(seed + 10), [shape[1]]),
      beta = randomNormal(randomKey(seed + 20), [shape[1]]);
    const probe = randomNormal(randomKey(seed + 30), shape);
    type P = { x: Tensor; gamma: Tensor; beta: Tensor };
    const fused = (p: P) => {
      const r = batchNormTrain(p.x, p.gamma, p.beta, 1e-5, { clampMax: 6 });
      return [sum(mul(r.y, probe)), r] as [Tensor, typeof r];
    };
    const apart = (p: P) => {
      const r = batchNormTrain(p.x, p.gamma, p.beta, 1e-5);
      return [sum(mul(relu6(r.y), probe)), { ...r, y: relu6(r.y) }] as [Tensor, typeof r];
    };
    const a = valueAndGrad(fused, { hasAux: true })({ x, gamma, beta });
    const b = valueAndGrad(apart, { hasAux: true })({ x, gamma, beta });
    assertEquals(bits(a.aux.y), bits(b.aux.y));
    assertEquals(bits(a.aux.mean), bits(b.aux.mean));
    assertEquals(bits(a.aux.variance), bits(b.aux.variance));
    for (const k of ["x", "gamma", "beta"] as const) assertEquals(bits(a.grad[k]), bits(b.grad[k]), k);
  }
});

Deno.test("batchNormTrain({ clampMax }) clamps to [0, clampMax]", () => {
  const x = tensor([[-3], [-1], [1], [3]]);
  const { y } = batchNormTrain(x, ones([1]), tensor([0.5]), 0, { clampMax: 1 });
  // normalized: about −1.34, −0.45, 0.45, 1.34; shifted by 0.5; clamped to [0, 1]
  assertEquals(Array.from(y.data).map((v) => Math.round(v * 100) / 100), [0, 0.05, 0.95, 1]);
});

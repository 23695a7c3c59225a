import { assert, assertEquals, assertNotEquals } from "@std/assert";
import {
  batchNormEval,
  conv2dBatchNormEval,
  observeOps,
  profileOps,
  randomKey,
  randomNormal,
  sum,
  type Tensor,
  valueAndGrad,
} from "@hqat/tensor";
import { randomBatchNorm } from "./cpu/bn_test_util.ts";

const values = (t: Tensor) => Array.from(t.data as Float32Array);

Deno.test("batchNormEval() computes a fold once for the same statistics and again for any other tensor or ε", () => {
  const x = randomNormal(randomKey(1), [2, 3, 4, 4]);
  const p = randomBatchNorm(3, 2, { min: 0.1, max: 2 });
  const first = values(batchNormEval(x, p));
  // The same tensors again (in a new object): the fold is reused, so no op but the affine map runs.
  const { result, profile } = profileOps(() => batchNormEval(x, { ...p }));
  assertEquals(values(result), first);
  assertEquals([...profile.calls.keys()], ["channelAffine"]);
  const ops: string[] = [];
  // Each of the other inputs replaced (same variance tensor): the fold follows it.
  const other = randomBatchNorm(3, 3, { min: 0.1, max: 2 });
  for (const key of ["mean", "gamma", "beta"] as const) {
    const q = { ...p, [key]: other[key] };
    const fresh = values(batchNormEval(x, q));
    assertNotEquals(fresh, first, key);
    // and equals what a traced run (which never reads the cache) computes
    const traced = values(observeOps((op) => ops.push(op), () => batchNormEval(x, q)));
    assertEquals(fresh, traced, key);
  }
  assertEquals(values(batchNormEval(x, p)), first);
  assertNotEquals(values(batchNormEval(x, { ...p, eps: 0.5 })), first, "eps");
  assert(ops.includes("rsqrt"), "a watched run computes its fold");
});

Deno.test("conv2dBatchNormEval() differentiates through γ after its fold was cached", () => {
  const x = randomNormal(randomKey(5), [1, 2, 3, 3]), w = randomNormal(randomKey(6), [2, 2, 1, 1]);
  const p = randomBatchNorm(2, 7, { min: 0.1, max: 2 });
  conv2dBatchNormEval(x, w, { bn: p }); // caches the fold
  const { grad } = valueAndGrad((g: Tensor) => sum(conv2dBatchNormEval(x, w, { bn: { ...p, gamma: g } })))(
    p.gamma,
  );
  assert(values(grad).some((v) => v !== 0), "γ's gradient must reach the fold");
});

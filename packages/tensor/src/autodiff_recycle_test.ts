import { assert, assertEquals } from "@std/assert";
import {
  add,
  conv2d,
  mul,
  observeOps,
  randomKey,
  randomNormal,
  relu6,
  reshape,
  sum,
  type Tensor,
  valueAndGrad,
  zeros,
} from "@hqat/tensor";
import { clearFloatPool } from "./cpu/float_pool.ts";
import { releaseIntermediates } from "./autodiff_recycle.ts";
import type { TapeEntry } from "./engine.ts";

const bits = (t: Tensor) => Array.from(new Int32Array((t.data as Float32Array).slice().buffer));

type P = { x: Tensor; w0: Tensor; w1: Tensor; w2: Tensor };

/**
 * Convolutions (whose kernels take their results from the pool, here all of one length), a pass-through
 * rule (add hands one cotangent to both operands) and a reshape (which shares storage).
 */
function loss(p: P): [Tensor, Tensor] {
  const a = relu6(conv2d(p.x, p.w0, { padding: 1 }));
  const s = add(conv2d(a, p.w1, { padding: 1 }), conv2d(a, p.w2, { padding: 1 }));
  const flat = reshape(s, [-1]);
  return [sum(mul(flat, flat)), a];
}

const params = (seed: number): P => ({
  x: randomNormal(randomKey(seed), [8, 16, 16, 16]),
  w0: randomNormal(randomKey(seed + 1), [16, 16, 3, 3], { std: 0.1 }),
  w1: randomNormal(randomKey(seed + 2), [16, 16, 3, 3], { std: 0.1 }),
  w2: randomNormal(randomKey(seed + 3), [16, 16, 3, 3], { std: 0.1 }),
});

Deno.test("valueAndGrad() hands finished cotangents back and gives the same bits as without", () => {
  const p = params(1);
  const vg = valueAndGrad(loss, { hasAux: true });
  // An observer turns the recycling off: the reference.
  const ref = observeOps(() => {}, () => vg(p));
  const refBits = { value: bits(ref.value), aux: bits(ref.aux), x: bits(ref.grad.x), w0: bits(ref.grad.w0) };
  clearFloatPool();
  const runs = [vg(p), vg(p), vg(p)];
  for (const r of runs) {
    assertEquals(bits(r.value), refBits.value);
    assertEquals(bits(r.aux), refBits.aux);
    assertEquals(bits(r.grad.x), refBits.x);
    assertEquals(bits(r.grad.w0), refBits.w0);
    assertEquals(bits(r.grad.w1), bits(ref.grad.w1));
    assertEquals(bits(r.grad.w2), bits(ref.grad.w2));
  }
  // Results handed out earlier are untouched by the later passes.
  assertEquals(bits(runs[0].grad.x), refBits.x);
  assertEquals(bits(runs[0].aux), refBits.aux);
  assertEquals(bits(p.x), bits(params(1).x));
});

Deno.test("valueAndGrad() does hand cotangents back to the kernels", () => {
  const p = params(4);
  clearFloatPool();
  valueAndGrad(loss, { hasAux: true })(p);
  assert(clearFloatPool() > 0);
  observeOps(() => {}, () => valueAndGrad(loss, { hasAux: true })(p));
  assertEquals(clearFloatPool(), 0);
});

Deno.test("releaseIntermediates() keeps storage shared with the tape's inputs and with what is kept", () => {
  const x = add(zeros([128, 128]), 1);
  const r = reshape(x, [-1]); // shares x's storage
  const y = add(r, 1), z = add(y, 1), w = add(z, 1);
  const entries: TapeEntry[] = [
    { op: "reshape", attrs: { shape: [-1] }, inputs: [x], outputs: [r] },
    { op: "add", attrs: {}, inputs: [r], outputs: [y] },
    { op: "add", attrs: {}, inputs: [y], outputs: [z] },
    { op: "add", attrs: {}, inputs: [z], outputs: [w] },
  ];
  clearFloatPool();
  // y goes back; r shares x's storage, z is kept (in a Map inside an object), w is the value.
  assertEquals(releaseIntermediates(entries, [w, { aux: new Map([["z", z]]) }]), 1);
  assertEquals(clearFloatPool(), 128 * 128 * 4);
});

import { assert, assertEquals, assertLess } from "@std/assert";
import fc from "fast-check";
import {
  abs,
  add,
  avgPool2d,
  batchNormEval,
  batchNormTrain,
  broadcastTo,
  checkGradients,
  clamp,
  concat,
  conv2d,
  crossEntropy,
  div,
  exp,
  fromArray,
  grad,
  greater,
  log,
  logSoftmax,
  matmul,
  max,
  maximum,
  maxPool2d,
  minimum,
  mul,
  neg,
  pad,
  pow,
  randomKey,
  randomNormal,
  randomUniform,
  relu,
  relu6,
  reshape,
  rsqrt,
  sigmoid,
  slice,
  sqrt,
  sub,
  sum,
  tanh,
  type Tensor,
  tensor,
  topk,
  transpose,
  valueAndGrad,
  where,
} from "../mod.ts";

const FC = { seed: 42, numRuns: 12 };
const TOL = 2e-2;

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 });

function rnd(seed: number, shape: readonly number[], scale = 1): Tensor {
  return mul(randomNormal(randomKey(seed), shape), scale);
}

/** Values kept at least `gap` away from each of `kinks`. */
function awayFrom(seed: number, shape: readonly number[], kinks: number[], gap = 0.05): Tensor {
  const x = randomUniform(randomKey(seed), shape, { min: -3, max: 9 }).data as Float32Array;
  const d = new Float32Array(x.length);
  for (let i = 0; i < d.length; i++) {
    let v = x[i];
    for (const k of kinks) if (Math.abs(v - k) < gap) v = k + (v < k ? -gap : gap);
    d[i] = v;
  }
  return fromArray(d, shape);
}

/** Distinct values 0.1 apart in random order, so that max/top-k choices are stable under perturbation. */
function separated(seed: number, shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = randomUniform(randomKey(seed), [n]).data as Float32Array;
  const order = Array.from(u.keys()).sort((i, j) => u[i] - u[j]);
  const vals = new Float32Array(n);
  order.forEach((idx, rank) => (vals[idx] = rank * 0.1 - n * 0.05));
  return fromArray(vals, shape);
}

function check(name: string, f: (xs: Tensor[]) => Tensor, xs: Tensor[], eps = 1e-3): void {
  const r = checkGradients(f, xs, { eps });
  assertLess(r.error, TOL, `${name}: analytic ${r.analytic} vs numeric ${r.numeric}`);
}

Deno.test("unary ops' VJPs match finite differences", () => {
  fc.assert(
    fc.property(shapeArb, fc.integer(), (shape, seed) => {
      const x = rnd(seed, shape);
      const pos = add(abs(x), 0.5);
      check("neg", ([a]) => neg(a), [x]);
      check("exp", ([a]) => exp(a), [x]);
      check("log", ([a]) => log(a), [pos]);
      check("sqrt", ([a]) => sqrt(a), [pos]);
      check("rsqrt", ([a]) => rsqrt(a), [pos]);
      check("tanh", ([a]) => tanh(a), [x]);
      check("sigmoid", ([a]) => sigmoid(a), [x]);
      check("abs", ([a]) => abs(a), [awayFrom(seed, shape, [0])]);
      check("relu", ([a]) => relu(a), [awayFrom(seed, shape, [0])]);
      check("relu6", ([a]) => relu6(a), [awayFrom(seed, shape, [0, 6])]);
      check("clamp", ([a]) => clamp(a, -1, 2), [awayFrom(seed, shape, [-1, 2])]);
    }),
    FC,
  );
});

Deno.test("binary ops' VJPs match finite differences with broadcasting", () => {
  fc.assert(
    fc.property(shapeArb, fc.integer(), fc.boolean(), (shape, seed, bcast) => {
      const a = rnd(seed, shape);
      const bShape = bcast ? shape.map((d, i) => (i % 2 ? d : 1)) : shape;
      const b = rnd(seed + 1, bShape);
      const bPos = add(abs(b), 0.5);
      check("add", ([p, q]) => add(p, q), [a, b]);
      check("sub", ([p, q]) => sub(p, q), [a, b]);
      check("mul", ([p, q]) => mul(p, q), [a, b]);
      check("div", ([p, q]) => div(p, q), [a, bPos]);
      check("pow", ([p, q]) => pow(p, q), [add(abs(a), 0.5), b]);
      // Keep operands apart so that max/min do not switch under the perturbation.
      const apart = add(b, where(greater(a, b), 0.2, -0.2));
      check("maximum", ([p, q]) => maximum(p, q), [a, apart]);
      check("minimum", ([p, q]) => minimum(p, q), [a, apart]);
      const cond = greater(rnd(seed + 2, shape), 0);
      check("where", ([p, q]) => where(cond, p, q), [a, b]);
    }),
    FC,
  );
});

Deno.test("reduction and movement VJPs match finite differences", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 2, max: 4 }), { minLength: 3, maxLength: 3 }),
      fc.integer(),
      (shape, seed) => {
        const x = rnd(seed, shape);
        check("sum", ([a]) => sum(a, { axes: [0, 2] }), [x]);
        check("max", ([a]) => max(a, { axes: 1 }), [separated(seed, shape)]);
        check("reshape", ([a]) => reshape(a, [-1]), [x]);
        check("transpose", ([a]) => transpose(a, [2, 0, 1]), [x]);
        check("broadcastTo", ([a]) => broadcastTo(a, [2, ...shape]), [x]);
        check("slice", ([a]) => slice(a, [1, 0, 1]), [x]);
        check("pad", ([a]) => pad(a, [[1, 0], [0, 2], [1, 1]]), [x]);
        check("concat", ([a, b]) => concat([a, b], 1), [x, rnd(seed + 3, shape)]);
        check("topk", ([a]) => topk(a, 2, { axis: 1 }).values, [separated(seed, shape)]);
        check("logSoftmax", ([a]) => logSoftmax(a, 1), [x]);
      },
    ),
    FC,
  );
});

Deno.test("matmul() VJP matches finite differences for every transpose and batch broadcast", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
      fc.boolean(),
      fc.boolean(),
      fc.integer(),
      (m, k, n, ta, tb, seed) => {
        const a = rnd(seed, ta ? [2, k, m] : [2, m, k]);
        const b = rnd(seed + 1, tb ? [n, k] : [k, n]);
        check("matmul", ([p, q]) => matmul(p, q, { transA: ta, transB: tb }), [a, b]);
      },
    ),
    FC,
  );
});

Deno.test("conv2d() VJP matches finite differences over stride, padding, dilation and groups", () => {
  fc.assert(
    fc.property(
      fc.record({
        groups: fc.constantFrom(1, 2),
        cpg: fc.integer({ min: 1, max: 2 }),
        opg: fc.integer({ min: 1, max: 2 }),
        k: fc.integer({ min: 1, max: 3 }),
        stride: fc.integer({ min: 1, max: 2 }),
        padding: fc.integer({ min: 0, max: 1 }),
        dilation: fc.integer({ min: 1, max: 2 }),
        seed: fc.integer(),
      }),
      ({ groups, cpg, opg, k, stride, padding, dilation, seed }) => {
        const x = rnd(seed, [2, groups * cpg, 6, 5]);
        const w = rnd(seed + 1, [groups * opg, cpg, k, k]);
        const opts = { stride, padding, dilation, groups };
        check("conv2d", ([p, q]) => conv2d(p, q, opts), [x, w]);
        // Second order: the gradient ops are linear in each input.
        const dy = conv2d(x, w, opts);
        const gx = grad((xx: Tensor) => sum(mul(conv2d(xx, w, opts), dy)))(x);
        assertEquals(gx.shape, x.shape);
      },
    ),
    FC,
  );
});

Deno.test("pooling and batch-norm VJPs match finite differences", () => {
  fc.assert(
    fc.property(fc.integer(), fc.boolean(), (seed, ceil) => {
      const x = separated(seed, [2, 3, 5, 5]);
      check("maxPool2d", ([a]) => maxPool2d(a, 3, { stride: 2, padding: 1, ceilMode: ceil }), [x]);
      check("avgPool2d", ([a]) => avgPool2d(a, 3, { stride: 2, padding: 1, ceilMode: ceil }), [x]);
      check("avgPool2d (no pad count)", ([a]) => avgPool2d(a, 2, { countIncludePad: false, padding: 1 }), [
        x,
      ]);
      const xs = rnd(seed, [4, 3, 2, 2]);
      const g = add(rnd(seed + 1, [3]), 1), b = rnd(seed + 2, [3]);
      check("batchNorm y", ([a, gg, bb]) => batchNormTrain(a, gg, bb).y, [xs, g, b]);
      check("batchNorm mean+var", ([a, gg, bb]) => {
        const r = batchNormTrain(a, gg, bb);
        return add(r.mean, r.variance);
      }, [xs, g, b]);
    }),
    FC,
  );
});

Deno.test("crossEntropy() gradient equals softmax minus one-hot over N", () => {
  const logits = tensor([[1, 2, 3], [0, 0, 0]]);
  const labels = tensor([2, 0], { dtype: "int32" });
  const { value, grad: g } = valueAndGrad((l: Tensor) => crossEntropy(l, labels))(logits);
  const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
  const z = e[0] + e[1] + e[2];
  const expected = [e[0] / z / 2, e[1] / z / 2, (e[2] / z - 1) / 2, (1 / 3 - 1) / 2, 1 / 6, 1 / 6];
  g.toArray().forEach((v, i) => assert(Math.abs(v - expected[i]) < 1e-6, `grad[${i}] = ${v}`));
  const ce = ((-Math.log(e[2] / z)) + Math.log(3)) / 2;
  assert(Math.abs(value.item() - ce) < 1e-6);
});

Deno.test("valueAndGrad() returns zeros for unused parameters and accumulates reuse", () => {
  const p = { a: tensor([2]), b: tensor([5]) };
  const g = grad((q: typeof p) => mul(q.a, q.a))(p);
  assertEquals(g.a.toArray(), [4]);
  assertEquals(g.b.toArray(), [0]);
});

Deno.test("batchNormEval() (channelAffine) VJP matches finite differences for x, statistics and affine", () => {
  fc.assert(
    fc.property(fc.integer(), (seed) => {
      const x = rnd(seed, [3, 4, 2, 2]);
      const m = rnd(seed + 1, [4]),
        v = add(abs(rnd(seed + 2, [4])), 0.5),
        g = rnd(seed + 3, [4]),
        b = rnd(seed + 4, [4]);
      check(
        "batchNormEval",
        ([a, mm, vv, gg, bb]) => batchNormEval(a, { mean: mm, variance: vv, gamma: gg, beta: bb }),
        [x, m, v, g, b],
      );
    }),
    FC,
  );
});

import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  add,
  apply1,
  argmax,
  broadcastShapes,
  clamp,
  concat,
  dropout,
  foldIn,
  fromArray,
  greater,
  max,
  mul,
  ones,
  pad,
  randomKey,
  randomNormal,
  randomUniform,
  relu,
  reshape,
  sizeOf,
  slice,
  splitKey,
  stack,
  stridesOf,
  sub,
  sum,
  type Tensor,
  tensor,
  topk,
  transpose,
  where,
} from "../mod.ts";

const FC = { seed: 42, numRuns: 60 };

/** Element at a multi-index, reading through broadcasting. */
function at(t: Tensor, idx: number[]): number {
  const st = stridesOf(t.shape);
  let off = 0;
  const lead = idx.length - t.rank;
  for (let i = 0; i < t.rank; i++) off += (t.shape[i] === 1 ? 0 : idx[lead + i]) * st[i];
  return t.data[off];
}

function* indices(shape: readonly number[]): Generator<number[]> {
  const n = sizeOf(shape);
  const st = stridesOf(shape);
  for (let k = 0; k < n; k++) yield shape.map((d, i) => Math.floor(k / st[i]) % d);
}

const dims = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 });
/** Two broadcast-compatible shapes. */
const bshapes = dims.chain((s) =>
  fc.tuple(
    fc.constant(s),
    fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
    fc.integer({ min: 0, max: s.length }),
  ).map(([s, ones, drop]) => [s, s.map((d, i) => (ones[i] ? 1 : d)).slice(drop)] as const)
);

Deno.test("binary ops broadcast like NumPy (property against index arithmetic)", () => {
  fc.assert(
    fc.property(bshapes, fc.integer(), fc.boolean(), ([sa, sb], seed, swap) => {
      const [a0, b0] = [randomNormal(randomKey(seed), sa), randomNormal(randomKey(seed + 1), sb)];
      const [a, b] = swap ? [b0, a0] : [a0, b0];
      const out = broadcastShapes(a.shape, b.shape);
      const ys = [add(a, b), sub(a, b), mul(a, b)];
      assertEquals([...ys[0].shape], out);
      let k = 0;
      for (const idx of indices(out)) {
        const x = at(a, idx), y = at(b, idx);
        assertEquals(ys[0].data[k], Math.fround(x + y));
        assertEquals(ys[1].data[k], Math.fround(x - y));
        assertEquals(ys[2].data[k], Math.fround(x * y));
        k++;
      }
    }),
    FC,
  );
});

Deno.test("where() picks per element through broadcasting", () => {
  fc.assert(
    fc.property(bshapes, fc.integer(), ([sa, sb], seed) => {
      const c = greater(randomNormal(randomKey(seed), sb), 0);
      const a = randomNormal(randomKey(seed + 1), sa);
      const y = where(c, a, -7);
      let k = 0;
      for (const idx of indices(y.shape)) assertEquals(y.data[k++], at(c, idx) ? at(a, idx) : -7);
    }),
    FC,
  );
});

Deno.test("sum() and max() over any axes equal a direct loop", () => {
  fc.assert(
    fc.property(
      dims.filter((s) => s.length > 0),
      fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      fc.boolean(),
      fc.integer(),
      (shape, pick, keepDims, seed) => {
        const x = randomNormal(randomKey(seed), shape);
        const axes = shape.map((_, i) => i).filter((i) => pick[i]);
        const s = sum(x, { axes, keepDims }), m = max(x, { axes, keepDims });
        const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const refS = new Float64Array(sizeOf(kept)), refM = new Float64Array(sizeOf(kept)).fill(-Infinity);
        const kst = stridesOf(kept);
        let k = 0;
        for (const idx of indices(shape)) {
          const o = idx.reduce((acc, v, i) => acc + (axes.includes(i) ? 0 : v * kst[i]), 0);
          refS[o] += x.data[k];
          refM[o] = Math.max(refM[o], x.data[k]);
          k++;
        }
        assertEquals(s.size, refS.length);
        refS.forEach((v, i) => assert(Math.abs(s.data[i] - v) <= 1e-5 * Math.max(1, Math.abs(v))));
        refM.forEach((v, i) => assertEquals(m.data[i], v));
        assertEquals(s.rank, keepDims ? shape.length : shape.length - axes.length);
      },
    ),
    FC,
  );
});

Deno.test("transpose(), slice(), pad() and concat() move elements where index arithmetic says", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 3, maxLength: 3 }),
      fc.integer(),
      (shape, seed) => {
        const x = randomNormal(randomKey(seed), shape);
        const t = transpose(x, [2, 0, 1]);
        for (const idx of indices(t.shape)) assertEquals(at(t, idx), at(x, [idx[1], idx[2], idx[0]]));
        const s = slice(x, [0, shape[1] > 1 ? 1 : 0, 0], [shape[0], shape[1], Math.max(1, shape[2] - 1)]);
        for (const idx of indices(s.shape)) {
          assertEquals(
            at(s, idx),
            at(x, [idx[0], idx[1] + (shape[1] > 1 ? 1 : 0), idx[2]]),
          );
        }
        const p = pad(x, [[0, 1], [2, 0], [1, 1]], 5);
        for (const idx of indices(p.shape)) {
          const src = [idx[0], idx[1] - 2, idx[2] - 1];
          const inside = src.every((v, i) => v >= 0 && v < shape[i]);
          assertEquals(at(p, idx), inside ? at(x, src) : 5);
        }
        const c = concat([x, mul(x, 2)], 1);
        for (const idx of indices(c.shape)) {
          const j = idx[1];
          assertEquals(
            at(c, idx),
            j < shape[1] ? at(x, idx) : Math.fround(2 * at(x, [idx[0], j - shape[1], idx[2]])),
          );
        }
      },
    ),
    FC,
  );
});

Deno.test("argmax() and topk() find the largest values, first index on ties", () => {
  const x = tensor([[1, 3, 3, 0], [5, -1, 5, 5]]);
  assertEquals(argmax(x, { axis: 1 }).toArray(), [1, 0]);
  const { values, indices: idx } = topk(x, 2);
  assertEquals(values.toArray(), [3, 3, 5, 5]);
  assertEquals(idx.toArray(), [1, 2, 0, 2]);
  assertEquals(topk(x, 1, { axis: 0 }).indices.toArray(), [1, 0, 1, 1]);
});

Deno.test("stack() and reshape() keep row-major order", () => {
  const a = tensor([1, 2, 3]), b = tensor([4, 5, 6]);
  assertEquals(stack([a, b]).toArray(), [1, 2, 3, 4, 5, 6]);
  assertEquals(stack([a, b], 1).toArray(), [1, 4, 2, 5, 3, 6]);
  assertEquals(reshape(stack([a, b]), [3, -1]).shape, [3, 2]);
  assertThrows(() => reshape(a, [2, -1]), RangeError, "Cannot reshape");
});

Deno.test("shape errors name the shapes and the problem", () => {
  assertThrows(() => add(ones([2, 3]), ones([4])), RangeError, "Cannot broadcast shapes [2,3] and [4]");
  assertThrows(() => add(ones([2]), ones([2], "int32")), TypeError, "equal dtypes");
  assertThrows(() => transpose(ones([2, 3]), [0, 0]), RangeError, "not a permutation");
});

Deno.test("random numbers are reproducible per key and independent across split keys", () => {
  const k = randomKey(2024);
  assertEquals(randomUniform(k, [64]).toArray(), randomUniform(randomKey(2024), [64]).toArray());
  const [k1, k2] = splitKey(k);
  const u1 = randomUniform(k1, [20000]).data, u2 = randomUniform(k2, [20000]).data;
  let m = 0, c = 0;
  for (let i = 0; i < u1.length; i++) {
    m += u1[i];
    c += (u1[i] - 0.5) * (u2[i] - 0.5);
  }
  assert(Math.abs(m / u1.length - 0.5) < 0.01, `mean ${m / u1.length}`);
  assert(Math.abs(c / u1.length) < 0.003, `covariance ${c / u1.length}`);
  const z = randomNormal(foldIn(k, 3), [20000]).data;
  let s1 = 0, s2 = 0;
  for (const v of z) {
    s1 += v;
    s2 += v * v;
  }
  assert(Math.abs(s1 / z.length) < 0.03 && Math.abs(s2 / z.length - 1) < 0.04);
  const d = dropout(k, ones([10000]), 0.3).toArray();
  const kept = d.filter((v) => v !== 0);
  assert(Math.abs(kept.length / d.length - 0.7) < 0.02);
  assert(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6));
  assertEquals(fromArray(new Float32Array(2), [2]).dtype, "float32");
});

Deno.test("clamp(), relu() and their gradients equal the comparison definitions on any float32 data", () => {
  const special = [0, -0, 6, -6, 1e-45, -1e-45, 3.4e38, -3.4e38, Infinity, -Infinity, 5.999999, 6.000001];
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.float({ noNaN: true }), fc.constantFrom(...special)), {
        minLength: 1,
        maxLength: 64,
      }),
      fc.constantFrom(6, 1, 0.5, Infinity),
      (vals, hi) => {
        const x = fromArray(Float32Array.from(vals), [vals.length]);
        const g = fromArray(Float32Array.from(vals, (_, i) => i + 1), [vals.length]);
        const y = clamp(x, 0, hi), r = relu(x);
        const gb = apply1("clampBackward", [g, x], { min: 0, max: hi, openGrad: true });
        vals.forEach((v0, i) => {
          const v = Math.fround(v0);
          assertEquals(y.data[i] === Math.min(Math.max(v, 0), hi), true, `clamp(${v})`);
          assertEquals(r.data[i] === Math.max(v, 0), true, `relu(${v})`);
          assertEquals(gb.data[i], v > 0 && v < hi ? i + 1 : 0, `grad at ${v}`);
        });
      },
    ),
    FC,
  );
  const withNaN = clamp(tensor([1, NaN, -2]), 0, 6).toArray();
  assert(Number.isNaN(withNaN[1]) && withNaN[0] === 1 && withNaN[2] === 0);
});

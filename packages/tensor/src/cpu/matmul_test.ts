import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { matmul, type MatmulOptions, matmulReference } from "./matmul.ts";
import { lcgFloats } from "./lcg_test_util.ts";

/** The textbook triple loop, written out independently of matmulReference. */
function naive(a: Float32Array, b: Float32Array, o: Required<MatmulOptions>): Float64Array {
  const out = new Float64Array(o.batch * o.m * o.n);
  for (let t = 0; t < o.batch; t++) {
    const at = o.aBatch === 1 ? 0 : t, bt = o.bBatch === 1 ? 0 : t;
    for (let i = 0; i < o.m; i++) {
      for (let j = 0; j < o.n; j++) {
        for (let p = 0; p < o.k; p++) {
          const av = o.transA ? a[at * o.m * o.k + p * o.m + i] : a[at * o.m * o.k + i * o.k + p];
          const bv = o.transB ? b[bt * o.k * o.n + j * o.k + p] : b[bt * o.k * o.n + p * o.n + j];
          out[(t * o.m + i) * o.n + j] += av * bv;
        }
      }
    }
  }
  return out;
}

function assertClose(got: Float32Array, want: Float64Array): void {
  assertEquals(got.length, want.length);
  const tol = 1e-4 * Math.max(1e-3, want.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`element ${i}: ${got[i]} != ${want[i]}`);
  }
}

const options = fc.record({
  batch: fc.integer({ min: 1, max: 4 }),
  m: fc.integer({ min: 0, max: 20 }),
  k: fc.integer({ min: 0, max: 40 }),
  n: fc.integer({ min: 0, max: 20 }),
  transA: fc.boolean(),
  transB: fc.boolean(),
  shared: fc.constantFrom("none", "a", "b", "both"),
  seed: fc.integer(),
}).map((r) => ({
  opts: {
    batch: r.batch,
    m: r.m,
    k: r.k,
    n: r.n,
    transA: r.transA,
    transB: r.transB,
    aBatch: r.shared === "a" || r.shared === "both" ? 1 : r.batch,
    bBatch: r.shared === "b" || r.shared === "both" ? 1 : r.batch,
  },
  seed: r.seed,
}));

Deno.test("matmul() and matmulReference() match the triple loop with transposes and batch broadcast", () => {
  fc.assert(
    fc.property(options, ({ opts, seed }) => {
      const a = lcgFloats(opts.aBatch * opts.m * opts.k, seed),
        b = lcgFloats(opts.bBatch * opts.k * opts.n, seed + 1);
      const want = naive(a, b, opts);
      const [ac, bc] = [a.slice(), b.slice()];
      assertClose(matmul(a, b, opts), want);
      assertClose(matmulReference(a, b, opts), want);
      assertEquals(a, ac);
      assertEquals(b, bc);
    }),
    { seed: 42, numRuns: 200 },
  );
});

Deno.test("matmul() is right on shapes that cross the kernel's blocks and threads", () => {
  for (
    const [opts, seed] of [
      [{ batch: 1, m: 130, k: 300, n: 1100, transA: false, transB: true, aBatch: 1, bBatch: 1 }, 1],
      [{ batch: 3, m: 64, k: 70, n: 9, transA: true, transB: false, aBatch: 3, bBatch: 1 }, 2],
      [{ batch: 3, m: 10, k: 90, n: 200, transA: false, transB: true, aBatch: 1, bBatch: 3 }, 3],
    ] as const
  ) {
    const a = lcgFloats(opts.aBatch * opts.m * opts.k, seed),
      b = lcgFloats(opts.bBatch * opts.k * opts.n, seed + 1);
    assertClose(matmul(a, b, opts), naive(a, b, opts));
  }
});

Deno.test("matmul() multiplies a hand-worked batch with a shared right operand", () => {
  const a = new Float32Array([1, 2, 3, 4, 0, 1, 1, 0]); // [[1,2],[3,4]] and [[0,1],[1,0]]
  const b = new Float32Array([5, 6, 7, 8]);
  assertEquals([...matmul(a, b, { batch: 2, m: 2, k: 2, n: 2, bBatch: 1 })], [19, 22, 43, 50, 7, 8, 5, 6]);
});

Deno.test("matmul() rejects inconsistent sizes with a RangeError", () => {
  const a = new Float32Array(6), b = new Float32Array(6);
  assertThrows(
    () => matmul(a, b, { batch: 1, m: 2, k: 3, n: 3 }),
    RangeError,
    "b has 6 elements but 1 matrices of [3,3] need 9",
  );
  assertThrows(
    () => matmul(a, b, { batch: 2, m: 3, k: 1, n: 3, aBatch: 2, bBatch: 3 }),
    RangeError,
    "bBatch 3 must be 1 or the batch 2",
  );
  assertThrows(
    () => matmul(a, b, { batch: 1, m: -1, k: 3, n: 2 }),
    RangeError,
    "m -1 must be a non-negative integer",
  );
  assertThrows(
    () => matmul(a, b, { batch: 1, m: 3, k: 3, n: 2, transA: true }),
    RangeError,
    "a has 6 elements but 1 matrices of [3,3] need 9",
  );
});

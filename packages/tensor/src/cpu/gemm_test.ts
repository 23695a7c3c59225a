import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { gemmReference, gemmWasm, type IndexMap, mapOffset, type MatrixLayout, rowMajor } from "./gemm.ts";
import { kernelRuntime } from "./wasm_runtime.ts";
import { lcgFloats } from "./lcg_test_util.ts";

/** A matrix of (r1·r2) × (c1·c2) stored row-major over a permutation of its four sub-axes. */
function layout(r: [number, number], c: [number, number], order: number[], offset: number): MatrixLayout {
  const sizes = [r[0], r[1], c[0], c[1]];
  const strides = [0, 0, 0, 0];
  let acc = 1;
  for (let i = order.length - 1; i >= 0; i--) {
    strides[order[i]] = acc;
    acc *= sizes[order[i]];
  }
  const map = (outer: number, inner: number, size: number): IndexMap => ({
    stride: strides[inner],
    seg: size,
    segStride: strides[outer],
  });
  return { offset, rows: map(0, 1, r[1]), cols: map(2, 3, c[1]) };
}

function span(l: MatrixLayout, rows: number, cols: number): number {
  if (rows === 0 || cols === 0) return l.offset;
  return l.offset + mapOffset(l.rows, rows - 1) + mapOffset(l.cols, cols - 1) + 1;
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

const factor = (max: number) => fc.tuple(fc.integer({ min: 1, max }), fc.integer({ min: 1, max }));
const order = fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 });

function checkCase(
  dims: { m: [number, number]; n: [number, number]; k: [number, number] },
  orders: number[][],
  offsets: number[],
  accumulate: boolean,
  seed: number,
): void {
  const rt = kernelRuntime();
  assert(rt, "the WebAssembly kernels should load in Deno");
  const m = dims.m[0] * dims.m[1], n = dims.n[0] * dims.n[1], k = dims.k[0] * dims.k[1];
  const a = layout(dims.m, dims.k, orders[0], offsets[0]);
  const b = layout(dims.k, dims.n, orders[1], offsets[1]);
  const c = layout(dims.m, dims.n, orders[2], offsets[2]);
  const data = {
    a: lcgFloats(span(a, m, k), seed),
    b: lcgFloats(span(b, k, n), seed + 1),
    c: lcgFloats(span(c, m, n), seed + 2),
  };
  const want = { ...data, c: data.c.slice() };
  gemmReference({ m, n, k, a, b, c, accumulate }, want);
  rt.reset();
  const ap = rt.put(data.a) >> 2, bp = rt.put(data.b) >> 2, cptr = rt.put(data.c);
  const shift = (l: MatrixLayout, by: number) => ({ ...l, offset: l.offset + by });
  gemmWasm(rt, { m, n, k, a: shift(a, ap), b: shift(b, bp), c: shift(c, cptr >> 2), accumulate });
  const got = rt.take(cptr, data.c.length);
  rt.reset();
  const tol = 1e-4 * Math.max(maxAbs(want.c), 1e-3);
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want.c[i]) <= tol)) {
      throw new Error(`element ${i}: ${got[i]} != ${want.c[i]} (m ${m}, n ${n}, k ${k})`);
    }
  }
}

Deno.test("gemmWasm() matches gemmReference() on random segmented and transposed layouts", () => {
  fc.assert(
    fc.property(
      fc.record({ m: factor(7), n: factor(9), k: factor(6) }),
      fc.tuple(order, order, order),
      fc.tuple(fc.nat(5), fc.nat(5), fc.nat(5)),
      fc.boolean(),
      fc.integer(),
      (dims, orders, offsets, accumulate, seed) => checkCase(dims, orders, offsets, accumulate, seed),
    ),
    { seed: 42, numRuns: 150 },
  );
});

Deno.test("gemmWasm() is right across its cache blocks (m > 96, k > 256, n > 1024)", () => {
  const ordered = [0, 1, 2, 3];
  checkCase({ m: [1, 101], n: [3, 350], k: [1, 260] }, [ordered, ordered, ordered], [0, 1, 2], false, 7);
  checkCase(
    { m: [97, 1], n: [1030, 1], k: [2, 131] },
    [[1, 0, 3, 2], ordered, [2, 3, 0, 1]],
    [3, 0, 0],
    true,
    8,
  );
});

Deno.test("gemmWasm() reads B in place and from packed panels alike (row strides, segments, m at the bound)", () => {
  // B as NCHW planes [k channels, images · P positions]: rows one stride apart, columns in runs of P. Tiles of
  // eight columns that are two runs of four read B in place when B's row stride is at most 4 floats, or the
  // block has at most 64 rows and the stride is at most 1,024 floats; the others (ragged tails, runs broken by
  // P = 6 or 12, wider strides, more rows) are packed. Two k panels (k = 300), two row blocks (m = 100) and
  // accumulation go through both.
  const ordered = [0, 1, 2, 3];
  const nchw = [2, 0, 1, 3]; // images outermost, then channels (rows), then positions
  let seed = 20;
  for (
    const [m, images, p, k] of [
      [16, 3, 256, 32],
      [64, 2, 16, 40],
      [65, 2, 16, 40],
      [24, 5, 4, 300],
      [30, 3, 6, 20],
      [40, 2, 12, 24],
      [8, 2, 1025, 3],
      [8, 2, 1024, 3],
      [100, 3, 4, 20],
      [100, 2, 16, 20],
    ]
  ) {
    for (const accumulate of [false, true]) {
      checkCase(
        { m: [1, m], n: [images, p], k: [1, k] },
        [ordered, nchw, ordered],
        [1, 3, 2],
        accumulate,
        seed++,
      );
    }
  }
});

Deno.test("gemmWasm() with k = 0 writes zeros, or leaves C when accumulating", () => {
  const rt = kernelRuntime()!;
  rt.reset();
  const c = rt.put(new Float32Array([5, 6]));
  gemmWasm(rt, {
    m: 1,
    n: 2,
    k: 0,
    a: rowMajor(0, 0),
    b: rowMajor(0, 2),
    c: rowMajor(c >> 2, 2),
    accumulate: true,
  });
  assertEquals([...rt.take(c, 2)], [5, 6]);
  gemmWasm(rt, { m: 1, n: 2, k: 0, a: rowMajor(0, 0), b: rowMajor(0, 2), c: rowMajor(c >> 2, 2) });
  assertEquals([...rt.take(c, 2)], [0, 0]);
  rt.reset();
});

Deno.test("gemmReference() computes a hand-worked product with a segmented layout", () => {
  // A = [[1, 2], [3, 4]]; B as an NCHW pair of images with 2 channels of 1 position: columns j → image j.
  const a = new Float32Array([1, 2, 3, 4]);
  const b = new Float32Array([5, 6, 7, 8]); // image 0: channels (5, 6); image 1: (7, 8)
  const c = new Float32Array(4);
  const cols = { stride: 1, seg: 1, segStride: 2 };
  gemmReference({
    m: 2,
    n: 2,
    k: 2,
    a: rowMajor(0, 2),
    b: { offset: 0, rows: { stride: 1 }, cols },
    c: { offset: 0, rows: { stride: 1 }, cols },
  }, { a, b, c });
  // image 0: A·(5,6) = (17, 39); image 1: A·(7,8) = (23, 53)
  assertEquals([...c], [17, 39, 23, 53]);
});

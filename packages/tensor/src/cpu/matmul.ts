/**
 * Batched matrix multiply on Float32Arrays (row-major), with transposes and a shared (broadcast)
 * operand; runs on the WebAssembly GEMM and falls back to plain TypeScript.
 * @module
 */
import { type GemmSpec, gemmWasm, type IndexMap, type MatrixLayout } from "./gemm.ts";
import { KernelMemoryError, kernelRuntime } from "./wasm_runtime.ts";

/** Sizes and layout of a batched matmul. */
export interface MatmulOptions {
  /** Number of products. */
  batch: number;
  /** Rows of op(a) and of the result. */
  m: number;
  /** The reduced dimension. */
  k: number;
  /** Columns of op(b) and of the result. */
  n: number;
  /** `a` holds [k, m] matrices (use their transposes). */
  transA?: boolean;
  /** `b` holds [n, k] matrices (use their transposes). */
  transB?: boolean;
  /** Matrices in `a`: `batch` (default) or 1 (shared by every product). */
  aBatch?: number;
  /** Matrices in `b`: `batch` (default) or 1 (shared by every product). */
  bBatch?: number;
}

function check(a: Float32Array, b: Float32Array, o: MatmulOptions): { aBatch: number; bBatch: number } {
  for (const key of ["batch", "m", "k", "n"] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 0) {
      throw new RangeError(`matmul: ${key} ${o[key]} must be a non-negative integer`);
    }
  }
  const aBatch = o.aBatch ?? o.batch, bBatch = o.bBatch ?? o.batch;
  for (const [name, v] of [["aBatch", aBatch], ["bBatch", bBatch]] as const) {
    if (v !== 1 && v !== o.batch) {
      throw new RangeError(`matmul: ${name} ${v} must be 1 or the batch ${o.batch}`);
    }
  }
  const aDims = o.transA ? `[${o.k},${o.m}]` : `[${o.m},${o.k}]`;
  const bDims = o.transB ? `[${o.n},${o.k}]` : `[${o.k},${o.n}]`;
  if (a.length !== aBatch * o.m * o.k) {
    throw new RangeError(
      `matmul: a has ${a.length} elements but ${aBatch} matrices of ${aDims} need ${aBatch * o.m * o.k}`,
    );
  }
  if (b.length !== bBatch * o.k * o.n) {
    throw new RangeError(
      `matmul: b has ${b.length} elements but ${bBatch} matrices of ${bDims} need ${bBatch * o.k * o.n}`,
    );
  }
  return { aBatch, bBatch };
}

/**
 * The GEMMs (offsets in floats from each operand's start) that compute the whole batch: one GEMM when
 * an operand is shared (the batch then folds into the rows or the columns), else one per product.
 */
function plan(o: MatmulOptions, aBatch: number, bBatch: number): GemmSpec[] {
  const { batch, m, k, n } = o;
  const aRows = o.transA ? { stride: 1 } : { stride: k }, aCols = o.transA ? { stride: m } : { stride: 1 };
  const bRows = o.transB ? { stride: 1 } : { stride: n }, bCols = o.transB ? { stride: k } : { stride: 1 };
  const at = (offset: number, rows: IndexMap = aRows): MatrixLayout => ({ offset, rows, cols: aCols });
  const bt = (offset: number, cols: IndexMap = bCols): MatrixLayout => ({ offset, rows: bRows, cols });
  if (batch > 1 && bBatch === 1) {
    return [{
      m: batch * m,
      n,
      k,
      a: at(0, { ...aRows, seg: m, segStride: aBatch === 1 ? 0 : m * k }),
      b: bt(0),
      c: { offset: 0, rows: { stride: n, seg: m, segStride: m * n }, cols: { stride: 1 } },
    }];
  }
  if (batch > 1 && aBatch === 1) {
    return [{
      m,
      n: batch * n,
      k,
      a: at(0),
      b: bt(0, { ...bCols, seg: n, segStride: k * n }),
      c: { offset: 0, rows: { stride: n }, cols: { stride: 1, seg: n, segStride: m * n } },
    }];
  }
  const specs: GemmSpec[] = [];
  for (let i = 0; i < batch; i++) {
    specs.push({
      m,
      n,
      k,
      a: at(i * m * k),
      b: bt(i * k * n),
      c: { offset: i * m * n, rows: { stride: n }, cols: { stride: 1 } },
    });
  }
  return specs;
}

function shifted(spec: GemmSpec, a: number, b: number, c: number): GemmSpec {
  return {
    ...spec,
    a: { ...spec.a, offset: spec.a.offset + a },
    b: { ...spec.b, offset: spec.b.offset + b },
    c: { ...spec.c, offset: spec.c.offset + c },
  };
}

/**
 * Batched matmul: `out[i] = op(a[i]) · op(b[i])` for i < batch, where `a` holds [m, k] matrices
 * ([k, m] with `transA`), `b` holds [k, n] ([n, k] with `transB`), and an operand with `aBatch` or
 * `bBatch` = 1 is shared by every product. Returns a fresh [batch, m, n] array.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { matmul } from "./matmul.ts";
 * const a = new Float32Array([1, 2, 3, 4]); // [[1, 2], [3, 4]]
 * const b = new Float32Array([5, 6, 7, 8]); // [[5, 6], [7, 8]]
 * assert(matmul(a, b, { batch: 1, m: 2, k: 2, n: 2 }).join() === "19,22,43,50");
 * assert(matmul(a, b, { batch: 1, m: 2, k: 2, n: 2, transB: true }).join() === "17,23,39,53");
 * ```
 */
export function matmul(a: Float32Array, b: Float32Array, opts: MatmulOptions): Float32Array {
  const { aBatch, bBatch } = check(a, b, opts);
  const size = opts.batch * opts.m * opts.n;
  const specs = plan(opts, aBatch, bBatch);
  const rt = opts.k > 0 && size > 0 ? kernelRuntime() : undefined;
  if (rt) {
    try {
      rt.reset();
      const ap = rt.put(a) >> 2, bp = rt.put(b) >> 2, cp = rt.alloc(size);
      for (const spec of specs) gemmWasm(rt, shifted(spec, ap, bp, cp >> 2));
      return rt.take(cp, size);
    } catch (e) {
      if (!(e instanceof KernelMemoryError)) throw e;
    } finally {
      rt.reset();
    }
  }
  return matmulReference(a, b, opts);
}

/**
 * The plain-TypeScript matmul with the same contract as `matmul` (float64 accumulation).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { matmulReference } from "./matmul.ts";
 * const out = matmulReference(new Float32Array([1, 2]), new Float32Array([3, 4]), { batch: 1, m: 1, k: 2, n: 1 });
 * assert(out[0] === 11);
 * ```
 */
export function matmulReference(a: Float32Array, b: Float32Array, opts: MatmulOptions): Float32Array {
  const { aBatch, bBatch } = check(a, b, opts);
  const { batch, m, k, n } = opts;
  const out = new Float32Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const ao = aBatch === 1 ? 0 : t * m * k, bo = bBatch === 1 ? 0 : t * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          s += a[ao + (opts.transA ? p * m + i : i * k + p)] * b[bo + (opts.transB ? j * k + p : p * n + j)];
        }
        out[(t * m + i) * n + j] = s;
      }
    }
  }
  return out;
}

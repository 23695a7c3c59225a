/**
 * General matrix multiply C (+)= A · B over "segmented" index maps, the building block of the
 * convolution and matmul kernels: the fast path runs the WebAssembly micro-kernel (split across the
 * kernel threads), and a plain-TypeScript version of the same contract is the reference.
 * @module
 */
import type { KernelRuntime } from "./wasm_runtime.ts";

/**
 * How one matrix dimension maps to memory:
 * `offset(i) = floor(i / seg) * segStride + (i % seg) * stride` (in floats). Without `seg` the map is
 * plain `i * stride`. An NCHW activation [N, C, P] is a [C, N·P] matrix with rows `{ stride: P }` and
 * columns `{ stride: 1, seg: P, segStride: C·P }`.
 */
export interface IndexMap {
  /** Step between neighbours inside a segment. */
  readonly stride: number;
  /** Segment length (default: unbounded). */
  readonly seg?: number;
  /** Step between segments. */
  readonly segStride?: number;
}

/** Where a matrix lives: a base offset (in floats) and one index map per dimension. */
export interface MatrixLayout {
  /** Offset of element (0, 0) in floats. */
  readonly offset: number;
  /** Map of the row index. */
  readonly rows: IndexMap;
  /** Map of the column index. */
  readonly cols: IndexMap;
}

/** One GEMM: C[m, n] = A[m, k] · B[k, n], or C += A · B when `accumulate`. */
export interface GemmSpec {
  /** Rows of A and C. */
  readonly m: number;
  /** Columns of B and C. */
  readonly n: number;
  /** The reduced dimension. */
  readonly k: number;
  /** Layout of A. */
  readonly a: MatrixLayout;
  /** Layout of B. */
  readonly b: MatrixLayout;
  /** Layout of C. */
  readonly c: MatrixLayout;
  /** Add to C instead of overwriting it. */
  readonly accumulate?: boolean;
  /**
   * Byte address of an inference convolution's epilogue in the kernel memory (pointers to scale[m], shift[m]
   * and [lo, hi]): C's row i becomes clamp(C · scale[i] + shift[i], lo, hi) once its sum is complete.
   */
  readonly epilogue?: number;
  /**
   * Byte address of A packed once by `KernelRuntime.keepPacked` (A then row-major [m, k] with rows k apart, as
   * `a` also describes it): the GEMM reads its panels instead of packing A on every call.
   */
  readonly packedA?: number;
}

const UNBOUNDED = 0x3fffffff;

/**
 * A row-major matrix with leading dimension `ld` at `offset`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { rowMajor } from "./gemm.ts";
 * assert(rowMajor(0, 5).rows.stride === 5);
 * ```
 */
export function rowMajor(offset: number, ld: number): MatrixLayout {
  return { offset, rows: { stride: ld }, cols: { stride: 1 } };
}

/**
 * The transpose of a row-major matrix with leading dimension `ld` (element (i, j) at `j * ld + i`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { transposed } from "./gemm.ts";
 * assert(transposed(0, 5).cols.stride === 5);
 * ```
 */
export function transposed(offset: number, ld: number): MatrixLayout {
  return { offset, rows: { stride: 1 }, cols: { stride: ld } };
}

/**
 * The offset of index `i` under a map.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mapOffset } from "./gemm.ts";
 * assert(mapOffset({ stride: 1, seg: 4, segStride: 100 }, 9) === 201);
 * ```
 */
export function mapOffset(map: IndexMap, i: number): number {
  const seg = map.seg ?? UNBOUNDED;
  return Math.floor(i / seg) * (map.segStride ?? 0) + (i % seg) * map.stride;
}

/**
 * Plain-TypeScript GEMM over Float32Arrays (A, B and C are indexed by their layouts), accumulating in
 * float64: the reference for the WebAssembly path.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gemmReference, rowMajor } from "./gemm.ts";
 * const c = new Float32Array(1);
 * gemmReference({ m: 1, n: 1, k: 2, a: rowMajor(0, 2), b: rowMajor(0, 1), c: rowMajor(0, 1) }, {
 *   a: new Float32Array([1, 2]), b: new Float32Array([3, 4]), c,
 * });
 * assert(c[0] === 11);
 * ```
 */
export function gemmReference(
  spec: GemmSpec,
  data: { a: Float32Array; b: Float32Array; c: Float32Array },
): void {
  const { m, n, k, a, b, c } = spec;
  const aRow = offsets(a.rows, m, a.offset), aCol = offsets(a.cols, k, 0);
  const bRow = offsets(b.rows, k, b.offset), bCol = offsets(b.cols, n, 0);
  const cRow = offsets(c.rows, m, c.offset), cCol = offsets(c.cols, n, 0);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += data.a[aRow[i] + aCol[p]] * data.b[bRow[p] + bCol[j]];
      const at = cRow[i] + cCol[j];
      data.c[at] = spec.accumulate ? data.c[at] + s : s;
    }
  }
}

function offsets(map: IndexMap, count: number, base: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = base + mapOffset(map, i);
  return out;
}

/** Flops below which a GEMM stays on one thread. */
const PARALLEL_FLOPS = 2_000_000;

/**
 * Runs a GEMM whose layouts are float offsets into the kernel memory, split across the ready kernel
 * threads by columns (or by rows when there are few columns).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gemmWasm, rowMajor } from "./gemm.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime()!;
 * rt.reset();
 * const a = rt.put(new Float32Array([1, 2])), b = rt.put(new Float32Array([3, 4])), c = rt.alloc(1);
 * gemmWasm(rt, { m: 1, n: 1, k: 2, a: rowMajor(a >> 2, 2), b: rowMajor(b >> 2, 1), c: rowMajor(c >> 2, 1) });
 * assert(rt.take(c, 1)[0] === 11);
 * ```
 */
export function gemmWasm(rt: KernelRuntime, spec: GemmSpec): void {
  const { m, n, k } = spec;
  if (m === 0 || n === 0) return;
  const desc = gemmDescriptor(rt, spec);
  const scratch = rt.gemmScratch();
  const threads = 2 * m * n * k >= PARALLEL_FLOPS ? Math.min(rt.threads(), scratch.length) : 1;
  const parts: number[][] = [];
  if (threads > 1 && n >= 64 * threads) {
    // About four parts per thread, so that a thread slowed by other work takes fewer.
    const step = Math.max(64, Math.ceil(n / threads / 4 / 8) * 8);
    for (let n0 = 0; n0 < n; n0 += step) parts.push([desc, 0, m, n0, Math.min(n, n0 + step)]);
  } else if (threads > 1 && m >= 24 * threads) {
    const step = Math.max(24, Math.ceil(m / threads / 4 / 6) * 6);
    for (let m0 = 0; m0 < m; m0 += step) parts.push([desc, m0, Math.min(m, m0 + step), 0, n]);
  } else {
    parts.push([desc, 0, m, 0, n]);
  }
  rt.run("gemm_run", parts, scratch);
}

/**
 * Writes the GEMM's descriptor into the kernel memory (for `gemm_run`, or a kernel that calls it) and returns its
 * byte address.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { gemmDescriptor, rowMajor } from "./gemm.ts";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime()!;
 * rt.reset();
 * const desc = gemmDescriptor(rt, { m: 1, n: 1, k: 2, a: rowMajor(0, 2), b: rowMajor(0, 1), c: rowMajor(0, 1) });
 * assert(desc % 4 === 0);
 * ```
 */
export function gemmDescriptor(rt: KernelRuntime, spec: GemmSpec): number {
  const { m, n, k } = spec;
  return rt.putInts([
    m,
    n,
    k,
    spec.accumulate ? 1 : 0,
    ...layoutInts(spec.a),
    ...layoutInts(spec.b),
    ...layoutInts(spec.c),
    spec.epilogue ?? 0,
    spec.packedA ?? 0,
  ]);
}

function layoutInts(l: MatrixLayout): number[] {
  return [l.offset * 4, ...mapInts(l.rows), ...mapInts(l.cols)];
}

function mapInts(map: IndexMap): number[] {
  return [map.seg ?? UNBOUNDED, map.segStride ?? 0, map.stride];
}

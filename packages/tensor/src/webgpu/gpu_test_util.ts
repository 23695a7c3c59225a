/**
 * Shared pieces of the WebGPU differential tests: the one computed flag that skips GPU tests without an
 * adapter, a device shared by the tests of a file, the CPU-versus-GPU runner of a primitive op, seeded
 * test data and the comparisons (within a relative tolerance, or bit for bit).
 * @module
 */
import { assert } from "@std/assert";
import { ARRAY_TYPES, type DType, type TypedArray } from "../dtype.ts";
import type { OpAttrs, OpName } from "../ops.ts";
import { SHAPE_RULES } from "../shape_rules.ts";
import { CPU_KERNELS } from "../cpu/backend.ts";
import { fromArray, type Tensor, type TensorInfo } from "../tensor.ts";
import { WebGpuDevice } from "./device.ts";
import { runElem } from "./elem_kernel.ts";
import { readTensor, releaseTensor, uploadTensor } from "./gpu_tensor.ts";
import type { WgslFn } from "./kernel_spec.ts";
import { runOpOnGpu } from "./kernels.ts";
import { probeWebGpu } from "./probe.ts";

/**
 * Whether a WebGPU device can be opened here; every GPU test is `ignore: !GPU_AVAILABLE`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { GPU_AVAILABLE } from "./gpu_test_util.ts";
 * import { probeWebGpu } from "./probe.ts";
 * assert(GPU_AVAILABLE === (await probeWebGpu()).available);
 * ```
 */
export const GPU_AVAILABLE: boolean = (await probeWebGpu()).available;

/**
 * fast-check settings of the GPU properties: fixed seed, few runs (software adapters are slow).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { GPU_FC } from "./gpu_test_util.ts";
 * assert(GPU_FC.seed === 42);
 * ```
 */
export const GPU_FC = { seed: 42, numRuns: 4 } as const;

/**
 * Options of every GPU test: the device outlives a single test, so the sanitizers are off.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { GPU_AVAILABLE, GPU_TEST } from "./gpu_test_util.ts";
 * assert(GPU_TEST.ignore === !GPU_AVAILABLE);
 * ```
 */
export const GPU_TEST = { ignore: !GPU_AVAILABLE, sanitizeResources: false, sanitizeOps: false } as const;

let device: Promise<WebGpuDevice> | null = null;

/**
 * The device shared by the GPU tests of a file.
 *
 * @example
 * ```ts
 * import { GPU_AVAILABLE, testDevice } from "./gpu_test_util.ts";
 * if (GPU_AVAILABLE) (await testDevice()).flush();
 * ```
 */
export function testDevice(): Promise<WebGpuDevice> {
  device ??= WebGpuDevice.create();
  return device;
}

/**
 * A small deterministic generator (mulberry32) for test data.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { rng } from "./gpu_test_util.ts";
 * const a = rng(1), b = rng(1);
 * assert(a() === b() && a() < 1);
 * ```
 */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` values of `dtype`: uniform in [lo, hi) (integers rounded down), from `seed`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { data } from "./gpu_test_util.ts";
 * const d = data("int8", 4, 7, -3, 3);
 * assert(d instanceof Int8Array && d.every((v) => v >= -3 && v < 3));
 * ```
 */
export function data(dtype: DType, n: number, seed: number, lo = -2, hi = 2): TypedArray {
  const r = rng(seed);
  const out = new ARRAY_TYPES[dtype](n);
  for (let i = 0; i < n; i++) {
    const v = lo + r() * (hi - lo);
    out[i] = dtype === "float32" ? v : Math.floor(v);
  }
  return out;
}

/**
 * A tensor of seeded data.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { randomTensor } from "./gpu_test_util.ts";
 * assert(randomTensor("float32", [2, 3], 1).shape.join() === "2,3");
 * ```
 */
export function randomTensor(dtype: DType, shape: readonly number[], seed: number, lo = -2, hi = 2): Tensor {
  return fromArray(data(dtype, shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);
}

/** The results of one op on both backends. */
export interface BothResults {
  /** GPU outputs. */
  readonly gpu: TypedArray[];
  /** CPU outputs. */
  readonly cpu: TypedArray[];
  /** Output infos from the shape rule. */
  readonly infos: TensorInfo[];
}

/**
 * Runs `op` on the CPU backend and on the GPU.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { GPU_AVAILABLE, randomTensor, runBoth } from "./gpu_test_util.ts";
 * if (GPU_AVAILABLE) {
 *   const { gpu, cpu } = await runBoth("neg", [randomTensor("float32", [3], 1)], {});
 *   assert(gpu[0].join() === cpu[0].join());
 * }
 * ```
 */
export async function runBoth<K extends OpName>(
  op: K,
  inputs: readonly Tensor[],
  attrs: OpAttrs[K],
): Promise<BothResults> {
  const infos = SHAPE_RULES[op](inputs, attrs);
  const cpu = CPU_KERNELS[op](inputs, attrs, infos);
  const gpu = await runOpOnGpu(await testDevice(), op, inputs, attrs, infos);
  return { gpu, cpu, infos };
}

/**
 * Asserts |actual − expected| ≤ rel · (|expected| + magnitude) + abs elementwise, where `magnitude` (per
 * element, e.g. the sum of the absolute terms of a reduction) scales the tolerance of accumulations.
 * NaN must meet NaN and infinities must be equal.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { assertClose } from "./gpu_test_util.ts";
 * assertClose([1.00001, NaN], [1, NaN]);
 * assertClose([1.5], [1], { magnitude: [10000] });
 * ```
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { rel?: number; abs?: number; magnitude?: ArrayLike<number> } = {},
  what = "",
): void {
  const rel = opts.rel ?? 1e-4, abs = opts.abs ?? 0;
  assert(actual.length === expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (e !== e) {
      assert(a !== a, `${what}[${i}]: ${a}, expected NaN`);
      continue;
    }
    if (!Number.isFinite(e)) {
      assert(a === e, `${what}[${i}]: ${a}, expected ${e}`);
      continue;
    }
    const tol = rel * (Math.abs(e) + (opts.magnitude ? Math.abs(opts.magnitude[i]) : 0)) + abs;
    assert(Math.abs(a - e) <= tol, `${what}[${i}]: ${a}, expected ${e} (tolerance ${tol})`);
  }
}

/**
 * Asserts equal arrays bit for bit (float32 by bit pattern, so -0 ≠ +0 and NaN payloads aside).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { assertExact } from "./gpu_test_util.ts";
 * assertExact(Float32Array.of(NaN, 1), Float32Array.of(NaN, 1));
 * ```
 */
export function assertExact(actual: TypedArray, expected: TypedArray, what = ""): void {
  assert(
    actual.constructor === expected.constructor,
    `${what}: ${actual.constructor.name} ≠ ${expected.constructor.name}`,
  );
  assert(actual.length === expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  const f = actual instanceof Float32Array;
  const ai = f ? new Int32Array(actual.buffer, actual.byteOffset, actual.length) : actual;
  const ei = f ? new Int32Array(expected.buffer, expected.byteOffset, expected.length) : expected;
  for (let i = 0; i < expected.length; i++) {
    const nan = f && actual[i] !== actual[i] && expected[i] !== expected[i];
    assert(nan || ai[i] === ei[i], `${what}[${i}]: ${actual[i]}, expected ${expected[i]}`);
  }
}

/**
 * The CPU result of `op` on the absolute values of float inputs: the magnitude of an accumulation.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { magnitudeOf } from "./gpu_test_util.ts";
 * import { tensor } from "../tensor.ts";
 * assert(magnitudeOf("sum", [tensor([1, -2])], { axes: [0], keepDims: false })[0] === 3);
 * ```
 */
export function magnitudeOf<K extends OpName>(
  op: K,
  inputs: readonly Tensor[],
  attrs: OpAttrs[K],
  out = 0,
): TypedArray {
  const abs = inputs.map((
    t,
  ) => (t.dtype === "float32" ? fromArray((t.data as Float32Array).map(Math.abs), t.shape) : t));
  return CPU_KERNELS[op](abs, attrs, SHAPE_RULES[op](abs, attrs))[out];
}

/**
 * Runs `elem` (over int32 inputs a, b, c) on the GPU and returns its int32 results.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { GPU_AVAILABLE, gpuMap } from "./gpu_test_util.ts";
 * if (GPU_AVAILABLE) assert((await gpuMap("  return ld_a(i) * 2;", [], [Int32Array.of(1, 2)])).join() === "2,4");
 * ```
 */
export async function gpuMap(elem: string, functions: WgslFn[], inputs: Int32Array[]): Promise<Int32Array> {
  const dev = await testDevice();
  const names = ["a", "b", "c"].slice(0, inputs.length);
  const ins = inputs.map((d) => uploadTensor(dev, d, [d.length]));
  const out = runElem(
    dev,
    {
      name: "probe",
      inputs: names.map((name) => ({ name, dtype: "int32" })),
      out: "int32",
      functions,
      elem,
    },
    ins,
    [inputs[0].length],
  );
  const res = await readTensor(dev, out) as Int32Array;
  for (const t of [...ins, out]) releaseTensor(dev, t);
  return res;
}

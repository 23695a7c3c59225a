/**
 * The test fixtures (`testdata/`, written by `make_fixtures.py`): their manifest, inputs and PyTorch's
 * outputs, onnxruntime's outputs for the same inputs, and the relative difference the tests bound.
 * @module
 */
import { loadNpy } from "@hqat/nn";
import type { Tensor } from "@hqat/tensor";

/** One fixture of the manifest. */
export interface Fixture {
  /** File stem in `testdata/`. */
  readonly name: string;
  /** The opset it was exported at. */
  readonly opset: number;
  /** How it was exported: "eval" (batch norm folded), "preserve" (module names kept) or "training". */
  readonly export: string;
  /** The operators in the file. */
  readonly ops: readonly string[];
}

/** The folder of the fixtures. */
export const TESTDATA: URL = new URL("../testdata/", import.meta.url);

/**
 * The fixtures of the manifest.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fixtures } from "./fixture_util.ts";
 * assert((await fixtures()).some((f) => f.name === "resnet_block"));
 * ```
 */
export async function fixtures(): Promise<Fixture[]> {
  return JSON.parse(await Deno.readTextFile(new URL("manifest.json", TESTDATA)));
}

/**
 * A fixture's ONNX bytes, input batch and PyTorch output.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fixtureData } from "./fixture_util.ts";
 * const d = await fixtureData("seg_head");
 * assert(d.input.shape[0] === 3 && d.torch.shape.join() === "3,5,16,16");
 * ```
 */
export async function fixtureData(
  name: string,
): Promise<{ bytes: Uint8Array; input: Tensor; torch: Tensor }> {
  return {
    bytes: await Deno.readFile(new URL(`${name}.onnx`, TESTDATA)),
    input: await loadNpy(new URL(`${name}.input.npy`, TESTDATA).pathname, { dtype: "float32" }),
    torch: await loadNpy(new URL(`${name}.output.npy`, TESTDATA).pathname, { dtype: "float32" }),
  };
}

/**
 * max |a − b| / max |b|: the relative difference the equivalence tests bound by 1e-4.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { relativeDifference } from "./fixture_util.ts";
 * assert(relativeDifference([1, 4], [1, 2]) === 1);
 * ```
 */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return Number.isNaN(d) ? Infinity : d / Math.max(m, 1e-30);
}

/** Whether this process may load onnxruntime's native library (it needs `--allow-ffi`). */
export const ORT_AVAILABLE: boolean = Deno.permissions.querySync({ name: "ffi" }).state === "granted";

/**
 * onnxruntime's output for an ONNX file and an input batch (a test dependency only: the product never
 * loads it). Needs `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * const y = await ortOutput(bytes, input);
 * ```
 */
export async function ortOutput(
  bytes: Uint8Array,
  input: Tensor,
): Promise<{ data: Float32Array; shape: number[] }> {
  const ort = await import("onnxruntime-node");
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feed = new ort.Tensor("float32", Float32Array.from(input.data), [...input.shape]);
    const out = await session.run({ [session.inputNames[0]]: feed });
    const y = out[session.outputNames[0]];
    return { data: y.data as Float32Array, shape: y.dims.map(Number) };
  } finally {
    await session.release();
  }
}

/**
 * Reading an ONNX file from disk: {@linkcode readOnnx}, `loadOnnx` with the path in errors (`load.ts`
 * reads bytes only, so it also runs in a browser).
 * @module
 */
import { loadOnnx, type LoadOnnxOptions, MAX_ONNX_BYTES } from "./load.ts";
import type { OnnxModel } from "./onnx_model.ts";

/**
 * Reads an ONNX file and builds its model ({@linkcode loadOnnx} with the path in errors).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { readOnnx } from "@hqat/onnx";
 * const model = await readOnnx(new URL("../testdata/seg_head.onnx", import.meta.url).pathname);
 * assert(model.info.outputShape.join() === "-1,5,16,16");
 * ```
 */
export async function readOnnx(path: string, options: LoadOnnxOptions = {}): Promise<OnnxModel> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new RangeError(`${path}: not a file`);
  if (info.size > MAX_ONNX_BYTES) {
    throw new RangeError(`${path}: ${info.size} bytes is more than an ONNX file can hold`);
  }
  return loadOnnx(await Deno.readFile(path), { ...options, source: options.source ?? path });
}

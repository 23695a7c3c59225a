/**
 * Reading an ONNX file from disk: {@linkcode readOnnx}, `loadOnnx` with the path in errors (`load.ts`
 * reads bytes only, so it also runs in a browser).
 * @module
 */
import { readFileCapped } from "@hqat/io";
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
  const bytes = await readFileCapped(path, { maxBytes: MAX_ONNX_BYTES, what: "an ONNX file" });
  return loadOnnx(bytes, { ...options, source: options.source ?? path });
}

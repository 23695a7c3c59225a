/**
 * Loading an ONNX file as a model: decode, check the structure, analyse and fold for the input shape,
 * plan the modules and steps, and wrap them in an {@linkcode OnnxModel}.
 * @module
 */
import { analyzeGraph } from "./analyze.ts";
import { planModel } from "./build.ts";
import { fuseLinear } from "./fuse_linear.ts";
import { checkGraph } from "./graph_check.ts";
import { OnnxModel } from "./onnx_model.ts";
import { decodeOnnx } from "./proto.ts";

/** Options of {@linkcode loadOnnx} and `readOnnx`. */
export interface LoadOnnxOptions {
  /** Names the file in errors (default "ONNX model"; {@linkcode readOnnx} uses the path). */
  source?: string;
  /**
   * The input shape to fold shape computations for (default the file's). A dynamic first dimension stays
   * dynamic whatever is given for it; other named dimensions take the values given here.
   */
  inputShape?: readonly number[];
  /**
   * Adds a QuantStub at the input and a DeQuantStub at the output: the stub keeps this fixed scale, or with
   * `null` takes its scale from calibration (an observer).
   */
  quantStubScale?: number | null;
}

/** The largest file {@linkcode readOnnx} reads (protobuf's own limit). */
export const MAX_ONNX_BYTES = 2 ** 31 - 1;

/**
 * Builds a model from the bytes of an ONNX file. Unsupported operators, malformed files, shapes that
 * disagree and computations that cannot be folded are refused with one error naming the file and the
 * node.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { loadOnnx } from "@hqat/onnx";
 * import { forward } from "@hqat/nn";
 * import { ones } from "@hqat/tensor";
 * const bytes = await Deno.readFile(new URL("../testdata/resnet_block.onnx", import.meta.url));
 * const model = loadOnnx(bytes, { source: "resnet_block.onnx" });
 * const { y } = forward(model, model.initialState(), ones([2, 3, 32, 32]));
 * assert(y.shape.join() === "2,10");
 * ```
 */
export function loadOnnx(bytes: Uint8Array, options: LoadOnnxOptions = {}): OnnxModel {
  const source = options.source ?? "ONNX model";
  const proto = decodeOnnx(bytes, { source });
  const graph = fuseLinear(checkGraph(proto, source));
  const analysis = analyzeGraph(graph, { inputShape: options.inputShape });
  const plan = planModel(analysis);
  const out = analysis.values.get(graph.output)!;
  if (out.floats || out.ints) throw new RangeError(`${source}: the output does not depend on the input`);
  return new OnnxModel(plan, {
    source,
    opset: proto.opset,
    producer: proto.producer,
    inputName: graph.input.name,
    outputName: graph.output,
    inputShape: analysis.inputShape,
    outputShape: out.shape.base.map((b, i) => (out.shape.perBatch[i] ? -1 : b)),
  }, { quantStubScale: options.quantStubScale });
}

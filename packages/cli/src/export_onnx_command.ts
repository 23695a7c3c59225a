/**
 * `hqat export-onnx`: an int model as a standard QDQ ONNX model (QuantizeLinear/DequantizeLinear around
 * float ops, int8 weights per output channel, int32 biases) for onnxruntime and other runtimes, with a
 * JSON sidecar saying which instructions onnxruntime runs on integers and which stay float, and why.
 * @module
 */
import { atomicWriteFile } from "@hqat/io";
import { exportQdq, qdqSidecar, qdqSummary } from "@hqat/onnx";
import { loadIntModel } from "@hqat/program";
import { type Command, parse, required } from "./commands.ts";
import { CliError } from "./models.ts";
import { checkFiles } from "./outputs.ts";

const USAGE =
  `Usage: hqat export-onnx --model INT_MODEL --output Q.onnx [--report R.json] [--activations uint8|int8]
Writes the int model as a QDQ ONNX model (opset 21): QuantizeLinear/DequantizeLinear pairs around float
ops, int8 weights with one scale per output channel (axis 0), int32 biases of scale input × weight scale.
onnxruntime fuses them into its integer kernels (QLinearConv, QGemm, QLinearAdd, …) where it can; the
summary and the JSON report (default: Q.onnx.json) list the instructions it runs as float ops and why.
  --model INT_MODEL          the int model file (written by "hqat convert" or "hqat ptq")
  --output Q.onnx            the ONNX file to write
  --report R.json            the JSON report (default: the output path + ".json")
  --activations uint8|int8   how int8 activations are stored: uint8 with zero point 128 (default; the same
                             values, and the form onnxruntime's x86 integer kernels take) or int8`;

/**
 * `hqat export-onnx`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { exportOnnxCommand } from "./export_onnx_command.ts";
 * assert(exportOnnxCommand.summary.includes("QDQ") && (await exportOnnxCommand.run(["--help"])) === 0);
 * ```
 */
export const exportOnnxCommand: Command = {
  summary: "export an int model as a QDQ ONNX model",
  usage: USAGE,
  async run(args) {
    const a = parse(args, { string: ["model", "output", "report", "activations"] }, USAGE);
    if (a.help) {
      console.log(USAGE);
      return 0;
    }
    const modelPath = required(a, "model", USAGE), output = required(a, "output", USAGE);
    const report = (a.report as string | undefined) ?? `${output}.json`;
    const activations = (a.activations as string | undefined) ?? "uint8";
    if (activations !== "uint8" && activations !== "int8") {
      throw new CliError(`--activations must be uint8 or int8, got "${activations}"`);
    }
    if (!output.endsWith(".onnx")) throw new CliError(`--output must name a .onnx file, got "${output}"`);
    await checkFiles([output, report], [modelPath]);
    try {
      const model = await loadIntModel(modelPath);
      const e = exportQdq(model, { activations });
      await atomicWriteFile(output, e.bytes);
      await atomicWriteFile(report, new TextEncoder().encode(qdqSidecar(e)));
      for (const line of qdqSummary(e)) console.log(line);
      console.error(`Wrote ${output} (${e.bytes.length} bytes) and ${report}`);
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(e instanceof Error ? e.message : String(e), 1);
    }
    return 0;
  },
};

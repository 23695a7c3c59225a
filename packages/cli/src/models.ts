/**
 * The models the command line works on: the architectures it can build, by name, and networks imported
 * from ONNX files (`--onnx`).
 * @module
 */
import { Linear, mobilenetV2, type Module, namedModules, resnet18Cifar } from "@hqat/nn";
import { OnnxModel, readOnnx } from "@hqat/onnx";
import { basename } from "node:path";

/** Architecture names the CLI accepts. */
export const ARCHS = ["mobilenetv2", "resnet18"] as const;

/** An architecture name. */
export type Arch = typeof ARCHS[number];

/**
 * Builds a model by architecture name.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildModel } from "@hqat/cli";
 * assert(buildModel("mobilenetv2", { numClasses: 10 }).typeName === "MobileNetV2");
 * ```
 */
export function buildModel(
  arch: string,
  options: { numClasses?: number; quantStubScale?: number | null } = {},
): Module {
  switch (arch as Arch) {
    case "mobilenetv2":
      return mobilenetV2({ numClasses: options.numClasses ?? 10, quantStubScale: options.quantStubScale });
    case "resnet18":
      return resnet18Cifar({ numClasses: options.numClasses ?? 10 });
    default:
      throw new CliError(`Unknown architecture "${arch}"; choose one of: ${ARCHS.join(", ")}`);
  }
}

/** An error the CLI reports as one line with exit code 2 (bad usage) or 1 (failure). */
export class CliError extends Error {
  /** Creates an error with an exit code. */
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = "CliError";
  }
}

/** Where a command's model comes from: an architecture name or an ONNX file. */
export interface ModelChoice {
  /** Architecture name (ignored when `onnx` is given). */
  arch?: string;
  /** An ONNX file to import. */
  onnx?: string;
  /** Classes of a built architecture. */
  numClasses?: number;
  /** Fixed QuantStub scale (for the quantization stages). */
  quantStubScale?: number | null;
  /** The input shape an ONNX network's shape computations are folded for (the batch stays dynamic). */
  inputShape?: readonly number[];
}

/**
 * The model `--arch` or `--onnx` names.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { chooseModel } from "@hqat/cli";
 * const m = await chooseModel({ onnx: new URL("../../onnx/testdata/resnet_block.onnx", import.meta.url).pathname });
 * assert(m.typeName === "OnnxModel");
 * ```
 */
export async function chooseModel(c: ModelChoice): Promise<Module> {
  if (c.onnx === undefined) {
    return buildModel(c.arch ?? "mobilenetv2", {
      numClasses: c.numClasses,
      quantStubScale: c.quantStubScale,
    });
  }
  return await readOnnx(c.onnx, {
    inputShape: c.inputShape,
    quantStubScale: c.quantStubScale,
  });
}

/** The default output folder of a model: `model/<onnx file stem>` or `model/mobilenetv2`. */
export function defaultOut(c: ModelChoice): string {
  return c.onnx ? `model/${basename(c.onnx).replace(/\.onnx$/i, "")}` : "model/mobilenetv2";
}

/**
 * Checks that a model is a classifier of [N, 3, 32, 32] batches into `classes` classes (what the data sets
 * give); an imported network that is not gets one error saying what it takes and what the data set has.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { checkClassifier, chooseModel } from "@hqat/cli";
 * const m = await chooseModel({ onnx: new URL("../../onnx/testdata/seg_head.onnx", import.meta.url).pathname });
 * assertThrows(() => checkClassifier(m, "fashion-mnist", 10), Error, "fashion-mnist");
 * ```
 */
export function checkClassifier(model: Module, dataset: string, classes: number): void {
  if (!(model instanceof OnnxModel)) return;
  const { inputShape, outputShape, source } = model.info;
  const fits = inputShape.length === 4 && inputShape.slice(1).join() === "3,32,32";
  const classifies = outputShape.length === 2 && outputShape[1] === classes;
  if (!fits || !classifies) {
    const fmt = (s: readonly number[]) => `[${s.map((d) => (d < 0 ? "N" : d)).join(",")}]`;
    throw new CliError(
      `${source} maps ${fmt(inputShape)} to ${
        fmt(outputShape)
      }; ${dataset} needs a classifier of [N,3,32,32] ` +
        `images into [N,${classes}] logits`,
      1,
    );
  }
}

/**
 * The module whose output is the logits, which the quantization stages keep at 32 bits: `classifier`
 * when the model has one, else its last Linear layer (an imported network's classifier).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildModel, outputLayer } from "@hqat/cli";
 * assert(outputLayer(buildModel("mobilenetv2")) === "classifier");
 * ```
 */
export function outputLayer(model: Module): string | undefined {
  const modules = namedModules(model);
  if (modules.some(([n]) => n === "classifier")) return "classifier";
  return modules.filter(([, m]) => m instanceof Linear).at(-1)?.[0];
}

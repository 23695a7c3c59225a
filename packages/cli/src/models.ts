/**
 * The architectures the command line can build, by name.
 * @module
 */
import { mobilenetV2, type Module, resnet18Cifar } from "@hqat/nn";

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

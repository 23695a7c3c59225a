/**
 * `@hqat/cli`: the command line's pieces, for embedding and tests. The entry point is `main.ts`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildModel } from "@hqat/cli";
 * assert(buildModel("resnet18").typeName === "ResNet");
 * ```
 * @module
 */
export * from "./src/models.ts";
export * from "./src/commands.ts";
export * from "./src/data_source.ts";
export * from "./src/float_stage.ts";
export * from "./src/quant_stage.ts";
export * from "./src/pipeline_commands.ts";
export * from "./src/quickstart.ts";
export * from "./src/deploy_stages.ts";

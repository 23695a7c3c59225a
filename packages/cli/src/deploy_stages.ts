/**
 * The quick start's deployment stages over the saved int model: check, compile (pyramid input, O1),
 * perf with layer details, visualize — the seed's check_model, compile_model, perf_model and
 * visualize_model.
 * @module
 */
import { loadIntModel } from "@hqat/fx";
import { checkModel, compileModel, perfModel, visualizeModel } from "@hqat/hbdk";
import { March } from "@hqat/march-bayes";
import { join } from "node:path";
import { CliError } from "./models.ts";

/**
 * Check, compile, perf and visualize the int model at `intModelPath` with a 1×3×32×32 example input,
 * naming the compiled model and the perf report `options.name` (default "mobilenetv2"); returns the
 * artifact paths (`hbm`, `perfJson`, `perfHtml`, `svg`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { deployStages } from "@hqat/cli";
 * assert(typeof deployStages === "function");
 * ```
 */
export async function deployStages(
  intModelPath: string,
  out: string,
  log: (line: string) => void,
  options: { name?: string } = {},
): Promise<Record<string, string>> {
  const name = options.name ?? "mobilenetv2";
  const model = await loadIntModel(intModelPath);
  const example = [{ shape: [1, 3, 32, 32] }];
  const report = checkModel(model, example, { march: March.BAYES, inputSource: "pyramid", log });
  if (!report.supported) {
    throw new CliError("The model does not pass the BAYES check; see the violations above", 1);
  }
  const hbm = join(out, "model.hbm");
  await compileModel(model, example, {
    hbm,
    inputSource: "pyramid",
    opt: "O1",
    name,
    march: March.BAYES,
    log,
  });
  const perf = await perfModel(model, example, {
    outDir: join(out, "perf_out"),
    opt: "O1",
    inputSource: "pyramid",
    layerDetails: true,
    name,
    march: March.BAYES,
    log,
  });
  const svg = join(out, "model.svg");
  await visualizeModel(model, example, { savePath: svg });
  log(`Wrote ${svg}`);
  return { hbm, perfJson: perf.jsonPath, perfHtml: perf.htmlPath, svg };
}

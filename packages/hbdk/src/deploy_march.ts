/**
 * The march a deployment tool works for: the one it is given, else the model's own, else the one set
 * with `setMarch`.
 * @module
 */

import { isMarch, type March, resolveMarch } from "@hqat/march-bayes";

/**
 * The march a deployment tool uses: `options.march`, else the model's own, else the one set.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { deployMarch } from "@hqat/hbdk";
 * assert(deployMarch({ march: "bayes" }, { tool: "compileModel" }) === "bayes");
 * ```
 */
export function deployMarch(
  model: { readonly march?: string },
  options: { readonly march?: March; readonly tool: string },
): March {
  if (options.march === undefined && isMarch(model.march)) return model.march;
  if (options.march === undefined && model.march !== undefined) {
    throw new RangeError(
      `${options.tool}: the model's march ${
        JSON.stringify(model.march)
      } is not one hqat knows (bayes, bayes-e); ` +
        "give the march explicitly",
    );
  }
  return resolveMarch(options.march, options.tool);
}

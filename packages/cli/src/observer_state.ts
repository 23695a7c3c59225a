/**
 * The observer state a quantization stage starts from, checked when it is loaded: each quantizer's
 * `min_val` / `max_val` is either all NaN (it has seen no data yet) or all finite, and every activation
 * quantizer of a calibration checkpoint has seen data. A NaN or an infinity anywhere else is an error
 * naming the quantizer and the file, before any training.
 * @module
 */

import type { StateDict } from "@hqat/nn";
import { CliError } from "./models.ts";

/**
 * Checks the quantizers' ranges in `state`, loaded from `file`; with `calibrated`, also that every
 * activation quantizer has seen data. Throws a {@linkcode CliError} (exit 1) naming the quantizer.
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { fromArray } from "@hqat/tensor";
 * import { checkObserverState } from "./observer_state.ts";
 * const state = { "conv.activation_post_process.min_val": fromArray(Float32Array.of(NaN, 1), [2]) };
 * assertThrows(() => checkObserverState(state, "calib.safetensors"), Error, '"conv.activation_post_process"');
 * ```
 */
export function checkObserverState(
  state: StateDict,
  file: string,
  options: { readonly calibrated?: boolean } = {},
): void {
  for (const [name, t] of Object.entries(state)) {
    const m = /^(.*)\.(min_val|max_val)$/.exec(name);
    if (!m) continue;
    const v = t.toArray() as number[];
    const nan = v.filter((x) => Number.isNaN(x)).length;
    const quantizer = m[1];
    if (nan === v.length && v.length > 0) {
      if (options.calibrated && quantizer.endsWith("activation_post_process")) {
        throw new CliError(
          `"${file}": quantizer "${quantizer}" has seen no data (its ${
            m[2]
          } is NaN); run hqat calibrate first`,
          1,
        );
      }
      continue;
    }
    const bad = v.find((x) => !Number.isFinite(x));
    if (bad !== undefined) {
      throw new CliError(
        `"${file}": quantizer "${quantizer}" has ${bad} in its ${
          m[2]
        }; the observed data held NaN or infinite ` +
          "values (calibrate again from a good float checkpoint)",
        1,
      );
    }
  }
}

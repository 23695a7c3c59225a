/**
 * The example inputs every deployment tool takes (as `check_model(model, [example_input])` does):
 * they fix the batch and are checked against the model's input shape.
 * @module
 */

import type { Program } from "@hqat/program";

/**
 * An example input: a shape (NCHW, dimension 0 the batch) and optionally its values — a
 * `Tensor` of `@hqat/tensor` fits, and so does `{ data, shape }`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { ExampleInput } from "@hqat/hbdk";
 * const x: ExampleInput = { data: new Float32Array(3 * 32 * 32), shape: [1, 3, 32, 32] };
 * assert(x.shape[0] === 1);
 * ```
 */
export interface ExampleInput {
  /** The input shape (NCHW, dimension 0 the batch). */
  readonly shape: readonly number[];
  /** The values, if any; their count must match the shape. */
  readonly data?: ArrayLike<number>;
}

/**
 * The batch of `inputs` (dimension 0 of the first), after checking that there is exactly one
 * input, that its shape is made of positive integers, that its data (if any) has as many values,
 * and — when `model` is given — that it matches the model's input shape past dimension 0.
 * Throws a `RangeError` naming `tool` otherwise.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { exampleBatch } from "@hqat/hbdk";
 * assert(exampleBatch([{ shape: [8, 3, 32, 32] }], { tool: "perfModel" }) === 8);
 * ```
 */
export function exampleBatch(
  inputs: readonly ExampleInput[],
  options: { readonly model?: Pick<Program, "inputShape">; readonly tool: string },
): number {
  const { tool, model } = options;
  if (!Array.isArray(inputs) || inputs.length !== 1) {
    throw new RangeError(
      `${tool}: expected one example input (the model has one input), got ${inputs?.length}`,
    );
  }
  const [x] = inputs;
  const shape = x?.shape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
    throw new RangeError(
      `${tool}: the example input's shape must be positive integers, got ${JSON.stringify(shape)}`,
    );
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (x.data !== undefined && x.data.length !== size) {
    throw new RangeError(
      `${tool}: the example input has ${x.data.length} values but shape [${shape}] needs ${size}`,
    );
  }
  if (model !== undefined) {
    const want = model.inputShape;
    if (want.length !== shape.length || want.some((d, i) => i > 0 && d !== shape[i])) {
      throw new RangeError(
        `${tool}: the example input [${shape}] does not match the model input [N,${want.slice(1)}]`,
      );
    }
  }
  return shape[0];
}

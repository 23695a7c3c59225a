/**
 * A run of inference convolutions with their batch norms and clamps fused (an inverted residual block's
 * expansion, depthwise and projection layers) as one op, `conv2dAffineChain`: its CPU kernel keeps every
 * intermediate result inside the kernels' memory — no copy out and back in, no fresh array — and equals
 * `conv2dAffine` applied layer after layer bit for bit. The shape and gradient rules live here.
 * @module
 */
import { apply1 } from "./engine.ts";
import type { ConvAffineAttrs, OpAttrs } from "./ops.ts";
import type { Shape } from "./shape.ts";
import type { Tensor, TensorInfo } from "./tensor.ts";
import type { VjpContext } from "./vjp.ts";

/** The inputs of layer `i`: [w, scale, shift]. */
function layerInputs<T>(ins: readonly T[], i: number): [T, T, T] {
  return [ins[1 + 3 * i], ins[2 + 3 * i], ins[3 + 3 * i]];
}

/**
 * The shape rule: each layer's output by conv2dAffine's rule, fed to the next.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { chainShapeRule } from "./conv_affine_chain.ts";
 * const one = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, min: 0, max: 6, openGrad: true } as const;
 * const info = (shape: number[]) => ({ shape, dtype: "float32" as const });
 * const out = chainShapeRule(
 *   [info([2, 3, 4, 4]), info([5, 3, 1, 1]), info([5]), info([5])],
 *   { layers: [one] },
 *   (ins, a) => [info([ins[0].shape[0], ins[1].shape[0], 4, 4])],
 * );
 * assert(out[0].shape.join() === "2,5,4,4");
 * ```
 */
export function chainShapeRule(
  ins: readonly TensorInfo[],
  a: OpAttrs["conv2dAffineChain"],
  layerRule: (ins: readonly TensorInfo[], a: ConvAffineAttrs) => TensorInfo[],
): TensorInfo[] {
  if (a.layers.length === 0 || ins.length !== 1 + 3 * a.layers.length) {
    throw new RangeError(
      `conv2dAffineChain() needs x and (w, scale, shift) per layer: ${a.layers.length} layers, ${ins.length} inputs`,
    );
  }
  let x: TensorInfo = ins[0];
  a.layers.forEach((l, i) => (x = layerRule([x, ...layerInputs(ins, i)], l)[0]));
  return [{ shape: x.shape as Shape, dtype: "float32" }];
}

/**
 * The gradient rule: recomputes each layer's input, then runs conv2dAffine's rule from the last layer back.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { chainVjp } from "./conv_affine_chain.ts";
 * assert(typeof chainVjp === "function");
 * ```
 */
export function chainVjp(
  c: VjpContext<OpAttrs["conv2dAffineChain"]>,
  layerVjp: (c: VjpContext<ConvAffineAttrs>) => (Tensor | null)[],
): (Tensor | null)[] {
  const layers = c.attrs.layers;
  const xs: Tensor[] = [c.inputs[0]];
  for (let i = 0; i + 1 < layers.length; i++) {
    xs.push(apply1("conv2dAffine", [xs[i], ...layerInputs(c.inputs, i)], layers[i]));
  }
  const out: (Tensor | null)[] = new Array(c.inputs.length).fill(null);
  let g: Tensor | null = c.cts[0];
  for (let i = layers.length - 1; i >= 0 && g; i--) {
    const params = layerInputs(c.inputs, i);
    const needs = [i > 0 || c.needs[0], ...layerInputs(c.needs, i)];
    const outputs = i === layers.length - 1 ? c.outputs : [xs[i + 1]];
    const gi: (Tensor | null)[] = layerVjp({
      inputs: [xs[i], ...params],
      outputs,
      cts: [g],
      attrs: layers[i],
      needs,
    });
    out[1 + 3 * i] = gi[1];
    out[2 + 3 * i] = gi[2];
    out[3 + 3 * i] = gi[3];
    g = gi[0];
  }
  out[0] = c.needs[0] ? g : null;
  return out;
}

/**
 * A run of inference convolutions with their batch norms and clamps fused (an inverted residual block's
 * expansion, depthwise and projection layers) as one op, `conv2dAffineChain`: its CPU kernel keeps every
 * intermediate result inside the kernels' memory — no copy out and back in, no fresh array — and equals
 * `conv2dAffine` applied layer after layer bit for bit (each skip connection as an `add` of a layer's input to a
 * later layer's result).
 * The shape and gradient rules of both ops live here.
 * @module
 */
import { chainSkips } from "./chain_skips.ts";
import { apply1 } from "./engine.ts";
import { add, mul } from "./math.ts";
import { sum } from "./reduce.ts";
import { reshape } from "./shape_ops.ts";
import { zeros } from "./tensor.ts";
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
  const skips = chainSkips(a);
  const inputs: TensorInfo[] = [];
  let x: TensorInfo = ins[0];
  a.layers.forEach((l, i) => {
    inputs.push(x);
    x = layerRule([x, ...layerInputs(ins, i)], l)[0];
    const from = skips.get(i);
    if (from !== undefined && x.shape.join() !== inputs[from].shape.join()) {
      throw new RangeError(
        `conv2dAffineChain(): a residual from layer ${from}'s input to layer ${i}'s output needs the output ` +
          `[${x.shape}] to have the input's shape [${inputs[from].shape}]`,
      );
    }
  });
  return [{ shape: x.shape as Shape, dtype: "float32" }];
}

/**
 * The gradient rule: recomputes each layer's input, then runs conv2dAffine's rule from the last layer back;
 * a skip also sends its layer's output cotangent to the layer input it added, unchanged, as
 * add's rule does.
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
  const layers = c.attrs.layers, skips = chainSkips(c.attrs);
  // xs[i]: layer i's input, recomputed (with the skips' adds, as the op made them).
  const xs: Tensor[] = [c.inputs[0]];
  for (let i = 0; i + 1 < layers.length; i++) {
    const y = apply1("conv2dAffine", [xs[i], ...layerInputs(c.inputs, i)], layers[i]);
    const from = skips.get(i);
    xs.push(from === undefined ? y : add(xs[from], y));
  }
  const out: (Tensor | null)[] = new Array(c.inputs.length).fill(null);
  // cts[i]: the cotangent of xs[i] gathered so far (from layer i - 1's output and from the skips leaving i).
  const cts: (Tensor | null)[] = new Array(layers.length + 1).fill(null);
  const gather = (i: number, g: Tensor | null) => {
    if (g) cts[i] = cts[i] ? add(cts[i]!, g) : g;
  };
  cts[layers.length] = c.cts[0];
  for (let i = layers.length - 1; i >= 0; i--) {
    const g = cts[i + 1];
    if (!g) continue;
    // A skip's add sends the output's cotangent to its source unchanged, as add's rule does.
    const from = skips.get(i);
    if (from !== undefined) gather(from, g);
    const params = layerInputs(c.inputs, i);
    const needs = [i > 0 || c.needs[0], ...layerInputs(c.needs, i)];
    // conv2dAffine's rule reads only the output's shape.
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
    gather(i, gi[0]);
  }
  out[0] = c.needs[0] ? cts[0] : null;
  return out;
}

/**
 * The gradient rule of conv2dAffine. With a clamp it recomputes the pre-activation and runs the rules of
 * clamp, channelAffine and conv2d in turn (the same bits as the three ops). Without one (±∞ bounds: the
 * QAT fold's rescaled convolution) it needs no full-size pass besides the convolution's own gradients: with
 * g the output's cotangent and D = conv2dBackwardWeight(g, x), the weight's gradient is D · scale[c], the
 * scale's is Σ D · w per output channel, and the input's is conv2dBackwardInput(g, w · scale[c]) — equal to
 * the three ops' up to float rounding.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { affineVjp } from "./conv_affine_chain.ts";
 * assert(typeof affineVjp === "function");
 * ```
 */
export function affineVjp(c: VjpContext<ConvAffineAttrs>): (Tensor | null)[] {
  const [x, w, scale, shift] = c.inputs, g = c.cts[0] ?? zeros(c.outputs[0].shape);
  const { min, max, openGrad, ...geo } = c.attrs;
  const axes = [0, 2, 3];
  if (min === -Infinity && max === Infinity) {
    const perOut = (t: Tensor) => reshape(t, [-1, 1, 1, 1]);
    const d = c.needs[1] || c.needs[2]
      ? apply1("conv2dBackwardWeight", [g, x], { ...geo, wShape: w.shape })
      : null;
    return [
      c.needs[0]
        ? apply1("conv2dBackwardInput", [g, mul(w, perOut(scale))], { ...geo, xShape: x.shape })
        : null,
      c.needs[1] ? mul(d!, perOut(scale)) : null,
      c.needs[2] ? sum(mul(d!, w), { axes: [1, 2, 3] }) : null,
      c.needs[3] ? sum(g, { axes }) : null,
    ];
  }
  const z = apply1("conv2d", [x, w], geo);
  const ga = apply1("clampBackward", [g, apply1("channelAffine", [z, scale, shift], {})], {
    min,
    max,
    openGrad,
  });
  const gz = c.needs[0] || c.needs[1] ? apply1("channelAffine", [ga, scale, zeros(shift.shape)], {}) : null;
  return [
    c.needs[0] ? apply1("conv2dBackwardInput", [gz!, w], { ...geo, xShape: x.shape }) : null,
    c.needs[1] ? apply1("conv2dBackwardWeight", [gz!, x], { ...geo, wShape: w.shape }) : null,
    c.needs[2] ? sum(mul(ga, z), { axes }) : null,
    c.needs[3] ? sum(ga, { axes }) : null,
  ];
}

/**
 * The CPU kernel of `conv2dAffineChain`: inference convolutions with their batch norms and clamps, layer after
 * layer, the intermediate results kept in the kernels' memory (one copy in, one out), and with `residual` the
 * chain's input added to its output in the last layer's GEMM epilogue (the skip connection of an inverted
 * residual block, without a pass of its own).
 * @module
 */
import type { TypedArray } from "../dtype.ts";
import type { ConvAffineAttrs } from "../ops.ts";
import type { Shape } from "../shape.ts";
import { conv2dForwardAffine } from "./conv2d.ts";
import { checkLength, type ConvDims, convDims } from "./conv2d_shapes.ts";
import { conv2dForwardWasm, residualInEpilogue } from "./conv2d_wasm.ts";
import { KernelMemoryError, kernelRuntime } from "./wasm_runtime.ts";

/** An input of the op: data and shape. */
interface Operand {
  readonly data: TypedArray;
  readonly shape: Shape;
}

/**
 * conv2dForwardAffine of each layer in turn on x = ins[0] (layer i's weight, scale and shift are ins[1 + 3i],
 * ins[2 + 3i], ins[3 + 3i]), plus x when `residual`; the same bits as the layers one at a time (and the add).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { conv2dAffineChainKernel } from "./conv2d_chain.ts";
 * const one = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, min: 0, max: 6, openGrad: true } as const;
 * const x = { data: Float32Array.of(1, 2, 3, 4), shape: [1, 1, 2, 2] };
 * const w = { data: Float32Array.of(1), shape: [1, 1, 1, 1] };
 * const s = { data: Float32Array.of(2), shape: [1] }, t = { data: Float32Array.of(-5), shape: [1] };
 * assert(conv2dAffineChainKernel([x, w, s, t, w, s, t], [one, one]).join() === "0,0,0,1");
 * ```
 */
export function conv2dAffineChainKernel(
  ins: readonly Operand[],
  layers: readonly ConvAffineAttrs[],
  residual = false,
): Float32Array {
  const op = "conv2dAffineChain";
  const dims: ConvDims[] = [];
  let shape = ins[0].shape;
  for (let i = 0; i < layers.length; i++) {
    const w = ins[1 + 3 * i];
    const d = convDims(shape, w.shape, layers[i], op);
    checkLength(w.data as Float32Array, w.shape, "w", op);
    if (ins[2 + 3 * i].data.length !== d.co || ins[3 + 3 * i].data.length !== d.co) {
      throw new RangeError(`${op}: layer ${i}'s scale and shift must have ${d.co} elements`);
    }
    dims.push(d);
    shape = [d.n, d.co, d.ho, d.wo];
  }
  checkLength(ins[0].data as Float32Array, ins[0].shape, "x", op);
  if (residual && shape.join() !== ins[0].shape.join()) {
    throw new RangeError(
      `${op}: a residual needs the output shape [${shape}] to equal the input's [${ins[0].shape}]`,
    );
  }
  /** y + x in place, each sum one float32 add (a double sum of two floats rounds to the float32 sum). */
  const addInput = (y: Float32Array) => {
    const x = ins[0].data as Float32Array;
    for (let i = 0; i < y.length; i++) y[i] = x[i] + y[i];
    return y;
  };
  const slow = () => {
    let x = ins[0].data as Float32Array, xs = ins[0].shape;
    layers.forEach((l, i) => {
      const [w, scale, shift] = [ins[1 + 3 * i], ins[2 + 3 * i], ins[3 + 3 * i]];
      x = conv2dForwardAffine(x, xs, w.data as Float32Array, w.shape, {
        ...l,
        affine: {
          scale: scale.data as Float32Array,
          shift: shift.data as Float32Array,
          min: l.min,
          max: l.max,
        },
      });
      xs = [dims[i].n, dims[i].co, dims[i].ho, dims[i].wo];
    });
    return residual ? addInput(x) : x;
  };
  const rt = kernelRuntime();
  if (!rt || dims.some((d) => d.n * d.co * d.ho * d.wo === 0 || d.c * d.kh * d.kw === 0)) return slow();
  try {
    rt.reset();
    const x0 = rt.put(ins[0].data as Float32Array), last = layers.length - 1;
    const fuseAdd = residual && residualInEpilogue(dims[last]);
    let xp = x0, size = 0;
    layers.forEach((l, i) => {
      const d = dims[i];
      size = d.n * d.co * d.ho * d.wo;
      const wp = rt.put(ins[1 + 3 * i].data as Float32Array), yp = rt.alloc(size);
      const ep = {
        scale: rt.put(ins[2 + 3 * i].data as Float32Array),
        shift: rt.put(ins[3 + 3 * i].data as Float32Array),
        clamp: rt.put(Float32Array.of(l.min, l.max)),
        residual: fuseAdd && i === last ? x0 : undefined,
      };
      conv2dForwardWasm(rt, d, xp, wp, yp, undefined, ep);
      xp = yp;
    });
    const y = rt.take(xp, size);
    return residual && !fuseAdd ? addInput(y) : y;
  } catch (e) {
    if (e instanceof KernelMemoryError) return slow();
    throw e;
  } finally {
    rt.reset();
  }
}

/**
 * The CPU kernel of `conv2dAffineChain`: inference convolutions with their batch norms and clamps, layer after
 * layer, the intermediate results kept in the kernels' memory (one copy in, one out), and each skip connection
 * (an inverted residual block's) added to its layer's result in that layer's GEMM epilogue, without a pass of
 * its own.
 * @module
 */
import type { TypedArray } from "../dtype.ts";
import type { ConvAffineAttrs } from "../ops.ts";
import type { Shape } from "../shape.ts";
import { chainLastReads } from "../chain_skips.ts";
import { conv2dForwardAffine } from "./conv2d.ts";
import { checkLength, type ConvDims, convDims } from "./conv2d_shapes.ts";
import { GROUP_BYTES, groupImages, runChainGroups } from "./chain_groups.ts";
import { conv2dForwardWasm, groupStep, residualInEpilogue } from "./conv2d_wasm.ts";
import { KernelMemoryError, type KernelRuntime, kernelRuntime } from "./wasm_runtime.ts";

/**
 * Smallest input plane (positions) of a layer run by groups of images. On MobileNetV2's 4×4 and smaller planes the
 * layers gained nothing from it (one thread, batch 8 against 256), and on 2×2 and 1×1 they lost: there the weights,
 * read again for every group, outweigh the activations.
 */
const GROUP_MIN_PLANE = 64;

/** An input of the op: data and shape. */
interface Operand {
  readonly data: TypedArray;
  readonly shape: Shape;
}

/**
 * conv2dForwardAffine of each layer in turn on x = ins[0] (layer i's weight, scale and shift are ins[1 + 3i],
 * ins[2 + 3i], ins[3 + 3i]), with each skip's layer input added to its layer's result (`skips`: to → from, see
 * `chainSkips`); the same bits as the layers one at a time and the adds. Each intermediate result stays in the
 * kernels' memory for as long as a later layer or skip reads it, and its slots then take a later result. Runs of
 * layers on larger planes go by groups of images whose working set fits in `options.groupBytes` (default
 * GROUP_BYTES, see `chain_groups.ts`; 0 runs every layer over the whole batch).
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
 * assert(conv2dAffineChainKernel([x, w, s, t, w, s, t], [one, one], new Map([[1, 0]])).join() === "1,2,3,5");
 * ```
 */
export function conv2dAffineChainKernel(
  ins: readonly Operand[],
  layers: readonly ConvAffineAttrs[],
  skips: ReadonlyMap<number, number> = new Map(),
  options: { groupBytes?: number } = {},
): Float32Array {
  const op = "conv2dAffineChain";
  const dims: ConvDims[] = [];
  const shapes: Shape[] = [ins[0].shape];
  for (let i = 0; i < layers.length; i++) {
    const w = ins[1 + 3 * i];
    const d = convDims(shapes[i], w.shape, layers[i], op);
    checkLength(w.data as Float32Array, w.shape, "w", op);
    if (ins[2 + 3 * i].data.length !== d.co || ins[3 + 3 * i].data.length !== d.co) {
      throw new RangeError(`${op}: layer ${i}'s scale and shift must have ${d.co} elements`);
    }
    dims.push(d);
    shapes.push([d.n, d.co, d.ho, d.wo]);
  }
  checkLength(ins[0].data as Float32Array, ins[0].shape, "x", op);
  for (const [to, from] of skips) {
    if (shapes[to + 1].join() !== shapes[from].join()) {
      throw new RangeError(
        `${op}: a residual from layer ${from}'s input to layer ${to}'s output needs the output shape ` +
          `[${shapes[to + 1]}] to equal the input's [${shapes[from]}]`,
      );
    }
  }
  /** y + x in place, each sum one float32 add (a double sum of two floats rounds to the float32 sum). */
  const addInto = (y: Float32Array, x: Float32Array) => {
    for (let i = 0; i < y.length; i++) y[i] = x[i] + y[i];
    return y;
  };
  const slow = () => {
    const xs = [ins[0].data as Float32Array];
    layers.forEach((l, i) => {
      const [w, scale, shift] = [ins[1 + 3 * i], ins[2 + 3 * i], ins[3 + 3 * i]];
      const y = conv2dForwardAffine(xs[i], shapes[i], w.data as Float32Array, w.shape, {
        ...l,
        affine: {
          scale: scale.data as Float32Array,
          shift: shift.data as Float32Array,
          min: l.min,
          max: l.max,
        },
      });
      const from = skips.get(i);
      xs.push(from === undefined ? y : addInto(y, xs[from]));
    });
    return xs[layers.length];
  };
  const rt = kernelRuntime();
  if (!rt || dims.some((d) => d.n * d.co * d.ho * d.wo === 0 || d.c * d.kh * d.kw === 0)) return slow();
  try {
    rt.reset();
    return runChain(rt, ins, layers, dims, skips, addInto, options.groupBytes ?? GROUP_BYTES);
  } catch (e) {
    if (e instanceof KernelMemoryError) return slow();
    throw e;
  } finally {
    rt.reset();
  }
}

/**
 * The chain on the kernels: layer i reads layer input i (slots reused once nothing later reads them). Runs of
 * consecutive layers on planes of at least GROUP_MIN_PLANE positions whose kernels take any range of images go by
 * groups of images (`runChainGroups`); their slots are reused only once the whole run is done, since a thread may
 * still be reading an earlier layer's slots for its group while another writes a later layer's for the next one.
 */
function runChain(
  rt: KernelRuntime,
  ins: readonly Operand[],
  layers: readonly ConvAffineAttrs[],
  dims: readonly ConvDims[],
  skips: ReadonlyMap<number, number>,
  addInto: (y: Float32Array, x: Float32Array) => Float32Array,
  groupBytes: number,
): Float32Array {
  const last = layers.length - 1, lastRead = chainLastReads(layers.length, skips);
  const free: { ptr: number; floats: number }[] = [];
  const slots: { ptr: number; floats: number }[] = [];
  const slotFor = (floats: number) => {
    let best = -1;
    free.forEach((f, k) => {
      if (f.floats >= floats && (best < 0 || f.floats < free[best].floats)) best = k;
    });
    return best >= 0 ? free.splice(best, 1)[0] : { ptr: rt.alloc(floats), floats };
  };
  // The run of grouped layers being gathered: its steps, their depthwise scratch, the largest working set of one
  // image, and the slots freed inside it.
  let run:
    | { steps: number[][]; scratch: number; perImage: number; freed: { ptr: number; floats: number }[] }
    | undefined;
  const flush = () => {
    if (!run) return;
    const n = dims[0].n;
    runChainGroups(rt, run.steps, n, groupImages(n, rt.threads(), run.perImage, groupBytes), run.scratch);
    free.push(...run.freed);
    run = undefined;
  };
  // The weights first: their copies are kept across calls (rt.keep) only before anything else is allocated; an
  // ungrouped convolution's packed as its GEMM reads them.
  const weights = dims.map((d, i) => {
    const w = ins[1 + 3 * i].data as Float32Array;
    return d.groups === 1 ? rt.keepPacked(w, d.co) : { raw: rt.keep(w), packed: 0 };
  });
  slots.push({ ptr: rt.put(ins[0].data as Float32Array), floats: ins[0].data.length });
  let size = 0, result: Float32Array | undefined;
  layers.forEach((l, i) => {
    const d = dims[i];
    size = d.n * d.co * d.ho * d.wo;
    const from = skips.get(i);
    const fuseAdd = from !== undefined && residualInEpilogue(d);
    const { raw: wp, packed } = weights[i];
    let y = slotFor(size);
    const ep = {
      scale: rt.put(ins[2 + 3 * i].data as Float32Array),
      shift: rt.put(ins[3 + 3 * i].data as Float32Array),
      clamp: rt.put(Float32Array.of(l.min, l.max)),
      residual: fuseAdd ? slots[from].ptr : undefined,
    };
    const step = groupBytes > 0 && d.h * d.w >= GROUP_MIN_PLANE && (from === undefined || fuseAdd)
      ? groupStep(rt, d, slots[i].ptr, wp, y.ptr, ep, packed)
      : undefined;
    if (step) {
      run ??= { steps: [], scratch: 0, perImage: 0, freed: [] };
      run.steps.push(step.ints);
      run.scratch = Math.max(run.scratch, step.scratch);
      run.perImage = Math.max(run.perImage, 4 * (d.c * d.h * d.w + d.co * d.ho * d.wo));
    } else {
      flush();
      conv2dForwardWasm(rt, d, slots[i].ptr, wp, y.ptr, undefined, ep, packed);
    }
    if (from !== undefined && !fuseAdd) {
      // A route without the add in its epilogue: the same float32 adds, outside the kernels' memory.
      const x = from === 0 ? ins[0].data as Float32Array : rt.take(slots[from].ptr, size);
      const sum = addInto(rt.take(y.ptr, size), x);
      if (i === last) result = sum;
      else {
        free.push(y);
        y = { ptr: rt.put(sum), floats: size };
      }
    }
    slots.push(y);
    for (let j = 0; j <= i; j++) if (lastRead[j] === i) (run?.freed ?? free).push(slots[j]);
  });
  flush();
  return result ?? rt.take(slots[last + 1].ptr, size);
}

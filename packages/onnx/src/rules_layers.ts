/**
 * Rules of the operators with weights: Conv (groups, dilation, asymmetric pads) and Gemm become
 * `@hqat/nn` `Conv2d` and `Linear` modules, ConvTranspose a `ConvTranspose2d`, BatchNormalization a
 * `BatchNorm2d`; MatMul and the Gemm forms no layer has compute with their initializers as parameters of
 * the model itself.
 * @module
 */
import { Conv2d, ConvTranspose2d, Linear } from "@hqat/nn";
import { add, matmul, mul, pad, reshape, slice } from "@hqat/tensor";
import { splitPads, type Window2d, window2d, windowOutputs } from "./geometry.ts";
import { broadcastShapes, type ValueInfo } from "./known.ts";
import { ImportedBatchNorm2d, tensorOf } from "./layers.ts";
import type { NodeView } from "./node_view.ts";
import { type Builder, moduleStep, type OpRule, type Step } from "./rule.ts";
import type { OnnxTensor } from "./tensor_proto.ts";
import { floatIn } from "./rules_elementwise.ts";
import { LINEAR_OP } from "./fuse_linear.ts";

function weight(n: NodeView, ins: readonly (ValueInfo | undefined)[], i: number, rank: number): ValueInfo {
  const w = ins[i];
  if (!w) throw n.error(`input ${i} (weights) is missing`);
  if (w.shape.length !== rank) throw n.error(`weights of rank ${w.shape.length}, expected ${rank}`);
  return w;
}

function checkBias(n: NodeView, b: ValueInfo | undefined, c: number) {
  if (b && (b.shape.length !== 1 || b.shape[0] !== c)) {
    throw n.error(`bias [${b.shape.join(",")}] does not fit ${c} output channels`);
  }
}

const conv: OpRule = {
  state: [1, 2],
  infer(n, ins) {
    const x = floatIn(n, ins), w = weight(n, ins, 1, 4);
    if (x.shape.length !== 4) {
      throw n.error(`only 2-D convolution is supported; input is [${x.shape.join(",")}]`);
    }
    const g = n.int("group", 1);
    if (g < 1 || x.shape[1] !== w.shape[1] * g || w.shape[0] % g) {
      throw n.error(`weights [${w.shape.join(",")}] with group ${g} do not fit ${x.shape[1]} input channels`);
    }
    checkBias(n, ins[2], w.shape[0]);
    const win = window2d(n, x.shape.slice(2), w.shape.slice(2));
    return [{ kind: "float", shape: [x.shape[0], w.shape[0], ...windowOutputs(n, x.shape.slice(2), win)] }];
  },
  build(b): Step {
    const n = b.node, w = b.tensor(1), bias = b.has(2) ? b.tensor(2) : undefined;
    if (!w || (b.has(2) && !bias)) throw n.error("weights and bias must be initializers or constants");
    const win = window2d(n, b.shape(0).slice(2), w.dims.slice(2));
    const { symmetric, extra } = splitPads(win);
    const { path, module } = b.layer(
      bias ? { weight: 1, bias: 2 } : { weight: 1 },
      () =>
        new Conv2d(b.shape(0)[1], w.dims[0], [w.dims[2], w.dims[3]], {
          stride: win.stride,
          padding: symmetric,
          dilation: win.dilation,
          groups: n.int("group", 1),
          bias: bias !== undefined,
          weightInit: () => tensorOf(w),
          biasInit: () => tensorOf(bias!),
        }),
    );
    if (extra.every(([p, q]) => p === 0 && q === 0)) return moduleStep(path, module);
    // Asymmetric padding ("same" padding of TensorFlow-style exports): zeros first, then the convolution.
    const pads = [[0, 0], [0, 0], ...extra] as const;
    return { reads: [0], run: ([x], rt) => [rt.s.call(path, module, pad(x, pads))] };
  },
};

/** ConvTranspose's window and pads (from `pads`, `auto_pad`, or a requested `output_shape`). */
function transposeGeometry(n: NodeView, hw: readonly number[], kernel: readonly number[]) {
  const win = window2d(n, [0, 0], kernel);
  const outPad = n.ints("output_padding", [0, 0]);
  const outShape = n.ints("output_shape");
  const pads = [...win.pads];
  const auto = n.string("auto_pad", "NOTSET");
  if (outShape || auto === "SAME_UPPER" || auto === "SAME_LOWER") {
    for (let i = 0; i < 2; i++) {
      const want = outShape ? outShape[outShape.length - 2 + i] : hw[i] * win.stride[i];
      const total = win.stride[i] * (hw[i] - 1) + outPad[i] + (kernel[i] - 1) * win.dilation[i] + 1 - want;
      const half = Math.floor(total / 2);
      pads[i] = auto === "SAME_UPPER" ? half : total - half;
      pads[i + 2] = total - pads[i];
    }
  }
  const out = [0, 1].map((i) =>
    win.stride[i] * (hw[i] - 1) + outPad[i] + (kernel[i] - 1) * win.dilation[i] + 1 - pads[i] - pads[i + 2]
  );
  if (out.some((o) => o < 1) || pads.some((p) => p < 0)) {
    throw n.error(`the output of ${hw.join("×")} would be ${out.join("×")} with pads [${pads.join(",")}]`);
  }
  return { win: { ...win, pads: pads as unknown as Window2d["pads"] }, outPad, out };
}

const convTranspose: OpRule = {
  infer(n, ins) {
    const x = floatIn(n, ins), w = weight(n, ins, 1, 4);
    if (x.shape.length !== 4) throw n.error(`only 2-D transposed convolution is supported`);
    const g = n.int("group", 1);
    if (g < 1 || x.shape[1] !== w.shape[0] || w.shape[0] % g) {
      throw n.error(`weights [${w.shape.join(",")}] with group ${g} do not fit ${x.shape[1]} input channels`);
    }
    checkBias(n, ins[2], w.shape[1] * g);
    const { out } = transposeGeometry(n, x.shape.slice(2), w.shape.slice(2));
    return [{ kind: "float", shape: [x.shape[0], w.shape[1] * g, ...out] }];
  },
  build(b) {
    const n = b.node;
    const { win, outPad } = transposeGeometry(n, b.shape(0).slice(2), b.shape(1).slice(2));
    const { symmetric, extra } = splitPads(win);
    const opts = {
      stride: win.stride,
      padding: symmetric,
      dilation: win.dilation,
      groups: n.int("group", 1),
    };
    const w = b.tensor(1), bias = b.has(2) ? b.tensor(2) : undefined;
    if (!w || (b.has(2) && !bias)) throw n.error("weights and bias must be initializers or constants");
    const g = n.int("group", 1);
    const { path, module } = b.layer(
      bias ? { weight: 1, bias: 2 } : { weight: 1 },
      () =>
        new ConvTranspose2d(w.dims[0], w.dims[1] * g, [w.dims[2], w.dims[3]], {
          ...opts,
          outputPadding: [outPad[0], outPad[1]],
          bias: bias !== undefined,
          weightInit: () => tensorOf(w),
          biasInit: () => tensorOf(bias!),
        }),
    );
    if (extra.every(([p, q]) => p === 0 && q === 0)) return moduleStep(path, module);
    // Asymmetric pads: the layer's symmetric part, then the rest cropped from the output.
    return {
      reads: [0],
      run: ([x], rt) => {
        const y = rt.s.call(path, module, x);
        return [
          slice(y, [0, 0, extra[0][0], extra[1][0]], [
            y.shape[0],
            y.shape[1],
            y.shape[2] - extra[0][1],
            y.shape[3] - extra[1][1],
          ]),
        ];
      },
    };
  },
};

/** A `Linear` layer over weights `w` [out, in] (inputs 1) and bias `c` (input 2, optional). */
function linearStep(b: Builder, w: OnnxTensor, c: OnnxTensor | undefined): Step {
  const { path, module } = b.layer(
    c ? { weight: 1, bias: 2 } : { weight: 1 },
    () =>
      new Linear(w.dims[1], w.dims[0], {
        bias: c !== undefined,
        weightInit: () => tensorOf(w),
        biasInit: () => tensorOf(c!),
      }),
  );
  return moduleStep(path, module);
}

const gemm: OpRule = {
  infer(n, ins) {
    const a = floatIn(n, ins), w = weight(n, ins, 1, 2);
    if (a.shape.length !== 2) throw n.error(`input A must be 2-D, got [${a.shape.join(",")}]`);
    const [m, k] = n.int("transA", 0) ? [a.shape[1], a.shape[0]] : a.shape;
    const [k2, cols] = n.int("transB", 0) ? [w.shape[1], w.shape[0]] : w.shape;
    if (k !== k2) throw n.error(`cannot multiply [${m},${k}] by [${k2},${cols}]`);
    if (ins[2]) {
      try {
        if (broadcastShapes(ins[2].shape, [m, cols]).join() !== [m, cols].join()) throw new Error();
      } catch {
        throw n.error(`C [${ins[2].shape.join(",")}] does not broadcast to [${m},${cols}]`);
      }
    }
    return [{ kind: "float", shape: [m, cols] }];
  },
  build(b): Step {
    const n = b.node;
    const alpha = n.float("alpha", 1), beta = n.float("beta", 1);
    const transA = n.int("transA", 0) === 1, transB = n.int("transB", 0) === 1;
    const w = b.tensor(1), c = b.has(2) ? b.tensor(2) : undefined;
    const linear = !transA && transB && alpha === 1 && w !== undefined &&
      (!b.has(2) || (c !== undefined && beta === 1 && c.dims.length === 1));
    if (linear) {
      return linearStep(b, w, c);
    }
    return {
      reads: b.has(2) ? [0, 1, 2] : [0, 1],
      run: ([a, bm, cm]) => {
        let y = matmul(a, bm, { transA, transB });
        if (alpha !== 1) y = mul(y, alpha);
        if (cm) y = add(y, beta === 1 ? cm : mul(cm, beta));
        return [y];
      },
    };
  },
};

/** NumPy matmul shapes: 1-D operands are promoted and their axis removed again. */
function matmulShape(n: NodeView, a: readonly number[], b: readonly number[]): number[] {
  if (!a.length || !b.length) throw n.error("operands must have at least one dimension");
  const a2 = a.length === 1 ? [1, a[0]] : a, b2 = b.length === 1 ? [b[0], 1] : b;
  if (a2[a2.length - 1] !== b2[b2.length - 2]) {
    throw n.error(`cannot multiply [${a.join(",")}] by [${b.join(",")}]`);
  }
  let batch: number[];
  try {
    batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2));
  } catch (e) {
    throw n.error((e as Error).message);
  }
  return [
    ...batch,
    ...(a.length > 1 ? [a2[a2.length - 2]] : []),
    ...(b.length > 1 ? [b2[b2.length - 1]] : []),
  ];
}

const matmulRule: OpRule = {
  infer(n, ins) {
    const a = floatIn(n, ins), w = ins[1];
    if (!w) throw n.error("needs two inputs");
    return [{ kind: "float", shape: matmulShape(n, a.shape, w.shape) }];
  },
  build() {
    return {
      reads: [0, 1],
      run: ([x, w]) => {
        const y = matmul(x.rank === 1 ? reshape(x, [1, -1]) : x, w.rank === 1 ? reshape(w, [-1, 1]) : w);
        if (x.rank > 1 && w.rank > 1) return [y];
        const r = y.rank;
        return [
          reshape(
            y,
            y.shape.filter((_, i) => !(x.rank === 1 && i === r - 2) && !(w.rank === 1 && i === r - 1)),
          ),
        ];
      },
    };
  },
};

const batchNorm: OpRule = {
  state: [1, 2, 3, 4],
  infer(n, ins) {
    const x = floatIn(n, ins);
    if (x.shape.length !== 4 && x.shape.length !== 2) {
      throw n.error(
        `batch normalization of [${x.shape.join(",")}] is not supported (needs [N,C] or [N,C,H,W])`,
      );
    }
    for (let i = 1; i <= 4; i++) {
      const p = ins[i];
      if (!p || p.shape.length !== 1 || p.shape[0] !== x.shape[1]) {
        throw n.error(`input ${i} must be [${x.shape[1]}], got [${p?.shape.join(",") ?? "missing"}]`);
      }
    }
    const c = [x.shape[1]];
    return [{ kind: "float", shape: x.shape }, { kind: "float", shape: c }, { kind: "float", shape: c }];
  },
  build(b) {
    const n = b.node;
    const [weight, bias, mean, variance] = [1, 2, 3, 4].map((i) => b.tensor(i));
    if (!weight || !bias || !mean || !variance) {
      throw n.error("scale, bias, mean and variance must be initializers or constants");
    }
    // ONNX's momentum weighs the old statistics; PyTorch's (and hqat's) the new batch.
    const momentum = Math.round((1 - n.float("momentum", 0.9)) * 1e6) / 1e6;
    const { path, module } = b.layer(
      { weight: 1, bias: 2, running_mean: 3, running_var: 4 },
      () =>
        new ImportedBatchNorm2d(weight.dims[0], { weight, bias, mean, variance }, {
          eps: n.float("epsilon", 1e-5),
          momentum,
        }),
    );
    return moduleStep(path, module);
  },
};

/** The fused `Transpose(W) → MatMul → Add(b)` of `fuseLinear`: a `Linear` layer on [..., in] inputs. */
const linearRule: OpRule = {
  infer(n, ins) {
    const x = floatIn(n, ins), w = weight(n, ins, 1, 2);
    if (x.shape.at(-1) !== w.shape[1]) {
      throw n.error(`cannot apply weights [${w.shape.join(",")}] to [${x.shape.join(",")}]`);
    }
    checkBias(n, ins[2], w.shape[0]);
    return [{ kind: "float", shape: [...x.shape.slice(0, -1), w.shape[0]] }];
  },
  build(b): Step {
    return linearStep(b, b.tensor(1)!, b.has(2) ? b.tensor(2) : undefined);
  },
};

/** The rules of the operators with weights. */
export const LAYER_RULES = {
  [LINEAR_OP]: linearRule,
  Conv: conv,
  ConvTranspose: convTranspose,
  Gemm: gemm,
  MatMul: matmulRule,
  BatchNormalization: batchNorm,
} as const satisfies Record<string, OpRule>;

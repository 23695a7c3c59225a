/**
 * `convertFx`: the calibrated or QAT model and its state become the fixed-point {@linkcode IntModel}:
 * batch norm folded into convolutions, weights quantized per channel with their observed scales,
 * biases to int32, every activation scale fixed, identities dropped.
 * @module
 */
import { Scope, type StateDict } from "@hqat/nn";
import { type FusedActivation, quantize, quantizeBias } from "@hqat/qtensor";
import type { GraphNode } from "./graph.ts";
import { foldConvBn } from "./interpret.ts";
import type { IntModel, IntNode, IntOp } from "./int_model.ts";
import type { QatModel } from "./qat_model.ts";

interface ScaleInfo {
  dtype: IntNode["dtype"];
  scale: Float32Array;
}

/** An error in conversion, naming the node. */
export class ConvertError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ConvertError";
  }
}

/**
 * Converts a prepared model with its (calibrated or trained) state to the fixed-point model.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { convertFx, prepareQatFx, qatStateFromFloat, setFakeQuantize } from "@hqat/fx";
 * import { March, setMarch } from "@hqat/march-bayes";
 * import { forward, initState, mobilenetV2 } from "@hqat/nn";
 * import { default_qat_8bit_fake_quant_qconfig as q8, default_qat_8bit_weight_32bit_out_fake_quant_qconfig as q32, FakeQuantState } from "@hqat/qtensor";
 * import { randomKey, randomUniform } from "@hqat/tensor";
 * setMarch(March.BAYES);
 * const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
 * const qat = prepareQatFx(float, { "": q8, moduleName: { classifier: q32 } });
 * let state = qatStateFromFloat(qat, initState(float, randomKey(0)));
 * const x = randomUniform(randomKey(1), [2, 3, 32, 32], { min: -1, max: 1 });
 * state = forward(setFakeQuantize(qat, FakeQuantState.CALIBRATION), state, x).state; // one calibration batch
 * const int = convertFx(setFakeQuantize(qat, FakeQuantState.VALIDATION), state);
 * assert(int.nodes.at(-1)!.kind.op === "dequantize");
 * ```
 */
export function convertFx(model: QatModel, state: StateDict): IntModel {
  const s = new Scope(state, "", { training: false, updates: new Map() });
  const info = new Map<string, ScaleInfo>();
  const alias = new Map<string, string>(); // dropped node -> node that holds its value
  const nodes: IntNode[] = [];
  const src = (name: string) => alias.get(name) ?? name;
  const observed = (prefix: string) => {
    const min = state[`${prefix}.min_val`];
    if (min && min.toArray().every((v) => Number.isNaN(v))) {
      throw new ConvertError(
        `Quantizer "${prefix}" has seen no data: calibrate (or train with QAT) before converting`,
      );
    }
  };
  const actScale = (n: GraphNode) => {
    const spec = model.specs.get(n.name);
    if (!spec?.output) return undefined;
    observed(`${n.name}.activation_post_process`);
    return { dtype: spec.output.dtype, scale: model.scaleOf(state, `${n.name}.activation_post_process`)[0] };
  };
  const needQuantized = (n: GraphNode, i: number): ScaleInfo => {
    const inf = info.get(src(n.inputs[i]));
    if (!inf || inf.dtype === "float32") {
      throw new ConvertError(
        `Node "${n.name}" (${n.kind.op}) reads "${n.inputs[i]}", which is not quantized; ` +
          "every node between QuantStub and DeQuantStub needs a qconfig",
      );
    }
    return inf;
  };
  const push = (n: GraphNode, kind: IntOp, out: ScaleInfo, inputs = n.inputs.map(src)) => {
    nodes.push({ name: n.name, inputs, kind, shape: n.shape, dtype: out.dtype, scale: out.scale });
    info.set(n.name, out);
  };
  const weightOf = (n: GraphNode, module: string, w: Float32Array, shape: readonly number[]) => {
    observed(`${module}.weight_fake_quant`);
    const sw = model.scaleOf(state, `${module}.weight_fake_quant`);
    const q = quantize(w, sw, { dtype: "qint8", axis: 0, shape }) as Int8Array;
    if (sw.length !== shape[0]) {
      throw new ConvertError(`Node "${n.name}": ${sw.length} weight scales for ${shape[0]} channels`);
    }
    return { weight: q, weightScale: sw };
  };
  const outputOf = (n: GraphNode, sx: number, sw: Float32Array) => {
    const spec = model.specs.get(n.name)!;
    if (spec.out32) {
      const acc = new Float32Array(sw.length);
      for (let c = 0; c < sw.length; c++) acc[c] = Math.fround(sx * sw[c]);
      return { output: { dtype: "qint32" as const }, out: { dtype: "qint32" as const, scale: acc } };
    }
    const a = actScale(n)!;
    return { output: a, out: { dtype: a.dtype, scale: Float32Array.of(a.scale) } };
  };

  for (const n of model.graph.nodes) {
    const k = n.kind;
    switch (k.op) {
      case "input":
        push(n, { op: "input" }, { dtype: "float32", scale: Float32Array.of(1) });
        break;
      case "output":
        break;
      case "quant_stub": {
        const a = actScale(n);
        if (!a) throw new ConvertError(`QuantStub "${n.name}" has no qconfig`);
        push(n, { op: "quantize", scale: a.scale, dtype: a.dtype }, {
          dtype: a.dtype,
          scale: Float32Array.of(a.scale),
        });
        break;
      }
      case "dequant_stub":
        needQuantized(n, 0);
        push(n, { op: "dequantize" }, { dtype: "float32", scale: Float32Array.of(1) });
        break;
      case "conv2d": {
        const x = needQuantized(n, 0);
        if (k.add) {
          throw new ConvertError(
            `Node "${n.name}": convolutions with a fused add are not converted; prepare with fuse({ add: false })`,
          );
        }
        if (k.paddingMode !== "zeros") {
          throw new ConvertError(`Node "${n.name}": padding mode "${k.paddingMode}" has no integer kernel`);
        }
        const f = foldConvBn(n, s);
        const sx = x.scale[0];
        const { weight, weightScale } = weightOf(n, k.module, f.weight.data as Float32Array, f.weight.shape);
        const bias = f.bias ? quantizeBias(f.bias.data, sx, weightScale) : undefined;
        const { output, out } = outputOf(n, sx, weightScale);
        push(n, {
          op: "conv2d",
          weight,
          weightShape: [...f.weight.shape],
          weightScale,
          bias,
          stride: k.stride,
          padding: k.padding,
          dilation: k.dilation,
          groups: k.groups,
          output,
          act: k.act as FusedActivation | undefined,
        }, out);
        break;
      }
      case "linear": {
        const x = needQuantized(n, 0);
        const w = s.get(`${k.module}.weight`);
        const sx = x.scale[0];
        const { weight, weightScale } = weightOf(n, k.module, w.data as Float32Array, w.shape);
        const bias = k.bias ? quantizeBias(s.get(`${k.module}.bias`).data, sx, weightScale) : undefined;
        const { output, out } = outputOf(n, sx, weightScale);
        push(
          n,
          { op: "linear", weight, weightShape: [...w.shape], weightScale, bias, output, act: k.act },
          out,
        );
        break;
      }
      case "add": {
        needQuantized(n, 0);
        needQuantized(n, 1);
        const a = actScale(n);
        if (!a) throw new ConvertError(`Node "${n.name}" (add) has no output scale`);
        push(n, { op: "add", output: a, act: k.act }, { dtype: a.dtype, scale: Float32Array.of(a.scale) });
        break;
      }
      case "cat": {
        n.inputs.forEach((_, i) => needQuantized(n, i));
        const a = actScale(n)!;
        push(n, { op: "cat", axis: k.axis, output: a }, { dtype: a.dtype, scale: Float32Array.of(a.scale) });
        break;
      }
      case "avg_pool2d": {
        needQuantized(n, 0);
        if (k.ceilMode || !k.countIncludePad) {
          throw new ConvertError(
            `Node "${n.name}": avg_pool2d with ceil mode or without padding counts has no integer kernel`,
          );
        }
        const a = actScale(n)!;
        push(n, { op: "avg_pool2d", kernel: k.kernel, stride: k.stride, padding: k.padding, output: a }, {
          dtype: a.dtype,
          scale: Float32Array.of(a.scale),
        });
        break;
      }
      case "adaptive_avg_pool2d": {
        needQuantized(n, 0);
        const a = actScale(n)!;
        push(n, { op: "adaptive_avg_pool2d", outputSize: k.outputSize, output: a }, {
          dtype: a.dtype,
          scale: Float32Array.of(a.scale),
        });
        break;
      }
      case "max_pool2d":
        if (k.ceilMode) {
          throw new ConvertError(`Node "${n.name}": max_pool2d with ceil mode has no integer kernel`);
        }
        push(
          n,
          { op: "max_pool2d", kernel: k.kernel, stride: k.stride, padding: k.padding },
          needQuantized(n, 0),
        );
        break;
      case "relu":
      case "relu6":
        push(n, { op: k.op }, needQuantized(n, 0));
        break;
      case "flatten":
        push(n, { op: "flatten", startDim: k.startDim }, needQuantized(n, 0));
        break;
      case "dropout":
      case "identity":
        needQuantized(n, 0);
        alias.set(n.name, src(n.inputs[0]));
        break;
      default:
        throw new ConvertError(
          `Node "${n.name}" (${k.op === "prim" ? `prim.${k.prim}` : k.op}) has no integer kernel`,
        );
    }
  }
  const last = nodes[nodes.length - 1];
  if (!last || last.kind.op !== "dequantize") {
    throw new ConvertError("The model's output must come from a DeQuantStub");
  }
  return { format: "hqat-int-model", version: 1, march: model.march, nodes };
}

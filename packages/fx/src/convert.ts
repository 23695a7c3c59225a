/**
 * `convertFx`: the calibrated or QAT model and its state become the fixed-point model — the integer
 * program at O0, one instruction per node: batch norm folded into convolutions, weights quantized per
 * channel with their observed scales, biases to int32, every activation scale fixed and every
 * requantization's multipliers computed (SPEC.md), identities and dropouts dropped.
 * @module
 */
import { Scope, type StateDict } from "@hqat/nn";
import {
  type Activation,
  type Instr,
  type IntModel,
  type ProgramBuffer,
  requantOf,
  type Stage,
  verifyProgram,
} from "@hqat/program";
import { addAlignment, type IntOutput, quantize, quantizeBias } from "@hqat/qtensor";
import type { GraphNode } from "./graph.ts";
import { isRuleKind, ruleOf } from "./node_rules.ts";
import { foldConvBn } from "./interpret.ts";
import type { QatModel } from "./qat_model.ts";

/** An error in conversion, naming the node. */
export class ConvertError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ConvertError";
  }
}

type Omit2<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An instruction before its output buffer and name are known. */
type Draft = Omit2<Instr, "name" | "output" | "epilogue">;

/**
 * Converts a prepared model with its (calibrated or trained) state to the fixed-point model.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { convertFx, prepareQatFx, qatStateFromFloat, setFakeQuantize } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { forward, initState, mobilenetV2 } from "@hqat/nn";
 * import { default_qat_8bit_fake_quant_qconfig as q8, default_qat_8bit_weight_32bit_out_fake_quant_qconfig as q32, FakeQuantState } from "@hqat/qtensor";
 * import { randomKey, randomUniform } from "@hqat/tensor";
 * const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
 * const qat = prepareQatFx(float, { "": q8, moduleName: { classifier: q32 } }, { march: March.BAYES });
 * let state = qatStateFromFloat(qat, initState(float, randomKey(0)));
 * const x = randomUniform(randomKey(1), [2, 3, 32, 32], { min: -1, max: 1 });
 * state = forward(setFakeQuantize(qat, FakeQuantState.CALIBRATION), state, x).state; // one calibration batch
 * const int = convertFx(setFakeQuantize(qat, FakeQuantState.VALIDATION), state);
 * assert(int.opt === "O0" && int.instructions.at(-1)!.op === "dequantize");
 * ```
 */
export function convertFx(model: QatModel, state: StateDict): IntModel {
  const s = new Scope(state, "", { training: false, updates: new Map() });
  const alias = new Map<string, string>(); // dropped node -> node that holds its value
  const bufferOf = new Map<string, number>();
  const buffers: ProgramBuffer[] = [];
  const instructions: Instr[] = [];
  let inputShape: readonly number[] | undefined;
  const src = (name: string) => alias.get(name) ?? name;
  const observed = (prefix: string) => {
    const min = state[`${prefix}.min_val`];
    if (min && min.toArray().every((v) => Number.isNaN(v))) {
      throw new ConvertError(
        `Quantizer "${prefix}" has seen no data: calibrate (or train with QAT) before converting`,
      );
    }
  };
  const actScale = (n: GraphNode): { dtype: "qint8" | "qint16"; scale: number } | undefined => {
    const spec = model.specs.get(n.name);
    if (!spec?.output) return undefined;
    observed(`${n.name}.activation_post_process`);
    return { dtype: spec.output.dtype, scale: model.scaleOf(state, `${n.name}.activation_post_process`)[0] };
  };
  const needScale = (n: GraphNode) =>
    actScale(n) ?? fail(`Node "${n.name}" (${n.kind.op}) has no output scale`);
  const fail = (message: string): never => {
    throw new ConvertError(message);
  };
  /** The buffer of input `i` of `n`, which must hold integers. */
  const input = (n: GraphNode, i: number): number => {
    const b = bufferOf.get(src(n.inputs[i]));
    if (b === undefined || buffers[b].dtype === "float32") {
      throw new ConvertError(
        `Node "${n.name}" (${n.kind.op}) reads "${n.inputs[i]}", which is not quantized; ` +
          "every node between QuantStub and DeQuantStub needs a qconfig",
      );
    }
    return b;
  };
  /** Appends an instruction that writes a new buffer `name` of `shape` (a step of a node made of several). */
  const emitStep = (
    name: string,
    shape: readonly number[],
    draft: Draft,
    out: { dtype: ProgramBuffer["dtype"]; scale: Float32Array },
    epilogue: Stage[] = [],
  ) => {
    buffers.push({ name, shape, dtype: out.dtype, scale: out.scale });
    instructions.push({ ...draft, name, output: buffers.length - 1, epilogue } as Instr);
    return buffers.length - 1;
  };
  /** Appends node `n`'s instruction, writing its buffer. */
  const emit = (
    n: GraphNode,
    draft: Draft,
    out: { dtype: ProgramBuffer["dtype"]; scale: Float32Array },
    epilogue: Stage[] = [],
  ) => bufferOf.set(n.name, emitStep(n.name, n.shape, draft, out, epilogue));
  const requant = (
    n: GraphNode,
    numerator: ArrayLike<number>,
    divisor: number,
    out: IntOutput,
    act?: Activation,
  ) => requantOf(numerator, divisor, out, act, `Node "${n.name}"`);
  /** A weighted layer's requantization (none for a 32-bit output without activation) and output value. */
  const finish = (n: GraphNode, sx: number, weightScale: Float32Array, act: Activation | undefined) => {
    const numerator = Float64Array.from(weightScale, (sw) => sx * sw);
    if (model.specs.get(n.name)!.out32) {
      const scale = Float32Array.from(numerator);
      const stages: Stage[] = act
        ? [{ kind: "requant", ...requant(n, numerator, 1, { dtype: "qint32" }, act) }]
        : [];
      return { out: { dtype: "qint32" as const, scale }, stages };
    }
    const a = needScale(n);
    return {
      out: { dtype: a.dtype, scale: Float32Array.of(a.scale) },
      stages: [{ kind: "requant" as const, ...requant(n, numerator, 1, a, act) }],
    };
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
  /** A pooling's window sum requantized to the node's output scale. */
  const pool = (
    n: GraphNode,
    g: {
      kernel: readonly [number, number];
      stride: readonly [number, number];
      padding: readonly [number, number];
      ceilMode?: boolean;
      countIncludePad?: boolean;
    },
  ) => {
    const x = input(n, 0), a = needScale(n);
    const { kernel, stride, padding } = g;
    const extra = {
      ...(g.ceilMode ? { ceilMode: true } : {}),
      ...(g.countIncludePad === false ? { countIncludePad: false } : {}),
    };
    emit(n, { op: "avg_pool2d", inputs: [x], kernel, stride, padding, ...extra }, {
      dtype: a.dtype,
      scale: Float32Array.of(a.scale),
    }, [{ kind: "requant", ...requant(n, [buffers[x].scale[0]], g.kernel[0] * g.kernel[1], a) }]);
  };

  /**
   * A linear layer on tokens [N, T…, C]: the same weights as a 1×1 convolution over [N, C, T, 1] between
   * two transposes (the integers and requantization are the linear layer's, channel by channel).
   */
  const tokenLinear = (
    n: GraphNode,
    x: number,
    l: { weight: Int8Array; weightShape: readonly number[]; weightScale: Float32Array; bias?: Int32Array },
    out: { dtype: ProgramBuffer["dtype"]; scale: Float32Array },
    stages: Stage[],
  ) => {
    const xs = buffers[x].shape, r = xs.length, [o, c] = l.weightShape;
    const t = xs.slice(1, -1).reduce((p, d) => p * d, 1), inner = [...Array(r - 2).keys()].map((i) => i + 1);
    const grid = { dtype: buffers[x].dtype, scale: buffers[x].scale };
    const tr = emitStep(`${n.name}.channels`, [xs[0], c, ...xs.slice(1, -1)], {
      op: "transpose",
      inputs: [x],
      perm: [0, r - 1, ...inner],
    }, grid);
    const col = emitStep(`${n.name}.column`, [xs[0], c, t, 1], { op: "move", inputs: [tr] }, grid);
    const conv = emitStep(
      `${n.name}.conv`,
      [xs[0], o, t, 1],
      {
        op: "conv2d",
        inputs: [col],
        weight: l.weight,
        weightShape: [o, c, 1, 1],
        weightScale: l.weightScale,
        ...(l.bias ? { bias: l.bias } : {}),
        stride: [1, 1],
        padding: [0, 0],
        dilation: [1, 1],
        groups: 1,
        tileRows: t,
      },
      out,
      stages,
    );
    const back = emitStep(
      `${n.name}.tokens`,
      [xs[0], o, ...xs.slice(1, -1)],
      { op: "move", inputs: [conv] },
      out,
    );
    emit(n, { op: "transpose", inputs: [back], perm: [0, ...inner.map((i) => i + 1), 1] }, out);
  };

  for (const n of model.graph.nodes) {
    const k = n.kind;
    switch (k.op) {
      case "input":
        inputShape = n.shape;
        break;
      case "output":
        break;
      case "quant_stub": {
        const a = actScale(n) ?? fail(`QuantStub "${n.name}" has no qconfig`);
        emit(n, { op: "quantize", inputs: [], scale: a.scale }, {
          dtype: a.dtype,
          scale: Float32Array.of(a.scale),
        });
        break;
      }
      case "dequant_stub":
        emit(n, { op: "dequantize", inputs: [input(n, 0)] }, { dtype: "float32", scale: Float32Array.of(1) });
        break;
      case "conv2d": {
        const x = input(n, 0);
        if (k.add) {
          fail(
            `Node "${n.name}": convolutions with a fused add are not converted; prepare with fuse({ add: false })`,
          );
        }
        if (k.paddingMode !== "zeros") {
          fail(`Node "${n.name}": padding mode "${k.paddingMode}" has no integer kernel`);
        }
        const f = foldConvBn(n, s);
        const sx = buffers[x].scale[0];
        const { weight, weightScale } = weightOf(n, k.module, f.weight.data as Float32Array, f.weight.shape);
        const bias = f.bias ? quantizeBias(f.bias.data, sx, weightScale) : undefined;
        const { out, stages } = finish(n, sx, weightScale, k.act);
        emit(
          n,
          {
            op: "conv2d",
            inputs: [x],
            weight,
            weightShape: [...f.weight.shape] as [number, number, number, number],
            weightScale,
            ...(bias ? { bias } : {}),
            stride: k.stride,
            padding: k.padding,
            dilation: k.dilation,
            groups: k.groups,
            tileRows: n.shape[2],
          },
          out,
          stages,
        );
        break;
      }
      case "linear": {
        const x = input(n, 0);
        const w = s.get(`${k.module}.weight`);
        const sx = buffers[x].scale[0];
        const { weight, weightScale } = weightOf(n, k.module, w.data as Float32Array, w.shape);
        const bias = k.bias ? quantizeBias(s.get(`${k.module}.bias`).data, sx, weightScale) : undefined;
        const { out, stages } = finish(n, sx, weightScale, k.act);
        if (buffers[x].shape.length > 2) {
          tokenLinear(n, x, { weight, weightShape: w.shape, weightScale, bias }, out, stages);
          break;
        }
        emit(
          n,
          {
            op: "linear",
            inputs: [x],
            weight,
            weightShape: [...w.shape] as [number, number],
            weightScale,
            ...(bias ? { bias } : {}),
          },
          out,
          stages,
        );
        break;
      }
      case "add": {
        const a = input(n, 0), b = input(n, 1), o = needScale(n);
        const [sa, sb] = [buffers[a].scale[0], buffers[b].scale[0]];
        const shiftSecond = !(sa >= sb);
        const shifted = buffers[shiftSecond ? b : a];
        const { k: kk, t } = addAlignment(shifted.scale[0], Math.min(sa, sb), {
          dtype: shifted.dtype as "qint8" | "qint16",
        });
        emit(n, { op: "add", inputs: [a, b], shiftSecond, k: kk, t }, {
          dtype: o.dtype,
          scale: Float32Array.of(o.scale),
        }, [{ kind: "requant", ...requant(n, [shifted.scale[0]], 2 ** kk, o, k.act) }]);
        break;
      }
      case "avg_pool2d":
        pool(n, {
          ...k,
          ...(k.ceilMode ? { ceilMode: true } : {}),
          ...(k.countIncludePad ? {} : { countIncludePad: false }),
        });
        break;
      case "adaptive_avg_pool2d": {
        const [, , h, w] = buffers[input(n, 0)].shape;
        const [oh, ow] = k.outputSize;
        if (h % oh !== 0 || w % ow !== 0) {
          fail(
            `Node "${n.name}": adaptive pooling of ${h}×${w} to ${oh}×${ow} has no integer kernel (sizes must divide)`,
          );
        }
        const kernel = [h / oh, w / ow] as const;
        pool(n, { kernel, stride: kernel, padding: [0, 0] });
        break;
      }
      case "max_pool2d": {
        const x = input(n, 0);
        const ceil = k.ceilMode ? { ceilMode: true } : {};
        emit(
          n,
          { op: "max_pool2d", inputs: [x], kernel: k.kernel, stride: k.stride, padding: k.padding, ...ceil },
          buffers[x],
        );
        break;
      }
      case "relu":
      case "relu6": {
        const x = input(n, 0);
        emit(n, { op: "move", inputs: [x] }, buffers[x], [{ kind: k.op }]);
        break;
      }
      case "flatten":
      case "reshape": {
        const x = input(n, 0);
        emit(n, { op: "move", inputs: [x] }, buffers[x]);
        break;
      }
      case "dropout":
      case "identity":
        input(n, 0);
        alias.set(n.name, src(n.inputs[0]));
        break;
      default:
        if (!isRuleKind(k)) {
          fail(`Node "${n.name}" (${k.op === "prim" ? `prim.${k.prim}` : k.op}) has no integer kernel`);
          break;
        }
        ruleOf(k).convert(k as never, n, {
          input: (i) => input(n, i),
          buffer: (b) => buffers[b],
          output: () => needScale(n),
          emit: (draft, out, epilogue) => emit(n, draft as Draft, out, epilogue),
          requant: (numerator, divisor, out) => requant(n, numerator, divisor, out),
          fail,
          param: (name) => s.get(name),
          constant: (name, shape, g, data) =>
            emitStep(name, shape, { op: "constant", inputs: [], data }, {
              dtype: g.dtype,
              scale: Float32Array.of(g.scale),
            }),
          weightScale: () => {
            const module = ruleOf(k).weight?.module(k as never) ?? fail(`Node "${n.name}" has no weights`);
            observed(`${module}.weight_fake_quant`);
            return model.scaleOf(state, `${module}.weight_fake_quant`);
          },
        });
    }
  }
  const last = instructions.at(-1);
  if (!last || last.op !== "dequantize" || !inputShape) {
    fail("The model's output must come from a DeQuantStub");
  }
  const program: IntModel = {
    name: "model",
    march: model.march,
    opt: "O0",
    inputShape: inputShape!,
    buffers,
    instructions,
    output: last!.output,
  };
  verifyProgram(program, { fail: (m) => fail(`The converted model is not a valid program: ${m}`) });
  return program;
}

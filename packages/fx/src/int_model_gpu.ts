/**
 * The fixed-point model on WebGPU: {@linkcode runIntModelGpu} runs every integer node of an
 * {@linkcode IntModel} on a `WebGpuDevice` with `@hqat/tensor`'s GPU-resident integer kernels and gives
 * `runIntModel`'s integers bit for bit. Weights, int32 biases and requantization parameters are uploaded
 * once per model and device and cached; a run uploads its input once, keeps every activation on the GPU,
 * records all its dispatches and reads back only the integer output.
 * @module
 */
import {
  dequantStub,
  outputMultipliers,
  prepareIntLayer,
  type QDType,
  qrange,
  type QTensor,
  qtensor,
  quantStub,
  relu6Bound,
  size2d,
  toScaleArray,
} from "@hqat/qtensor";
import {
  addPlan,
  addSumResident,
  catResident,
  convAccResident,
  type GpuTensor,
  linearAccResident,
  maxPoolResident,
  quantizeResident,
  readTensor,
  releaseTensor,
  type RequantPlan,
  requantPlan,
  requantResident,
  residentCache,
  type ResidentRequant,
  uploadRequant,
  uploadTensor,
  type WebGpuDevice,
  windowSumResident,
} from "@hqat/tensor";
import type { IntModel, IntNode, IntRunResult } from "./int_model.ts";

/** The dtype, scales and channel axis of a node's integer output, as the CPU kernels give them. */
interface Meta {
  readonly dtype: QDType;
  readonly scale: Float32Array;
  readonly axis?: number;
}

/** One node, ready to record: its kernels with their resident parameters. */
interface Step {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly meta: Meta;
  /** Records the node on `dev`; `x` is the float input. Views return an input's buffer reshaped. */
  readonly run: (dev: WebGpuDevice, ins: readonly GpuTensor[], x: GpuTensor) => GpuTensor;
}

interface Resident {
  readonly steps: readonly Step[];
  /** The node the (last) dequantize reads. */
  readonly raw: string;
  /** The quantize node's scale and dtype, for the NaN check. */
  readonly quant?: { readonly scale: number; readonly dtype: "qint8" | "qint16" };
  readonly owned: GpuTensor[];
}

const STORAGE = { qint8: "int8", qint16: "int16", qint32: "int32" } as const;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** Elements after `axis` of `shape` (1 past the last axis). */
const innerOf = (shape: readonly number[], axis: number) => size(shape.slice(axis + 1));
/** A QTensor carrying only metadata, for the checks of `prepareIntLayer`. */
const metaTensor = (m: Meta): QTensor => ({ data: new Int8Array(0), shape: [], ...m });

/** Requantizes `acc` and frees it. */
function finish(dev: WebGpuDevice, acc: GpuTensor, o: Parameters<typeof requantResident>[2]): GpuTensor {
  const y = requantResident(dev, acc, o);
  releaseTensor(dev, acc);
  return y;
}

/** Prepares the steps of `model` on `dev`, uploading its parameters. */
function prepare(model: IntModel, dev: WebGpuDevice): Resident {
  const owned: GpuTensor[] = [];
  const up = (data: Int8Array | Int32Array | Float32Array, shape: readonly number[]) => {
    const t = uploadTensor(dev, data, shape);
    owned.push(t);
    return t;
  };
  const rq = (plan: RequantPlan): ResidentRequant => {
    const r = uploadRequant(dev, plan);
    owned.push(r.params);
    return r;
  };
  const metas = new Map<string, Meta>();
  const steps: Step[] = [];
  let raw: string | undefined, quant: Resident["quant"];
  try {
    for (const n of model.nodes) {
      if (n.kind.op === "input") continue;
      const ins = n.kind.op === "quantize" ? [] : n.inputs.map((i) => {
        const m = metas.get(i);
        if (!m) throw new RangeError(`Int model node "${n.name}" reads "${i}", which has no integer value`);
        return m;
      });
      if (n.kind.op === "dequantize") {
        raw = n.inputs[0];
        continue;
      }
      if (n.kind.op === "quantize") quant = { scale: n.kind.scale, dtype: n.kind.dtype };
      const step = stepOf(n, ins, up, rq);
      metas.set(n.name, step.meta);
      steps.push(step);
    }
    if (raw === undefined) throw new RangeError("Int model has no dequantize node");
  } catch (e) {
    for (const t of owned) releaseTensor(dev, t);
    throw e;
  }
  return { steps, raw, quant, owned };
}

type Upload = (data: Int8Array | Int32Array | Float32Array, shape: readonly number[]) => GpuTensor;

/** The step of node `n` whose inputs have metadata `ins`. */
function stepOf(n: IntNode, ins: readonly Meta[], up: Upload, rq: (p: RequantPlan) => ResidentRequant): Step {
  const k = n.kind;
  const base = { name: n.name, inputs: k.op === "quantize" ? [] : n.inputs };
  const outMeta = (o: { dtype: "qint8" | "qint16"; scale: number }): Meta => ({
    dtype: o.dtype,
    scale: toScaleArray(o.scale),
  });
  switch (k.op) {
    case "quantize": {
      const scale = up(Float32Array.of(toScaleArray(k.scale)[0]), [1]);
      qrange(k.dtype);
      return {
        ...base,
        meta: { dtype: k.dtype, scale: toScaleArray(k.scale) },
        run: (dev, _ins, x) => quantizeResident(dev, x, { scale, dtype: k.dtype }),
      };
    }
    case "conv2d":
    case "linear": {
      const op = k.op === "conv2d" ? "intConv2d()" : "intLinear()";
      const w = qtensor(k.weight, { shape: k.weightShape, scale: k.weightScale, axis: 0, dtype: "qint8" });
      const layer = prepareIntLayer(metaTensor(ins[0]), w, { quantizedBias: k.bias, op });
      const plan = requantPlan({ numerator: layer.accScale, divisor: 1 }, k.output, k.act);
      const weight = up(k.weight, k.weightShape), requant = rq(plan);
      const bias = layer.bias ? up(layer.bias, [layer.bias.length]) : undefined;
      const axis = k.op === "conv2d" ? 1 : n.shape.length - 1;
      const meta: Meta = k.output.dtype === "qint32"
        ? { dtype: "qint32", scale: Float32Array.from(plan.scale), axis }
        : outMeta(k.output);
      const out = STORAGE[k.output.dtype];
      return {
        ...base,
        meta,
        run: (dev, [x]) => {
          const acc = k.op === "conv2d"
            ? convAccResident(dev, x, {
              weight,
              geometry: { stride: k.stride, padding: k.padding, dilation: k.dilation, groups: k.groups },
            })
            : linearAccResident(dev, x, { weight });
          const inner = innerOf(acc.shape, k.op === "conv2d" ? 1 : acc.shape.length - 1);
          return finish(dev, acc, { requant, inner, out, bias: bias && { tensor: bias, inner } });
        },
      };
    }
    case "add": {
      for (const [label, m] of [["first", ins[0]], ["second", ins[1]]] as const) {
        if (m.dtype !== "qint8" && m.dtype !== "qint16") {
          throw new TypeError(`intAdd(): the ${label} operand must be qint8 or qint16, not ${m.dtype}`);
        }
        if (m.scale.length !== 1) {
          throw new RangeError(`intAdd(): the ${label} operand needs one per-tensor scale`);
        }
      }
      const [a, b] = ins as readonly { dtype: "qint8" | "qint16"; scale: Float32Array }[];
      const p = addPlan({ scale: a.scale[0], dtype: a.dtype }, { scale: b.scale[0], dtype: b.dtype });
      const requant = rq(requantPlan({ numerator: [p.shiftedScale], divisor: 2 ** p.k }, k.output, k.act));
      const out = STORAGE[k.output.dtype];
      return {
        ...base,
        meta: outMeta(k.output),
        run: (dev, [x, y]) =>
          finish(dev, addSumResident(dev, p.swap ? [y, x] : [x, y], p), { requant, inner: 1, out }),
      };
    }
    case "cat": {
      const rank = n.shape.length;
      const axis = k.axis < 0 ? k.axis + rank : k.axis;
      const { qmin, qmax } = qrange(k.output.dtype);
      const requants = ins.map((m) => {
        const mult = outputMultipliers({ numerator: m.scale, divisor: 1 }, k.output.scale);
        return { requant: rq({ mult, lo: qmin, hi: [qmax], scale: [1] }), axis: m.axis ?? 0 };
      });
      const out = STORAGE[k.output.dtype];
      return {
        ...base,
        meta: outMeta(k.output),
        run: (dev, xs) => {
          const parts = xs.map((x, i) =>
            requantResident(dev, x, {
              requant: requants[i].requant,
              inner: innerOf(x.shape, requants[i].axis),
              out,
            })
          );
          try {
            return catResident(dev, parts, { axis });
          } finally {
            for (const t of parts) releaseTensor(dev, t);
          }
        },
      };
    }
    case "avg_pool2d":
    case "adaptive_avg_pool2d": {
      const op = k.op === "avg_pool2d" ? "intAvgPool2d()" : "intAdaptiveAvgPool2d()";
      const x = ins[0];
      if (x.dtype !== "qint8" && x.dtype !== "qint16") {
        throw new TypeError(`${op}: the input must be qint8 or qint16`);
      }
      if (x.scale.length !== 1) throw new RangeError(`${op}: the input needs one per-tensor scale`);
      if (k.op === "adaptive_avg_pool2d") {
        const [oh, ow] = size2d(k.outputSize, "outputSize", 1);
        if (oh !== 1 || ow !== 1) {
          throw new RangeError(`intAdaptiveAvgPool2d(): only a 1x1 output is supported, not ${oh}x${ow}`);
        }
      }
      // One requantization per window size (the adaptive window is the input plane).
      const plans = new Map<number, ResidentRequant>();
      const planFor = (area: number) => {
        let r = plans.get(area);
        if (!r) plans.set(area, r = rq(requantPlan({ numerator: [x.scale[0]], divisor: area }, k.output)));
        return r;
      };
      if (k.op === "avg_pool2d") planFor(k.kernel[0] * k.kernel[1]);
      const out = STORAGE[k.output.dtype];
      return {
        ...base,
        meta: outMeta(k.output),
        run: (dev, [t]) => {
          if (k.op === "adaptive_avg_pool2d" && t.shape.length !== 4) {
            throw new RangeError(`intAdaptiveAvgPool2d(): the input [${t.shape}] must be 4-d`);
          }
          const g = k.op === "avg_pool2d" ? { kernel: k.kernel, stride: k.stride, padding: k.padding } : {
            kernel: [t.shape[2], t.shape[3]] as const,
            stride: [t.shape[2], t.shape[3]] as const,
            padding: [0, 0] as const,
          };
          const requant = planFor(g.kernel[0] * g.kernel[1]);
          return finish(dev, windowSumResident(dev, t, g), { requant, inner: 1, out });
        },
      };
    }
    case "max_pool2d": {
      const x = ins[0];
      if (x.scale.length !== 1 && x.axis !== 1) {
        throw new RangeError(
          `intMaxPool2d(): per-channel scales must be on axis 1 (channels), not ${x.axis}`,
        );
      }
      return {
        ...base,
        meta: x,
        run: (dev, [t]) =>
          maxPoolResident(dev, t, { kernel: k.kernel, stride: k.stride, padding: k.padding }),
      };
    }
    case "relu":
    case "relu6": {
      const x = ins[0], { qmax } = qrange(x.dtype);
      const hi = k.op === "relu" ? [qmax] : Array.from(x.scale, (s) => relu6Bound(s, qmax));
      const requant = rq({ mult: hi.map(() => ({ M: 1, n: 0 })), lo: 0, hi, scale: [1] });
      const perChannel = x.scale.length > 1;
      return {
        ...base,
        meta: x,
        run: (dev, [t]) =>
          requantResident(dev, t, {
            requant,
            inner: perChannel ? innerOf(t.shape, x.axis ?? 0) : 1,
            out: STORAGE[x.dtype],
          }),
      };
    }
    case "flatten": {
      const flat = (s: readonly number[]) => [...s.slice(0, k.startDim), size(s.slice(k.startDim))];
      return { ...base, meta: ins[0], run: (_dev, [t]) => ({ ...t, shape: flat(t.shape) }) };
    }
    case "identity":
      return { ...base, meta: ins[0], run: (_dev, [t]) => t };
    case "input":
    case "dequantize":
      throw new TypeError(`Int model node "${n.name}" (${k.op}) is not a step`);
  }
}

const CACHE = residentCache(prepare);

/**
 * Frees the parameters {@linkcode runIntModelGpu} cached for `model` on `device`; returns whether there
 * were any. The next run uploads them again.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { type IntModel, releaseIntModelGpu } from "@hqat/fx";
 * import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   const m = { format: "hqat-int-model", version: 1, march: "bayes", nodes: [] } as IntModel;
 *   assert(!releaseIntModelGpu(m, device));
 *   device.destroy();
 * }
 * ```
 */
export function releaseIntModelGpu(model: IntModel, device: WebGpuDevice): boolean {
  return CACHE.release(model, device);
}

/** Options of {@linkcode runIntModelGpu}. */
export interface RunIntModelGpuOptions {
  /**
   * The device. Its dispatches are submitted every `maxBatch` of them (a `WebGpuDevice` option) and at
   * the final read: a device created with a `maxBatch` above the model's dispatch count (about three
   * per node) submits each run at once.
   */
  readonly device: WebGpuDevice;
  /** Keep every node's integer output in `all` (each is read back: for debugging, slower). */
  readonly keepAll?: boolean;
}

/**
 * Runs the fixed-point model on a float input batch (NCHW) on WebGPU and returns what `runIntModel`
 * returns, bit for bit: the integer output before DeQuantStub (`raw`, with its dtype, scales and axis),
 * its dequantized float32 values, and with `keepAll` every node's integers. The first run on a device
 * uploads the model's weights, int32 biases and requantization parameters and caches them (see
 * {@linkcode releaseIntModelGpu}); each run uploads the input once, quantizes it and runs every node
 * on the GPU with activations kept resident, and reads back only the raw output, which DeQuantStub
 * turns into floats on the host (the same `dequantStub` as the CPU path).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { type IntModel, runIntModel, runIntModelGpu } from "@hqat/fx";
 * import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";
 * const m: IntModel = { format: "hqat-int-model", version: 1, march: "bayes", nodes: [
 *   { name: "x", inputs: [], kind: { op: "input" }, shape: [1, 2], dtype: "float32", scale: new Float32Array([1]) },
 *   { name: "quant", inputs: ["x"], kind: { op: "quantize", scale: 0.5, dtype: "qint8" }, shape: [1, 2], dtype: "qint8", scale: new Float32Array([0.5]) },
 *   { name: "relu", inputs: ["quant"], kind: { op: "relu" }, shape: [1, 2], dtype: "qint8", scale: new Float32Array([0.5]) },
 *   { name: "dequant", inputs: ["relu"], kind: { op: "dequantize" }, shape: [1, 2], dtype: "float32", scale: new Float32Array([1]) },
 * ] };
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   const r = await runIntModelGpu(m, Float32Array.of(0.74, -3), [1, 2], { device });
 *   assert(r.raw.data.join() === "1,0" && r.output.join() === "0.5,0");
 *   assert(r.output.join() === runIntModel(m, Float32Array.of(0.74, -3), [1, 2]).output.join());
 *   device.destroy();
 * }
 * ```
 */
export async function runIntModelGpu(
  model: IntModel,
  input: Float32Array,
  shape: readonly number[],
  options: RunIntModelGpuOptions,
): Promise<IntRunResult> {
  const dev = options.device;
  if (input.length !== size(shape)) {
    throw new RangeError(
      `runIntModelGpu(): the input has ${input.length} values, but [${shape}] needs ${size(shape)}`,
    );
  }
  const res = CACHE.get(model, dev);
  if (res.quant && input.some((v) => v !== v)) {
    quantStub(input, { shape, scale: res.quant.scale, dtype: res.quant.dtype }); // throws the CPU's error
  }
  const uses = new Map<string, number>();
  for (const s of res.steps) for (const i of s.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  uses.set(res.raw, (uses.get(res.raw) ?? 0) + 1);
  const refs = new Map<GPUBuffer, number>();
  const values = new Map<string, GpuTensor>();
  const x = uploadTensor(dev, input, shape);
  const drop = (t: GpuTensor) => {
    const left = (refs.get(t.buffer) ?? 1) - 1;
    refs.set(t.buffer, left);
    if (left === 0 && !options.keepAll) releaseTensor(dev, t);
  };
  try {
    for (const s of res.steps) {
      const ins = s.inputs.map((i) => values.get(i)!);
      const y = s.run(dev, ins, x);
      refs.set(y.buffer, (refs.get(y.buffer) ?? 0) + (uses.get(s.name) ?? 0));
      values.set(s.name, y);
      for (const t of ins) drop(t);
      if (refs.get(y.buffer) === 0 && !options.keepAll) releaseTensor(dev, y);
    }
    const read = async (name: string): Promise<QTensor> => {
      const t = values.get(name)!, m = res.steps.find((s) => s.name === name)!.meta;
      const data = (await readTensor(dev, t)) as QTensor["data"];
      const q = { data, shape: [...t.shape], dtype: m.dtype, scale: m.scale };
      return Object.freeze(m.axis === undefined ? q : { ...q, axis: m.axis });
    };
    const raw = await read(res.raw);
    const result: IntRunResult = { output: dequantStub(raw), shape: [...raw.shape], raw };
    if (options.keepAll) {
      result.all = new Map();
      for (const s of res.steps) result.all.set(s.name, s.name === res.raw ? raw : await read(s.name));
    }
    return result;
  } finally {
    const live = new Set<GPUBuffer>();
    for (const t of values.values()) {
      if ((options.keepAll || refs.get(t.buffer)! > 0) && !live.has(t.buffer)) {
        live.add(t.buffer);
        releaseTensor(dev, t);
      }
    }
    releaseTensor(dev, x);
  }
}

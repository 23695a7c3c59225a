/**
 * The `.hbm` runtime on WebGPU: {@linkcode runHbmGpu} executes a loaded program's instructions and
 * their fused epilogues (requantization, residual add, activation) with `@hqat/tensor`'s GPU-resident
 * integer kernels and gives `runHbm`'s integers and floats bit for bit, at every optimization level.
 * @module
 */

import {
  activationBounds,
  dequantStub,
  qrange,
  type QTensor,
  qtensor,
  quantStub,
  relu6Bound,
  toScaleArray,
} from "@hqat/qtensor";
import {
  addSumResident,
  catResident,
  convAccResident,
  type DType,
  type GpuTensor,
  linearAccResident,
  maxPoolResident,
  quantizeResident,
  readTensor,
  releaseTensor,
  type RequantPlan,
  requantResident,
  type ResidentBias,
  residentCache,
  type ResidentRequant,
  uploadRequant,
  uploadTensor,
  type WebGpuDevice,
  windowSumResident,
} from "@hqat/tensor";
import type { BufferDtype, HbmProgram, Instr, Requant, Stage } from "./hbm_program.ts";
import { type HbmRunResult, HbmRuntimeError } from "./hbm_run.ts";
import { instrReads } from "./memory_plan.ts";

/** A value between steps: the tensor, and an int32 bias not yet added to it (conv / linear). */
interface Value {
  readonly t: GpuTensor;
  readonly bias?: ResidentBias;
}

/** The dtype and scale a value carries, as `runHbm` tracks them (no scale on accumulators). */
interface Meta {
  readonly dtype: BufferDtype;
  readonly scale?: Float32Array;
}

/** Records one instruction; returns the value it writes. */
type Run = (dev: WebGpuDevice, read: (id: number) => GpuTensor, x: GpuTensor) => Value;

interface Resident {
  readonly steps: readonly { readonly instr: Instr; readonly run: Run }[];
  /** The buffer the dequantize reads: the raw integer output. */
  readonly raw: number;
  readonly owned: GpuTensor[];
  /** A clamp that leaves an int32 accumulator as it is (for adding a pending bias). */
  readonly keep: ResidentRequant;
}

const STORAGE = { qint8: "int8", qint16: "int16", qint32: "int32", float32: "float32" } as const;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const fail = (msg: string): never => {
  throw new HbmRuntimeError(`runHbmGpu: ${msg}`);
};

function requantPlanOf(r: Requant, op: string): RequantPlan {
  const mult = Array.from(r.M, (M, c) => ({ M, n: r.n[c] }));
  const { lo, hi } = activationBounds(qrange(r.dtype), {
    activation: r.act === "none" ? undefined : r.act,
    scale: r.scale.length === 1 ? r.scale[0] : r.scale,
  });
  if (hi.length !== 1 && hi.length !== mult.length) {
    fail(`${op}: requantize(): ${hi.length} output scales for ${mult.length} channels`);
  }
  return { mult, lo, hi, scale: [1] };
}

/** Compiles `program`'s instructions into steps on `dev`, uploading their parameters. */
function prepare(program: HbmProgram, dev: WebGpuDevice): Resident {
  const owned: GpuTensor[] = [];
  const up = (data: Int8Array | Int32Array | Float32Array, shape: readonly number[]) => {
    const t = uploadTensor(dev, data, shape);
    owned.push(t);
    return t;
  };
  const rq = (plan: RequantPlan) => {
    const r = uploadRequant(dev, plan);
    owned.push(r.params);
    return r;
  };
  try {
    const keep = rq({ mult: [{ M: 1, n: 0 }], lo: -2147483648, hi: [2147483647], scale: [1] });
    const dq = program.instructions.findIndex((i) => i.op === "dequantize");
    if (dq < 0) fail("the program has no dequantize instruction");
    const dqi = program.instructions[dq];
    if (dqi.output !== program.output || dqi.epilogue.length > 0) {
      fail(`the output buffer ${program.output} is not the plain dequantize of instruction ${dq}`);
    }
    const written = new Set<number>();
    const steps: Resident["steps"][number][] = [];
    for (const [j, instr] of program.instructions.entries()) {
      for (const id of instrReads(instr)) {
        if (!written.has(id)) {
          fail(`instruction ${j} (${instr.name}) reads buffer ${id} before it is written`);
        }
      }
      if (instr.op === "dequantize") continue; // the raw output is dequantized on the host
      steps.push({ instr, run: stepOf(program, instr, { up, rq, keep }) });
      written.add(instr.output);
    }
    return { steps, raw: dqi.inputs[0], owned, keep };
  } catch (e) {
    for (const t of owned) releaseTensor(dev, t);
    throw e;
  }
}

interface Uploads {
  readonly up: (data: Int8Array | Int32Array | Float32Array, shape: readonly number[]) => GpuTensor;
  readonly rq: (plan: RequantPlan) => ResidentRequant;
  readonly keep: ResidentRequant;
}

/** The value with its pending bias added, as `runHbm` holds it (a new tensor when there is a bias). */
function settle(dev: WebGpuDevice, v: Value, keep: ResidentRequant): GpuTensor {
  if (!v.bias) return v.t;
  return requantResident(dev, v.t, { requant: keep, inner: 1, out: "int32", bias: v.bias });
}

/** `x` as `[N, k]`, as `runHbm` reads a linear layer's input. */
function flat(x: GpuTensor, k: number): GpuTensor {
  if (size(x.shape) !== x.shape[0] * k) fail(`a linear layer of ${k} input features reads [${x.shape}]`);
  return { ...x, shape: [x.shape[0], k] };
}

/** Elements per channel along axis 1 of `shape`. */
const inner1 = (shape: readonly number[]) => size(shape.slice(2));

function stepOf(program: HbmProgram, instr: Instr, u: Uploads): Run {
  const buf = (id: number) => program.buffers[id];
  const bufMeta = (id: number): Meta => ({ dtype: buf(id).dtype, scale: buf(id).scale });
  const where = `instruction ${instr.name} (${instr.op})`;
  let meta: Meta;
  let main: (dev: WebGpuDevice, ins: readonly GpuTensor[], x: GpuTensor) => Value;
  switch (instr.op) {
    case "quantize": {
      const dtype = buf(instr.output).dtype;
      if (dtype !== "qint8" && dtype !== "qint16") fail(`${where} writes a ${dtype} buffer`);
      const scale = u.up(Float32Array.of(toScaleArray(instr.scale)[0]), [1]);
      meta = { dtype, scale: toScaleArray(instr.scale) };
      main = (dev, _ins, x) => ({
        t: quantizeResident(dev, x, { scale, dtype: dtype as "qint8" | "qint16" }),
      });
      break;
    }
    case "conv2d":
    case "linear": {
      const weight = u.up(instr.weight, instr.weightShape);
      const bias = instr.bias && u.up(instr.bias, [instr.bias.length]);
      const k = instr.weightShape[1];
      meta = { dtype: "qint32" };
      main = (dev, [x]) => {
        const t = instr.op === "conv2d"
          // Row tiles (tileRows) bound the feature memory of the BPU; every output row is the same
          // integer whether its tile is accumulated alone or with the others, so the GPU runs it whole.
          ? convAccResident(dev, x, {
            weight,
            geometry: {
              stride: instr.stride,
              padding: instr.padding,
              dilation: instr.dilation,
              groups: instr.groups,
            },
          })
          : linearAccResident(dev, flat(x, k), { weight });
        return { t, bias: bias && { tensor: bias, inner: inner1(t.shape) } };
      };
      break;
    }
    case "add": {
      meta = { dtype: "qint32" };
      main = (dev, [a, b]) => ({ t: addSumResident(dev, instr.shiftSecond ? [b, a] : [a, b], instr) });
      break;
    }
    case "avg_pool2d":
      meta = { dtype: "qint32" };
      main = (dev, [x]) => ({ t: windowSumResident(dev, x, instr) });
      break;
    case "max_pool2d":
      meta = bufMeta(instr.inputs[0]);
      main = (dev, [x]) => ({ t: maxPoolResident(dev, x, instr) });
      break;
    case "cat": {
      const parts = instr.requants.map((r) => ({
        requant: u.rq(requantPlanOf(r, where)),
        out: STORAGE[r.dtype],
      }));
      meta = { dtype: instr.requants[0].dtype, scale: instr.requants[0].scale };
      main = (dev, xs) => {
        const ts = xs.map((x, i) =>
          requantResident(dev, x, { requant: parts[i].requant, inner: inner1(x.shape), out: parts[i].out })
        );
        try {
          return { t: catResident(dev, ts, { axis: instr.axis }) };
        } finally {
          for (const p of ts) releaseTensor(dev, p);
        }
      };
      break;
    }
    case "move":
      meta = bufMeta(instr.inputs[0]);
      main = (_dev, [x]) => ({ t: x });
      break;
    case "dequantize":
      return fail(`${where} is not a step`);
  }
  const stages: StageRun[] = [];
  for (const s of instr.epilogue) {
    const r = stageOf(s, meta, u, where);
    stages.push(r.run);
    meta = r.meta;
  }
  const out = buf(instr.output);
  if (meta.dtype !== out.dtype) {
    fail(`${where} gives ${meta.dtype} for its ${out.dtype} buffer ${instr.output}`);
  }
  const movesInput = instr.op === "move";
  return (dev, read, x) => {
    const ins = instr.inputs.map(read);
    let v = main(dev, ins, x);
    for (const [i, st] of stages.entries()) {
      const next = st(dev, v, read);
      // A `move` starts from its input buffer, which the first stage must not release.
      if (next.t !== v.t && !(movesInput && i === 0)) releaseTensor(dev, v.t);
      v = next;
    }
    return v;
  };
}

type StageRun = (dev: WebGpuDevice, v: Value, read: (id: number) => GpuTensor) => Value;

/** A stage that requantizes (or only clamps) per channel along axis 1, adding a pending bias first. */
const requantStage = (requant: ResidentRequant, out: DType): StageRun => (dev, v) => ({
  t: requantResident(dev, v.t, { requant, inner: inner1(v.t.shape), out, bias: v.bias }),
});

function stageOf(s: Stage, meta: Meta, u: Uploads, where: string): { meta: Meta; run: StageRun } {
  switch (s.kind) {
    case "requant":
      return {
        meta: { dtype: s.dtype, scale: s.scale },
        run: requantStage(u.rq(requantPlanOf(s, where)), STORAGE[s.dtype]),
      };
    case "add":
      return {
        meta: { dtype: "qint32" },
        run: (dev, v, read) => {
          const t = settle(dev, v, u.keep), a = read(s.addend);
          const sum = addSumResident(dev, s.shiftAddend ? [a, t] : [t, a], s);
          if (t !== v.t) releaseTensor(dev, t);
          return { t: sum };
        },
      };
    case "relu":
    case "relu6": {
      if (meta.dtype === "float32") fail(`${where}: ${s.kind} on a float32 value`);
      const { qmax } = qrange(meta.dtype as "qint8");
      const scale = meta.scale ?? Float32Array.of(1);
      const hi = s.kind === "relu" ? [qmax] : Array.from(scale, (sc) => relu6Bound(sc, qmax));
      const requant = u.rq({ mult: hi.map(() => ({ M: 1, n: 0 })), lo: 0, hi, scale: [1] });
      return { meta, run: requantStage(requant, STORAGE[meta.dtype]) };
    }
  }
}

const CACHE = residentCache(prepare);

/**
 * Frees the parameters {@linkcode runHbmGpu} cached for `program` on `device`; returns whether there
 * were any.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { type HbmProgram, releaseHbmGpu } from "@hqat/hbdk";
 * import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   assert(!releaseHbmGpu({ instructions: [] } as unknown as HbmProgram, device));
 *   device.destroy();
 * }
 * ```
 */
export function releaseHbmGpu(program: HbmProgram, device: WebGpuDevice): boolean {
  return CACHE.release(program, device);
}

/** Options of {@linkcode runHbmGpu}. */
export interface RunHbmGpuOptions {
  /** The device (a `maxBatch` above the program's dispatch count submits each run at once). */
  readonly device: WebGpuDevice;
  /** Return the integer output before dequantization instead of the float output. */
  readonly raw?: boolean;
}

/**
 * Runs a loaded program on WebGPU and returns what `runHbm` returns, bit for bit: the dequantized output,
 * or with `raw` the integer output before dequantization. The first run on a device uploads the weights,
 * biases and requantization parameters and caches them (see {@linkcode releaseHbmGpu}); each run uploads
 * the input once and keeps every buffer on the GPU, recording each instruction's main operation and
 * epilogue as kernels (a conv's bias is added in the requantization that follows it), and reads back
 * only the raw output, which the final dequantize turns into floats on the host (`dequantStub`, as
 * `runHbm` does). The arena and its memory plan (O2's buffer reuse) belong to the BPU: here each
 * buffer is its own GPU tensor, freed after its last reader. O3's row tiles of a convolution are
 * accumulated as one whole convolution: each output row is the same integer either way. Frames are
 * independent, so the whole input runs at once, whatever the compiled batch. Throws an
 * {@linkcode HbmRuntimeError} when the input does not match the compiled input past dimension 0.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { encodeHbm, loadHbm, runHbm, runHbmGpu, type HbmProgram } from "@hqat/hbdk";
 * import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";
 * const p: HbmProgram = {
 *   name: "tiny", march: "bayes", opt: "O0", inputSource: "ddr", inputShape: [1, 2], arenaBytes: 128, output: 1,
 *   buffers: [
 *     { name: "q", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5), layout: "nchw", offset: 0, bytes: 2 },
 *     { name: "d", shape: [1, 2], dtype: "float32", scale: Float32Array.of(1), layout: "nchw", offset: 64, bytes: 8 },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [{ kind: "relu" }], scale: 0.5 },
 *     { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * const program = loadHbm(encodeHbm(p));
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   const y = await runHbmGpu(program, Float32Array.of(0.74, -3, 9, 1), [2, 2], { device });
 *   assert(y.data.join() === "0.5,0,9,1" && y.data.join() === runHbm(program, Float32Array.of(0.74, -3, 9, 1), [2, 2]).data.join());
 *   device.destroy();
 * }
 * ```
 */
export async function runHbmGpu(
  program: HbmProgram,
  input: Float32Array,
  shape: readonly number[],
  options: RunHbmGpuOptions,
): Promise<HbmRunResult> {
  const want = program.inputShape;
  if (shape.length !== want.length || shape.some((d, i) => i > 0 && d !== want[i]) || !(shape[0] >= 1)) {
    fail(`the input [${shape}] does not match the compiled input [N,${want.slice(1)}]`);
  }
  if (!Number.isSafeInteger(shape[0]) || input.length !== size(shape)) {
    fail(`the input has ${input.length} values, but [${shape}] needs ${size(shape)}`);
  }
  const dev = options.device, n = shape[0];
  const res = CACHE.get(program, dev);
  const quant = program.instructions.find((i) => i.op === "quantize");
  if (quant?.op === "quantize" && input.some((v) => v !== v)) {
    const dtype = program.buffers[quant.output].dtype as "qint8" | "qint16";
    quantStub(input, { shape, scale: quant.scale, dtype }); // throws the CPU's error
  }
  // Readers left per buffer id, and per GPU buffer (a `move` without stages shares its input's).
  const uses = new Map<number, number>([[res.raw, 1]]);
  for (const st of res.steps) for (const id of instrReads(st.instr)) uses.set(id, (uses.get(id) ?? 0) + 1);
  const refs = new Map<GPUBuffer, number>();
  const tensors = new Map<number, GpuTensor>();
  const read = (id: number): GpuTensor =>
    tensors.get(id) ?? fail(`buffer ${id} is read before it is written`);
  const drop = (t: GpuTensor, k = 1) => {
    const left = refs.get(t.buffer)! - k;
    refs.set(t.buffer, left);
    if (left === 0) releaseTensor(dev, t);
  };
  const x = uploadTensor(dev, input, shape);
  try {
    for (const { instr, run } of res.steps) {
      const v = run(dev, read, x);
      const t = settle(dev, v, res.keep);
      if (t !== v.t) releaseTensor(dev, v.t);
      const outShape = [n, ...program.buffers[instr.output].shape.slice(1)];
      if (size(t.shape) !== size(outShape)) {
        fail(`instruction ${instr.name} gives [${t.shape}] for buffer ${instr.output} [${outShape}]`);
      }
      tensors.set(instr.output, { ...t, shape: outShape });
      refs.set(t.buffer, (refs.get(t.buffer) ?? 0) + (uses.get(instr.output) ?? 0) + 1);
      for (const id of instrReads(instr)) drop(read(id));
      drop(t);
    }
    const rawBuf = program.buffers[res.raw];
    const rawT = read(res.raw);
    const data = (await readTensor(dev, rawT)) as QTensor["data"];
    if (options.raw) return { data, shape: rawT.shape, dtype: rawBuf.dtype, scale: rawBuf.scale };
    const q = qtensor(data, {
      shape: rawT.shape,
      scale: rawBuf.scale,
      axis: rawBuf.scale.length > 1 ? 1 : undefined,
    });
    const out = program.buffers[program.output];
    return { data: dequantStub(q), shape: [n, ...out.shape.slice(1)], dtype: out.dtype, scale: out.scale };
  } finally {
    for (const t of tensors.values()) if (refs.get(t.buffer)! > 0) drop(t, refs.get(t.buffer)!);
    releaseTensor(dev, x);
  }
}

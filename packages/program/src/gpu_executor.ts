/**
 * The WebGPU executor: one loop over a program's instructions with the instruction and stage tables'
 * WebGPU kernels, giving the CPU executor's integers and floats bit for bit, placed or not. Weights,
 * biases and requantization parameters are uploaded once per program and device and cached; a run
 * uploads its input once, keeps every buffer on the device (each its own tensor, freed after its last
 * reader — the arena and its reuse belong to the BPU), records all dispatches, and reads back only the
 * raw output, which the output transfer's CPU kernel dequantizes on the host. Frames are independent,
 * so the whole input runs at once, whatever the compiled batch.
 * @module
 */

import type { QArray, QTensor } from "@hqat/qtensor";
import {
  type GpuTensor,
  readTensor,
  releaseTensor,
  type RequantPlan,
  residentCache,
  uploadRequant,
  uploadTensor,
  type WebGpuDevice,
} from "@hqat/tensor";
import { checkProgramInput, type IntRunResult, ProgramRunError } from "./cpu_executor.ts";
import type { GpuStage, GpuUploads, GpuValue } from "./gpu_types.ts";
import type { Instr } from "./instr.ts";
import { instrDef, instrReads, isInputTransfer } from "./op_table.ts";
import { elementCount, type Program } from "./program.ts";
import { stageDef } from "./stage.ts";
import { settleBias } from "./stage_gpu.ts";
import { asQTensor, type IntValue } from "./value.ts";
import { rawOutput } from "./verify.ts";

type Run = (dev: WebGpuDevice, read: (id: number) => GpuTensor, x: GpuTensor) => GpuValue;

interface Resident {
  readonly steps: readonly { readonly instr: Instr; readonly run: Run }[];
  readonly owned: GpuTensor[];
  readonly keep: GpuUploads["keep"];
}

const fail = (msg: string): never => {
  throw new ProgramRunError(`runIntModelGpu(): ${msg}`);
};

/** The recorder of `instr`: its main kernel, then its stages, each freeing what it replaces. */
function stepOf(program: Program, instr: Instr, u: GpuUploads): Run {
  const def = instrDef(instr), buffers = program.buffers;
  const where = `instruction "${instr.name}" (${instr.op})`;
  const ins = instr.inputs.map((id) => buffers[id]);
  const ctx = { where, fail, inputShape: program.inputShape, out: buffers[instr.output] };
  const main = def.gpu(instr, { u, ins, out: buffers[instr.output], fail: (m) => fail(`${where}: ${m}`) });
  let meta = def.infer(instr, ins, ctx);
  const stages: GpuStage[] = instr.epilogue.map((s) => {
    const run = stageDef(s).gpu(s, meta, u);
    meta = stageDef(s).infer(s, meta, { ...ctx, addend: s.kind === "add" ? buffers[s.addend] : undefined });
    return run;
  });
  return (dev, read, x) => {
    const inputs = instr.inputs.map(read);
    let v = main(dev, inputs, x);
    for (const st of stages) {
      const next = st(dev, v, read);
      // A main operation may hand on an input's own tensor, which is not this instruction's to free.
      if (next.t !== v.t && !inputs.some((t) => t.buffer === v.t.buffer)) releaseTensor(dev, v.t);
      v = next;
    }
    return v;
  };
}

/** Prepares `program`'s steps on `dev`, uploading their parameters. */
function prepare(program: Program, dev: WebGpuDevice): Resident {
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
    const u: GpuUploads = { up, rq, keep };
    const steps = program.instructions
      .filter((instr) => instr.output !== program.output)
      .map((instr) => ({ instr, run: stepOf(program, instr, u) }));
    return { steps, owned, keep };
  } catch (e) {
    for (const t of owned) releaseTensor(dev, t);
    throw e;
  }
}

const CACHE = residentCache(prepare);

/**
 * Frees the parameters {@linkcode runIntModelGpu} cached for `program` on `device`; returns whether
 * there were any. The next run uploads them again.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { type Program, releaseIntModelGpu } from "@hqat/program";
 * import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   assert(!releaseIntModelGpu({ instructions: [] } as unknown as Program, device));
 *   device.destroy();
 * }
 * ```
 */
export function releaseIntModelGpu(program: Program, device: WebGpuDevice): boolean {
  return CACHE.release(program, device);
}

/** Options of {@linkcode runIntModelGpu}. */
export interface RunIntModelGpuOptions {
  /** The device (a `maxBatch` above the program's dispatch count submits each run at once). */
  readonly device: WebGpuDevice;
  /** Keep every buffer's integers in `all` (each is read back: for debugging, slower). */
  readonly keepAll?: boolean;
}

/**
 * Runs a program on WebGPU (see the module description) and returns what `runIntModel` returns, bit for
 * bit. Throws what `runIntModel` throws for an input that does not fit or holds NaN.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { type Program, runIntModel, runIntModelGpu } from "@hqat/program";
 * import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";
 * const m: Program = {
 *   name: "tiny", march: "bayes", opt: "O0", inputShape: [1, 2], output: 2,
 *   buffers: [
 *     { name: "quant", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5) },
 *     { name: "relu", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5) },
 *     { name: "dequant", shape: [1, 2], dtype: "float32", scale: Float32Array.of(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "quant", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "move", name: "relu", inputs: [0], output: 1, epilogue: [{ kind: "relu" }] },
 *     { op: "dequantize", name: "dequant", inputs: [1], output: 2, epilogue: [] },
 *   ],
 * };
 * if ((await probeWebGpu()).available) {
 *   const device = await WebGpuDevice.create();
 *   const r = await runIntModelGpu(m, Float32Array.of(0.74, -3), [1, 2], { device });
 *   assert(r.raw.data.join() === "1,0" && r.output.join() === runIntModel(m, Float32Array.of(0.74, -3), [1, 2]).output.join());
 *   device.destroy();
 * }
 * ```
 */
export async function runIntModelGpu(
  program: Program,
  input: Float32Array,
  shape: readonly number[],
  options: RunIntModelGpuOptions,
): Promise<IntRunResult> {
  checkProgramInput(program, input, shape, "runIntModelGpu()");
  const dev = options.device, n = shape[0], keepAll = options.keepAll ?? false;
  const res = CACHE.get(program, dev);
  const first = program.instructions.find(isInputTransfer)!;
  if (input.some((v) => v !== v)) {
    // The CPU's input transfer throws the CPU's error for NaN.
    const out = program.buffers[first.output];
    instrDef(first).cpu(first, [], { input, inputShape: shape, out });
  }
  const raw = rawOutput(program);
  const uses = new Map<number, number>([[raw, 1]]);
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
      const t = settleBias(dev, v, res.keep);
      if (t !== v.t && !instr.inputs.some((id) => read(id).buffer === v.t.buffer)) releaseTensor(dev, v.t);
      const outShape = [n, ...program.buffers[instr.output].shape.slice(1)];
      if (elementCount(t.shape) !== elementCount(outShape)) {
        fail(`instruction "${instr.name}" gives [${t.shape}] for buffer ${instr.output} [${outShape}]`);
      }
      tensors.set(instr.output, { ...t, shape: outShape });
      refs.set(t.buffer, (refs.get(t.buffer) ?? 0) + (uses.get(instr.output) ?? 0) + 1 + (keepAll ? 1 : 0));
      for (const id of instrReads(instr)) drop(read(id));
      drop(t);
    }
    const value = async (id: number): Promise<IntValue> => {
      const b = program.buffers[id], t = read(id);
      return { data: (await readTensor(dev, t)) as QArray, shape: t.shape, dtype: b.dtype, scale: b.scale };
    };
    const rawValue = await value(raw);
    const last = program.instructions.find((i) => i.output === program.output)!;
    const out = instrDef(last).cpu(last, [rawValue], {
      input,
      inputShape: shape,
      out: {
        ...program.buffers[program.output],
        shape: [n, ...program.buffers[program.output].shape.slice(1)],
      },
    });
    const result: IntRunResult = {
      output: out.data as Float32Array,
      shape: [...out.shape],
      raw: Object.freeze(asQTensor(rawValue)),
    };
    if (keepAll) {
      const all = new Map<string, QTensor>();
      for (const { instr } of res.steps) {
        all.set(
          program.buffers[instr.output].name,
          instr.output === raw ? result.raw : asQTensor(await value(instr.output)),
        );
      }
      result.all = all;
    }
    return result;
  } finally {
    const seen = new Set<GPUBuffer>();
    for (const t of tensors.values()) {
      const left = refs.get(t.buffer) ?? 0;
      if (left > 0 && !seen.has(t.buffer)) {
        seen.add(t.buffer);
        refs.set(t.buffer, 0);
        releaseTensor(dev, t);
      }
    }
    releaseTensor(dev, x);
  }
}

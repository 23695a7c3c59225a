/**
 * Checks every instruction kind's tests share: one instruction run through the instruction and stage
 * tables on given integers (after the verifier's rule), a program at every opt level and through the
 * container, WebGPU against the CPU, and the comparison of a fake twin's floats with the dequantized
 * integers — bit for bit.
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { dequantize, type QArray } from "@hqat/qtensor";
import {
  decodeProgram,
  encodeProgram,
  type Instr,
  instrDef,
  type IntModel,
  type IntValue,
  lowerProgram,
  type ProgramBuffer,
  runIntModel,
  runIntModelGpu,
  stageDef,
} from "@hqat/program";
import {
  apply,
  type HostTensor,
  type OpAttrs,
  type OpName,
  probeWebGpu,
  runOpOnGpu,
  type Tensor,
  WebGpuDevice,
} from "@hqat/tensor";

const fail = (m: string): never => {
  throw new Error(m);
};

/**
 * Runs `instr` (main operation and epilogue) on `ins` as the CPU executor does, after checking it with its
 * kind's rule against `out`; also runs the reference kernel where the kind has one and asserts it gives
 * the same integers. Returns the value written to `out`.
 */
export function runInstruction(instr: Instr, ins: readonly IntValue[], out: ProgramBuffer): IntValue {
  const def = instrDef(instr);
  const ctx = { where: instr.name, fail, inputShape: [out.shape[0]], out };
  let info = def.infer(instr, ins, ctx);
  for (const s of instr.epilogue) info = stageDef(s).infer(s, info, { where: instr.name, fail });
  assertEquals([info.dtype, info.shape], [out.dtype, out.shape], "the rule's value");
  const cpuCtx = { input: new Float32Array(0), inputShape: [out.shape[0]], out };
  const run = (kernel: typeof def.cpu) => {
    let v = kernel(instr, ins, cpuCtx);
    for (const s of instr.epilogue) v = stageDef(s).cpu(s, v);
    return v;
  };
  const v = run(def.cpu);
  if (def.reference) assertEquals(run(def.reference).data, v.data, "reference = fast kernel");
  assertEquals(v.dtype, out.dtype);
  assertEquals(v.shape, out.shape);
  return v;
}

/** The dequantized floats of an integer value (one scale). */
export function dequantized(v: { data: ArrayLike<number>; scale: Float32Array }): Float32Array {
  return dequantize(v.data, v.scale[0]);
}

/** Asserts two float arrays are equal bit for bit (−0 and +0 differ; NaN equals NaN). */
export function assertBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** An integer value of `dtype` from integers. */
export function intValue(
  data: ArrayLike<number>,
  shape: readonly number[],
  dtype: "qint8" | "qint16" | "qint32",
  scale: number,
): IntValue {
  const A = dtype === "qint8" ? Int8Array : dtype === "qint16" ? Int16Array : Int32Array;
  return { data: A.from(data) as QArray, shape, dtype, scale: Float32Array.of(scale) };
}

/** Asserts `model` gives the O0 integers at O1, O2 and O3, each through the container. */
export function assertEveryLevel(model: IntModel, x: Float32Array, shape: readonly number[]): void {
  const ref = runIntModel(model, x, shape);
  const back = decodeProgram(encodeProgram(model), { fileName: "O0" });
  assertEquals(runIntModel(back, x, shape).raw, ref.raw, "O0 through the container");
  for (const opt of ["O1", "O2", "O3"] as const) {
    const p = decodeProgram(encodeProgram(lowerProgram(model, { opt })), { fileName: opt });
    assertEquals(runIntModel(p, x, shape).raw, ref.raw, opt);
  }
}

/** Whether a WebGPU adapter exists (the GPU tests are skipped without one). */
export const HAS_GPU = (await probeWebGpu()).available;

/** Asserts every buffer and the output of each model equal the CPU's on WebGPU. */
export async function assertGpuEqualsCpu(
  cases: readonly { model: IntModel; x: Float32Array; shape: readonly number[] }[],
): Promise<void> {
  const device = await WebGpuDevice.create();
  try {
    for (const { model, x, shape } of cases) {
      const cpu = runIntModel(model, x, shape, { keepAll: true });
      const gpu = await runIntModelGpu(model, x, shape, { device, keepAll: true });
      for (const [name, q] of cpu.all!) assertEquals(gpu.all!.get(name), q, name);
      assert(gpu.output.every((v, i) => Object.is(v, cpu.output[i])), "the dequantized output");
    }
  } finally {
    device.destroy();
  }
}

/** A float32 scale: a power of two (exact multipliers, so ties) or any value in [2^-14, 4). */
export function scaleArb(fc: typeof import("fast-check").default) {
  return fc.oneof(
    fc.integer({ min: -12, max: 2 }).map((e) => 2 ** e),
    fc.double({ min: 2 ** -14, max: 4, noNaN: true }).map(Math.fround),
  );
}

/** `n` integers of `dtype` from `seed`, a third of them at the range's ends, 0 or ±1. */
export function qvalues(dtype: "qint8" | "qint16", n: number, seed: number): number[] {
  const [lo, hi] = dtype === "qint8" ? [-128, 127] : [-32768, 32767];
  const special = [lo, hi, 0, 1, -1, lo + 1, hi - 1];
  let s = (seed >>> 0) || 7;
  const next = () => (s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x6d2b79f5) >>> 0);
  return Array.from({ length: n }, () => {
    const r = next();
    return r % 3 === 0 ? special[next() % special.length] : lo + (next() % (hi - lo + 1));
  });
}

/**
 * Runs the primitive `op` on the CPU (through `apply`, as the QAT model does) and on WebGPU, and asserts
 * the outputs are equal bit for bit; returns the CPU output.
 */
export async function assertTwinGpuEqualsCpu<K extends OpName>(
  device: WebGpuDevice,
  op: K,
  inputs: readonly Tensor[],
  attrs: OpAttrs[K],
): Promise<Float32Array> {
  const cpu = apply(op, inputs, attrs)[0];
  const host: HostTensor[] = inputs.map((t) => ({ data: t.data, shape: t.shape, dtype: t.dtype }));
  const [gpu] = await runOpOnGpu(device, op, host, attrs, [{ shape: cpu.shape, dtype: "float32" }]);
  assertBits(gpu as Float32Array, cpu.data as Float32Array, `${op} on WebGPU`);
  return cpu.data as Float32Array;
}

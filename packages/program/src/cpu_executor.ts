/**
 * The CPU executor: one loop over a program's instructions with the instruction and stage tables.
 * An unplaced program (an int model) runs the whole input at once with a buffer per value (an O0 program as
 * its O1 lowering fuses it); a placed (compiled) program runs in its arena, laid out and reused as its
 * placement says, in runs of its compiled batch — the integers are the same.
 * @module
 */

import { type QArray, type QTensor, qtensor } from "@hqat/qtensor";
import type { Instr } from "./instr.ts";
import {
  fusedInstr,
  fusedQuantize,
  fusedRequantChain,
  fusedResidual,
  loneRequant,
  requantFast,
} from "./cpu_fused.ts";
import { arenaStorage, ARRAYS, mapStorage, programArena, runShape, type Storage } from "./cpu_storage.ts";
import { lowerProgram } from "./lower.ts";
import { instrDef } from "./op_table.ts";
import { elementCount, type Program } from "./program.ts";
import { stageDef } from "./stage.ts";
import { asQTensor, type IntValue } from "./value.ts";
import { rawOutput } from "./verify.ts";

/**
 * An input a program cannot run (wrong shape or length); the message says what was expected.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ProgramRunError } from "@hqat/program";
 * assert(new ProgramRunError("x") instanceof RangeError);
 * ```
 */
export class ProgramRunError extends RangeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ProgramRunError";
  }
}

/**
 * What {@linkcode runIntModel} returns: the dequantized float32 output and its shape, the integer
 * output before dequantization (`raw`, with its scale — one, or one per channel along axis 1), and with
 * `keepAll` every buffer's integers by buffer name (the model's node names at O0).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { IntRunResult } from "@hqat/program";
 * const r = { output: new Float32Array(10), shape: [1, 10] } as IntRunResult;
 * assert(r.shape[1] === 10);
 * ```
 */
export interface IntRunResult {
  /** The dequantized output. */
  output: Float32Array;
  /** Its shape. */
  shape: number[];
  /** The integer output before dequantization. */
  raw: QTensor;
  /** Every buffer's integers, by buffer name (with `keepAll`). */
  all?: Map<string, QTensor>;
}

/** Options of {@linkcode runIntModel}. */
export interface RunIntModelOptions {
  /** Keep every buffer's integers in `all`. */
  readonly keepAll?: boolean;
  /** Run the reference kernels (`@hqat/qtensor`) where a kind has a faster one: the same integers. */
  readonly reference?: boolean;
  /** Called after each instruction with its wall time in milliseconds (for profiles). */
  readonly onInstruction?: (instr: Instr, ms: number) => void;
}

/**
 * Checks that `shape` and `input` fit `program`'s input past dimension 0 and that every input value is
 * finite (a NaN or an infinity is refused, naming the frame).
 *
 * @example
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { checkProgramInput, ProgramRunError } from "@hqat/program";
 * assertThrows(() => checkProgramInput({ inputShape: [1, 2] } as never, new Float32Array(3), [1, 3], "run"), ProgramRunError);
 * ```
 */
export function checkProgramInput(
  program: Pick<Program, "inputShape" | "placement">,
  input: Float32Array,
  shape: readonly number[],
  tool: string,
): void {
  const want = program.inputShape;
  if (shape.length !== want.length || shape.some((d, i) => i > 0 && d !== want[i]) || !(shape[0] >= 1)) {
    const what = program.placement ? "compiled" : "model";
    throw new ProgramRunError(
      `${tool}: the input [${shape}] does not match the ${what} input [N,${want.slice(1)}]`,
    );
  }
  if (!Number.isSafeInteger(shape[0]) || input.length !== elementCount(shape)) {
    throw new ProgramRunError(
      `${tool}: the input has ${input.length} values, but [${shape}] needs ${elementCount(shape)}`,
    );
  }
  for (let i = 0; i < input.length; i++) {
    if (!Number.isFinite(input[i])) {
      const frame = Math.floor(i / (input.length / shape[0]));
      throw new ProgramRunError(`${tool}: the input holds ${input[i]} (frame ${frame}, value ${i})`);
    }
  }
}

/** Executes `instr` against `store` for the run's float `input` of `inputShape`. */
function execute(
  program: Program,
  instr: Instr,
  store: Storage,
  run: { input: Float32Array; inputShape: readonly number[]; n: number; reference: boolean },
): IntValue {
  const def = instrDef(instr), out = program.buffers[instr.output];
  const ins = instr.inputs.map((id) => store.read(id));
  const outShape = runShape(out, run.n);
  // The fast paths (a kernel with its requantization fused; requantization on the WebAssembly kernels)
  // give the same integers as the tables' kernels, which the reference run keeps to.
  const lone = run.reference ? undefined : loneRequant(instr.epilogue);
  const target = () => store.target(instr.output);
  let fused: IntValue | undefined;
  if (lone) fused = fusedInstr(instr, ins, lone, outShape, target());
  else if (!run.reference) {
    fused = fusedResidual(instr, ins, (id) => store.read(id), outShape, target()) ??
      fusedRequantChain(instr, ins, outShape, target()) ??
      fusedQuantize(instr, run.input, outShape, out.dtype, target());
  }
  if (fused) {
    store.write(instr.output, fused);
    return fused;
  }
  const kernel = run.reference && def.reference ? def.reference : def.cpu;
  let v = kernel(instr, ins, {
    input: run.input,
    inputShape: run.inputShape,
    out: { dtype: out.dtype, shape: outShape, scale: out.scale },
  });
  instr.epilogue.forEach((s, k) => {
    if (!run.reference && s.kind === "requant" && s.dtype !== "qint32" && v.dtype === "qint32") {
      v = requantFast(v, s, k === instr.epilogue.length - 1 ? store.target(instr.output) : undefined);
    } else v = stageDef(s).cpu(s, v, s.kind === "add" ? store.read(s.addend) : undefined);
  });
  store.write(instr.output, v);
  return v;
}

/**
 * Runs a program on a float32 NCHW input of any batch whose other dimensions match the program's input
 * (see the module description) and returns the dequantized output, the raw integer output and, with
 * `keepAll`, every buffer's integers. Throws a {@linkcode ProgramRunError} for an input that does not
 * fit, and the quantizer's error for NaN inputs.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { runIntModel, type Program } from "@hqat/program";
 * const m: Program = {
 *   name: "tiny", march: "bayes", opt: "O0", inputShape: [1, 2], output: 1,
 *   buffers: [
 *     { name: "quant", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5) },
 *     { name: "dequant", shape: [1, 2], dtype: "float32", scale: Float32Array.of(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "quant", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "dequantize", name: "dequant", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * const r = runIntModel(m, Float32Array.of(0.74, -3, 9, 1), [2, 2]);
 * assert(r.output.join() === "0.5,-3,9,1" && r.raw.data.join() === "1,-6,18,2" && r.shape.join() === "2,2");
 * ```
 */
export function runIntModel(
  program: Program,
  input: Float32Array,
  shape: readonly number[],
  options: RunIntModelOptions = {},
): IntRunResult {
  checkProgramInput(program, input, shape, "runIntModel()");
  const raw = rawOutput(program), total = shape[0], reference = options.reference ?? false;
  const timed = options.onInstruction !== undefined;
  const all = options.keepAll ? new Map<string, QTensor>() : undefined;
  const keep = (instr: Instr, v: IntValue, start: number) => {
    const b = program.buffers[instr.output];
    if (b.dtype === "float32") return;
    const perFrame = elementCount(b.shape) / b.shape[0];
    let q = all!.get(b.name);
    if (!q) {
      q = qtensor(new ARRAYS[b.dtype](total * perFrame) as QArray, {
        shape: runShape(b, total),
        scale: b.scale,
        axis: b.scale.length > 1 ? 1 : undefined,
        dtype: b.dtype,
      });
      all!.set(b.name, q);
    }
    (q.data as Int8Array).set(v.data as Int8Array, start * perFrame);
  };
  if (!program.placement) {
    const run = runnable(program, options), store = mapStorage(run, total);
    for (const instr of run.instructions) {
      const t0 = timed ? performance.now() : 0;
      execute(run, instr, store, { input, inputShape: shape, n: total, reference });
      if (timed) options.onInstruction!(instr, performance.now() - t0);
      if (all) keep(instr, store.read(instr.output), 0);
    }
    return result(run, store.read(rawOutput(run)), store.read(run.output), all);
  }
  const rawBuf = program.buffers[raw], outBuf = program.buffers[program.output];
  const rawData = new ARRAYS[rawBuf.dtype](total * (elementCount(rawBuf.shape) / rawBuf.shape[0]));
  const outData = new Float32Array(total * (elementCount(outBuf.shape) / outBuf.shape[0]));
  const arena = programArena(program);
  const batch = program.inputShape[0], frame = elementCount(shape) / total;
  for (let start = 0; start < total; start += batch) {
    const n = Math.min(batch, total - start);
    const store = arenaStorage(program, arena, n);
    const chunk = input.subarray(start * frame, (start + n) * frame);
    for (const instr of program.instructions) {
      const t0 = timed ? performance.now() : 0;
      execute(program, instr, store, { input: chunk, inputShape: [n, ...shape.slice(1)], n, reference });
      if (timed) options.onInstruction!(instr, performance.now() - t0);
      if (all) keep(instr, store.read(instr.output), start);
    }
    rawData.set(store.read(raw).data as Int8Array, start * (rawData.length / total));
    outData.set(store.read(program.output).data as Float32Array, start * (outData.length / total));
  }
  return result(
    program,
    { data: rawData, shape: runShape(rawBuf, total), dtype: rawBuf.dtype, scale: rawBuf.scale } as IntValue,
    { data: outData, shape: runShape(outBuf, total), dtype: "float32", scale: outBuf.scale },
    all,
  );
}

const LOWERED = new WeakMap<Program, Program>();

/**
 * What the unplaced path runs: an int model (O0) as the compiler's O1 lowering fuses it — an instruction
 * folded into its operand's producer where it is that operand's only reader (a residual add into the
 * convolution before it, whose kernel then adds in its epilogue), stage-less moves turned into views. The
 * lowering keeps every integer (its invariant), with fewer passes. A run that reports every buffer
 * (`keepAll`), every instruction (`onInstruction`) or keeps to the reference kernels runs the program as given.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { runnable } from "./cpu_executor.ts";
 * const p = { opt: "O1" } as never;
 * assert(runnable(p, {}) === p);
 * ```
 */
export function runnable(program: Program, options: RunIntModelOptions): Program {
  if (program.opt !== "O0" || options.keepAll || options.onInstruction || options.reference) return program;
  let lowered = LOWERED.get(program);
  if (!lowered) LOWERED.set(program, lowered = lowerProgram(program, { opt: "O1" }));
  return lowered;
}

function result(program: Program, raw: IntValue, out: IntValue, all?: Map<string, QTensor>): IntRunResult {
  const r: IntRunResult = {
    output: out.data as Float32Array,
    shape: [...out.shape],
    raw: Object.freeze(asQTensor({ ...raw, scale: program.buffers[rawOutput(program)].scale })),
  };
  if (all) r.all = all;
  return r;
}

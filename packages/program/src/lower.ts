/**
 * Lowering: the program at an optimization level. O0 is the program as converted, one instruction per
 * node. From O1 on, a stage-less `move` becomes a view of its input when the shape is unchanged or every
 * reader reads its input flat; then, instruction by instruction, an instruction whose table entry can
 * `fold` it into stages on one operand's value is appended to that operand's producer — when the
 * producer alone reads nothing else into that buffer, the value is not the model output, the producer's
 * entry `accepts` the stages, and every addend the stages read is written before the producer. The
 * rules are the table's; this file names no instruction kind.
 * @module
 */

import type { Instr, InstrBase } from "./instr.ts";
import { instrDef, instrReads } from "./op_table.ts";
import type { OptLevel, Program, ProgramBuffer } from "./program.ts";
import type { Stage } from "./stage.ts";
import { appendStages } from "./stage_rules.ts";

/** An instruction whose operands, output, epilogue and merged names the passes rewrite in place. */
type Mutable = { -readonly [K in keyof InstrBase]: InstrBase[K] };
const asInstr = (m: Mutable) => m as unknown as Instr;

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

const defaultAccepts = (stages: readonly Stage[]) => !stages.some((s) => s.kind === "add");

/** Rewrites every buffer id an instruction reads through `map`. */
function remapReads(instr: Mutable, map: (id: number) => number): void {
  instr.inputs = instr.inputs.map(map);
  instr.epilogue = instr.epilogue.map((s) => (s.kind === "add" ? { ...s, addend: map(s.addend) } : s));
}

/** Turns stage-less moves into views; returns the instructions left. */
function views(instrs: Mutable[], buffers: readonly ProgramBuffer[]): Mutable[] {
  const root = buffers.map((_, i) => i);
  const readers = buffers.map((): Mutable[] => []);
  for (const i of instrs) for (const b of i.inputs) readers[b].push(i);
  const kept: Mutable[] = [];
  for (const instr of instrs) {
    remapReads(instr, (b) => root[b]);
    const isMove = instrDef(asInstr(instr)).reshapes === true && instr.epilogue.length === 0;
    const out = instr.output, users = readers[out];
    const flatReaders = users.length > 0 && users.every((u) => instrDef(asInstr(u)).readsFlat === true);
    if (isMove && (sameShape(buffers[instr.inputs[0]].shape, buffers[out].shape) || flatReaders)) {
      root[out] = instr.inputs[0];
      continue;
    }
    kept.push(instr);
  }
  return kept;
}

/** Folds instructions into their operands' producers (see the module description). */
function fuse(instrs: Mutable[], buffers: readonly ProgramBuffer[], output: number): Mutable[] {
  const reads = new Array<number>(buffers.length).fill(0);
  for (const i of instrs) for (const b of instrReads(asInstr(i))) reads[b]++;
  const isOutput = new Set(instrs.filter((i) => i.output === output).flatMap((i) => i.inputs));
  const producer = new Map<number, number>();
  instrs.forEach((i, k) => producer.set(i.output, k));
  const removed = new Set<number>();
  instrs.forEach((instr, at) => {
    const def = instrDef(asInstr(instr));
    if (!def.fold) return;
    const ctx = { ins: instr.inputs.map((b) => buffers[b]), out: buffers[instr.output] };
    for (let j = 0; j < instr.inputs.length; j++) {
      const b = instr.inputs[j], p = producer.get(b);
      if (p === undefined || reads[b] !== 1 || isOutput.has(b)) continue;
      const stages = def.fold(asInstr(instr), j, ctx);
      if (stages === undefined) continue;
      const target = instrs[p], accepts = instrDef(asInstr(target)).accepts;
      if (!(accepts ? accepts(asInstr(target), stages) : defaultAccepts(stages))) continue;
      const ready = (id: number) => (producer.get(id) ?? Infinity) < p;
      if (stages.some((s) => s.kind === "add" && !ready(s.addend))) continue;
      target.epilogue = appendStages(target.epilogue, stages);
      target.merged = [...(target.merged ?? []), instr.name, ...(instr.merged ?? [])];
      producer.delete(target.output);
      target.output = instr.output;
      producer.set(instr.output, p);
      removed.add(at);
      return;
    }
  });
  return instrs.filter((_, k) => !removed.has(k));
}

/** Drops the buffers no instruction writes and renumbers the rest. */
function compact(program: Program, instrs: Mutable[], opt: OptLevel): Program {
  const keep = new Map<number, number>();
  const buffers: ProgramBuffer[] = [];
  for (const [b, buf] of program.buffers.entries()) {
    if (instrs.some((i) => i.output === b)) {
      keep.set(b, buffers.length);
      buffers.push(buf);
    }
  }
  const map = (b: number) => keep.get(b)!;
  for (const i of instrs) {
    remapReads(i, map);
    i.output = map(i.output);
  }
  const { placement: _, ...rest } = program;
  return { ...rest, opt, buffers, instructions: instrs.map(asInstr), output: map(program.output) };
}

/**
 * `program` lowered at `opt` (see the module description). A placed program loses its placement (the
 * compiler places the lowered program); a program already lowered past O0 cannot go back to O0.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { lowerProgram, type Program } from "@hqat/program";
 * const s = (v: number) => Float32Array.of(v);
 * const p: Program = {
 *   name: "t", march: "bayes", opt: "O0", inputShape: [1, 2], output: 2,
 *   buffers: [
 *     { name: "q", shape: [1, 2], dtype: "qint8", scale: s(0.5) },
 *     { name: "r", shape: [1, 2], dtype: "qint8", scale: s(0.5) },
 *     { name: "d", shape: [1, 2], dtype: "float32", scale: s(1) },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 0.5 },
 *     { op: "move", name: "r", inputs: [0], output: 1, epilogue: [{ kind: "relu" }] },
 *     { op: "dequantize", name: "d", inputs: [1], output: 2, epilogue: [] },
 *   ],
 * };
 * const o1 = lowerProgram(p, { opt: "O1" });
 * assert(o1.instructions.map((i) => i.op).join() === "quantize,dequantize" && o1.instructions[0].merged?.[0] === "r");
 * ```
 */
export function lowerProgram(program: Program, options: { readonly opt: OptLevel }): Program {
  const { opt } = options;
  if (opt === "O0") {
    if (program.opt !== "O0") {
      throw new RangeError(
        `lowerProgram(): the program is already lowered at ${program.opt}; it cannot go back to O0`,
      );
    }
    const { placement: _, ...rest } = program;
    return rest;
  }
  const instrs: Mutable[] = program.instructions.map((i) => ({ ...i, epilogue: [...i.epilogue] }));
  const fused = fuse(views(instrs, program.buffers), program.buffers, program.output);
  return compact(program, fused, opt);
}

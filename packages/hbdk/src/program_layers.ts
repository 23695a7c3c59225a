/**
 * The bridge from the integer program to the plain layer list (`LayerDesc[]`) that the BAYES operator
 * table checks: one layer per instruction, its op and attributes from the instruction table's `layer`
 * rule, what its epilogue fuses (an activation, a residual add and its addend), and its tensors.
 * @module
 */

import type { LayerAttrs, LayerDesc, TensorDesc } from "@hqat/march-bayes";
import { instrDef, isInputTransfer, type Program, withBatch } from "@hqat/program";

/**
 * The layers of `program` at `batch` (default: the program's): one per instruction, named after the
 * node it computes; an input transfer reads the float model input; a fused ReLU/ReLU6 is `fusedRelu`,
 * a fused residual add is `fusedAdd` with the addend as a second input, a 32-bit output is `output32`,
 * and the layer the output transfer reads is `isModelOutput`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { programLayers } from "@hqat/hbdk";
 * import type { Program } from "@hqat/program";
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
 * const layers = programLayers(p, { batch: 4 });
 * assert(layers.map((l) => l.op).join() === "quant,relu,dequant");
 * assert(layers[1].output.shape[0] === 4 && layers[1].attrs.isModelOutput === true);
 * ```
 */
export function programLayers(program: Program, options: { readonly batch?: number } = {}): LayerDesc[] {
  const batch = options.batch ?? program.inputShape[0];
  if (!Number.isSafeInteger(batch) || batch < 1) {
    throw new RangeError(`programLayers: batch must be a positive integer, got ${batch}`);
  }
  const { buffers } = program;
  const tensor = (id: number): TensorDesc => ({
    shape: withBatch(buffers[id].shape, batch),
    dtype: buffers[id].dtype,
  });
  const raw = new Set(
    program.instructions.filter((i) => i.output === program.output).flatMap((i) => i.inputs),
  );
  return program.instructions.map((instr): LayerDesc => {
    const def = instrDef(instr);
    const ctx = { ins: instr.inputs.map((b) => buffers[b]), out: buffers[instr.output] };
    const { op, attrs } = def.layer(instr, ctx);
    const extra: { -readonly [K in keyof LayerAttrs]: LayerAttrs[K] } = {};
    const inputs = isInputTransfer(instr)
      ? [{ shape: withBatch(program.inputShape, batch), dtype: "float32" as const }]
      : instr.inputs.map(tensor);
    for (const s of instr.epilogue) {
      if (s.kind === "requant" && s.act !== "none") extra.fusedRelu = s.act;
      if ((s.kind === "relu" || s.kind === "relu6") && op !== s.kind) extra.fusedRelu = s.kind;
      if (s.kind === "add") {
        extra.fusedAdd = true;
        inputs.push(tensor(s.addend));
      }
    }
    if (buffers[instr.output].dtype === "qint32") extra.output32 = true;
    if (raw.has(instr.output)) extra.isModelOutput = true;
    return { name: instr.name, op, inputs, output: tensor(instr.output), attrs: { ...attrs, ...extra } };
  });
}

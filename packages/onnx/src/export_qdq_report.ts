/**
 * What the QDQ export says about itself: a short printed summary (how many instructions onnxruntime
 * runs on integers, and each one it leaves float, with the reason) and the JSON sidecar with the whole
 * report.
 * @module
 */
import type { QdqExport } from "./export_qdq.ts";

/**
 * The printed summary of an export: the counts, then one line per instruction onnxruntime runs as a
 * float op and why, then the kinds whose integers differ from the program's and why.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qdqSummary } from "@hqat/onnx";
 * const lines = qdqSummary({ bytes: new Uint8Array(0), opset: 21, input: "input", output: "output", report: [
 *   { instruction: "c1", op: "conv2d", nodes: [], onnxOps: ["Conv"], integer: false, exact: false, reason: "int16" },
 * ] });
 * assert(lines.some((l) => l.includes("c1 (conv2d): int16")));
 * ```
 */
export function qdqSummary(e: QdqExport): string[] {
  const integer = e.report.filter((r) => r.integer), float = e.report.filter((r) => !r.integer);
  const byOp = new Map<string, number>();
  for (const r of integer) byOp.set(r.op, (byOp.get(r.op) ?? 0) + 1);
  const lines = [
    `QDQ export: ${e.report.length} instructions, opset ${e.opset}, graph input "${e.input}", output "${e.output}"`,
    `integer in onnxruntime (after its QDQ fusion): ${integer.length} (${
      [...byOp].map(([op, n]) => `${op} ×${n}`).join(", ") || "none"
    })`,
    ...(e.activations === "int8"
      ? [
        "int8 activations: this is onnxruntime on ARM; its x86 build fuses few groups with int8 activations " +
        "(export with uint8 activations for x86)",
      ]
      : []),
    `float in onnxruntime: ${float.length}`,
    ...float.map((r) => `  ${r.instruction} (${r.op}): ${r.reason}`),
  ];
  const inexact = e.report.filter((r) => !r.exact);
  const kinds = new Map<string, string>();
  for (const r of inexact) if (!kinds.has(r.op)) kinds.set(r.op, r.reason);
  lines.push(
    `not bit for bit with the program: ${inexact.length} instructions (outputs agree closely)`,
    ...[...kinds].map(([op, reason]) => `  ${op}: ${reason}`),
  );
  return lines;
}

/**
 * The JSON sidecar of an export: the opset, the graph's input and output names, and the report.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { qdqSidecar } from "@hqat/onnx";
 * const s = qdqSidecar({ bytes: new Uint8Array(0), opset: 21, input: "input", output: "output", report: [] });
 * assert(JSON.parse(s).opset === 21);
 * ```
 */
export function qdqSidecar(e: QdqExport): string {
  const { bytes: _bytes, ...rest } = e;
  return JSON.stringify(
    {
      ...rest,
      integer: e.report.filter((r) => r.integer).map((r) => r.instruction),
      float: e.report.filter((r) => !r.integer).map((r) => ({
        instruction: r.instruction,
        op: r.op,
        reason: r.reason,
      })),
    },
    null,
    2,
  ) + "\n";
}

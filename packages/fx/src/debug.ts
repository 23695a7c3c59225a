/**
 * The quantization debugger: for one batch, each node's float, fake-quantized and integer outputs
 * side by side — cosine similarity and SQNR against float, the integer model's distance from the
 * fake-quantized one in LSBs, and the first node where they differ by more than one LSB.
 * @module
 */
import { Scope, type StateDict } from "@hqat/nn";
import { instrDef, type IntModel, runIntModel } from "@hqat/program";
import { dequantizeTensor, FakeQuantState } from "@hqat/qtensor";
import type { Tensor } from "@hqat/tensor";
import type { QatModel } from "./qat_model.ts";

/** One node's comparison. */
export interface DebugRow {
  /** Node name. */
  name: string;
  /** Op. */
  op: string;
  /** Output scale of the integer node (first value). */
  scale: number;
  /** Cosine similarity of fake-quantized and float outputs. */
  cosineFakeQuant: number;
  /** SQNR (dB) of fake-quantized against float. */
  sqnrFakeQuant: number;
  /** Cosine similarity of integer (dequantized) and float outputs. */
  cosineInt: number;
  /** SQNR (dB) of integer against float. */
  sqnrInt: number;
  /** Largest |fake-quant / scale − integer| in LSBs. */
  maxLsbDiff: number;
  /** Share of elements differing by more than one LSB. */
  overOneLsb: number;
}

/** The debugger's report. */
export interface DebugReport {
  /** Rows in graph order (nodes present in all three models). */
  rows: DebugRow[];
  /** The first node whose integer output differs from the fake-quantized one by more than one LSB. */
  firstDivergence?: string;
}

function compare(a: ArrayLike<number>, b: ArrayLike<number>): { cosine: number; sqnr: number } {
  let ab = 0, aa = 0, bb = 0, err = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
    err += (a[i] - b[i]) ** 2;
  }
  const cosine = aa === 0 && bb === 0 ? 1 : ab / Math.sqrt(aa * bb || 1);
  const sqnr = err === 0 ? Infinity : 10 * Math.log10(aa / err);
  return { cosine, sqnr };
}

/**
 * Compares float, fake-quantized (VALIDATION) and integer outputs node by node for one batch.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { debugQuantization } from "@hqat/fx";
 * assert(typeof debugQuantization === "function");
 * ```
 */
export function debugQuantization(model: QatModel, state: StateDict, int: IntModel, x: Tensor): DebugReport {
  const floatOut = new Map<string, Tensor>(), fqOut = new Map<string, Tensor>();
  const ctx = () => ({ training: false, updates: new Map<string, Tensor>() });
  // Float: fake quantization off, observers left as they are (updates are discarded).
  model.withState(FakeQuantState.CALIBRATION).run(
    new Scope(state, "", ctx()),
    x,
    (n, y) => floatOut.set(n, y),
  );
  model.withState(FakeQuantState.VALIDATION).run(new Scope(state, "", ctx()), x, (n, y) => fqOut.set(n, y));
  const intOut = runIntModel(int, x.data as Float32Array, x.shape, { keepAll: true }).all!;
  const rows: DebugRow[] = [];
  let firstDivergence: string | undefined;
  for (const instr of int.instructions) {
    const name = int.buffers[instr.output].name;
    const q = intOut.get(name), f = floatOut.get(name), fq = fqOut.get(name);
    if (!q || !f || !fq) continue;
    const op = instrDef(instr).label(instr, {
      ins: instr.inputs.map((b) => int.buffers[b]),
      out: int.buffers[instr.output],
    }).split(" ")[0];
    const deq = dequantizeTensor(q);
    const a = compare(f.data, fq.data), b = compare(f.data, deq);
    let maxLsb = 0, over = 0;
    const channels = q.scale.length, inner = q.data.length / (q.shape[0] * channels);
    for (let i = 0; i < q.data.length; i++) {
      const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
      const d = Math.abs(Math.round(fq.data[i] / q.scale[c]) - q.data[i]);
      if (d > maxLsb) maxLsb = d;
      if (d > 1) over++;
    }
    rows.push({
      name,
      op,
      scale: q.scale[0],
      cosineFakeQuant: a.cosine,
      sqnrFakeQuant: a.sqnr,
      cosineInt: b.cosine,
      sqnrInt: b.sqnr,
      maxLsbDiff: maxLsb,
      overOneLsb: over / q.data.length,
    });
    if (!firstDivergence && over > 0 && q.dtype !== "qint32") firstDivergence = name;
  }
  return { rows, firstDivergence };
}

/**
 * The report as a fixed-width table.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { formatDebugReport } from "@hqat/fx";
 * assert(formatDebugReport({ rows: [] }).includes("node"));
 * ```
 */
export function formatDebugReport(r: DebugReport): string {
  const head = `${"node".padEnd(28)} ${"op".padEnd(20)} ${"cos(fq)".padStart(8)} ${"SQNR fq".padStart(8)} ${
    "cos(int)".padStart(8)
  } ${"SQNR int".padStart(8)} ${"max LSB".padStart(8)} ${">1 LSB".padStart(7)}`;
  const fmt = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : "inf");
  const lines = r.rows.map((x) =>
    `${x.name.padEnd(28)} ${x.op.padEnd(20)} ${fmt(x.cosineFakeQuant, 5).padStart(8)} ${
      fmt(x.sqnrFakeQuant, 1).padStart(8)
    } ${fmt(x.cosineInt, 5).padStart(8)} ${fmt(x.sqnrInt, 1).padStart(8)} ${
      String(x.maxLsbDiff).padStart(8)
    } ${(100 * x.overOneLsb).toFixed(2).padStart(6)}%`
  );
  const tail = r.firstDivergence
    ? `First node where fake-quant and integer outputs differ by more than one LSB: ${r.firstDivergence}`
    : "Fake-quant and integer outputs agree within one LSB at every node.";
  return [head, ...lines, tail].join("\n");
}

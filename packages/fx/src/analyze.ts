/**
 * Quantization analysis as a list of independent jobs over a calibrated model and a set of inputs:
 * per-layer similarity of float, fake-quantized and integer feature maps; the inputs whose integer output
 * strays furthest from float; and sensitivity — the network's output with only one layer quantized, and
 * with one layer's output at int16 and the rest at int8. Jobs run in any order and on any machine; the
 * report is built from their results in job order, so shards merged give what one run gives.
 * @module
 */
import { forward, type StateDict } from "@hqat/nn";
import { type IntModel, runIntModel } from "@hqat/program";
import { FakeQuantState } from "@hqat/qtensor";
import type { Tensor } from "@hqat/tensor";
import { debugQuantization } from "./debug.ts";
import { type NodeQuantSpec, QatModel } from "./qat_model.ts";
import { type Similarity, similarity, SimilarityAccumulator } from "./similarity.ts";

/** One unit of analysis work. */
export type AnalysisJob =
  | { readonly kind: "similarity" }
  | { readonly kind: "worst" }
  | { readonly kind: "only"; readonly node: string }
  | { readonly kind: "int16"; readonly node: string };

/** What the jobs read: the calibrated model, its fixed-point model and the inputs, in batches. */
export interface AnalysisInputs {
  /** The prepared (calibration or QAT) model. */
  prepared: QatModel;
  /** Its calibrated state. */
  state: StateDict;
  /** The fixed-point model converted from it. */
  intModel: IntModel;
  /** The inputs, in batches. */
  batches: readonly Tensor[];
}

/** One layer's similarities, averaged over the batches (the LSB distance is the largest seen). */
export interface LayerSimilarity {
  /** Node name. */
  name: string;
  /** Op. */
  op: string;
  /** Cosine of fake-quantized vs float. */
  cosineFakeQuant: number;
  /** SQNR (dB) of fake-quantized vs float. */
  sqnrFakeQuant: number;
  /** Cosine of integer (dequantized) vs float. */
  cosineInt: number;
  /** SQNR (dB) of integer vs float. */
  sqnrInt: number;
  /** Largest |fake-quant − integer| in LSBs of the layer's output. */
  maxLsbDiff: number;
}

/** One input's integer-vs-float output divergence. */
export interface InputDivergence {
  /** Index in the input set. */
  index: number;
  /** Cosine of the integer output against float. */
  cosine: number;
  /** SQNR (dB). */
  sqnr: number;
  /** Largest absolute difference. */
  maxAbs: number;
}

/** The result of one job. */
export type AnalysisJobResult =
  | { readonly kind: "similarity"; readonly layers: LayerSimilarity[]; readonly output: Similarity }
  | { readonly kind: "worst"; readonly inputs: InputDivergence[] }
  | { readonly kind: "only" | "int16"; readonly node: string; readonly output: Similarity };

/**
 * The jobs of an analysis, in report order: similarity, worst inputs, then for every quantized node
 * "only this node quantized", then for every node with an 8-bit output "this node at int16".
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { analysisJobs, prepareQatFx } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, DeQuantStub, QuantStub, Sequential } from "@hqat/nn";
 * import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
 * const m = prepareQatFx(new Sequential(new QuantStub(), new Conv2d(3, 4, 3), new DeQuantStub()), { "": q8 }, { march: March.BAYES });
 * assert(analysisJobs(m).map((j) => j.kind).join() === "similarity,worst,only,only,int16,int16");
 * ```
 */
export function analysisJobs(prepared: QatModel): AnalysisJob[] {
  const nodes = prepared.graph.nodes.filter((n) => prepared.specs.has(n.name)).map((n) => n.name);
  return [
    { kind: "similarity" },
    { kind: "worst" },
    ...nodes.map((node) => ({ kind: "only" as const, node })),
    ...nodes.filter((n) => prepared.specs.get(n)!.output?.dtype === "qint8").map((node) => ({
      kind: "int16" as const,
      node,
    })),
  ];
}

const REFERENCE = new WeakMap<AnalysisInputs, Tensor[]>();

/** The float reference of the whole network: the prepared graph with no quantizer (computed once). */
function floatOutputs(inp: AnalysisInputs): Tensor[] {
  let ys = REFERENCE.get(inp);
  if (!ys) {
    const p = inp.prepared;
    const fm = new QatModel(p.float, p.graph, new Map(), p.march, FakeQuantState.VALIDATION);
    ys = inp.batches.map((x) => forward(fm, inp.state, x).y);
    REFERENCE.set(inp, ys);
  }
  return ys;
}

/** The VALIDATION output similarity of `prepared` with other quantization specs. */
function variantOutput(
  inp: AnalysisInputs,
  specs: ReadonlyMap<string, NodeQuantSpec>,
  reference: readonly Tensor[],
): Similarity {
  const p = inp.prepared;
  const vm = new QatModel(p.float, p.graph, specs, p.march, FakeQuantState.VALIDATION);
  const acc = new SimilarityAccumulator();
  inp.batches.forEach((x, k) => acc.add(reference[k].data, forward(vm, inp.state, x).y.data));
  return acc.result();
}

function similarityJob(inp: AnalysisInputs): AnalysisJobResult {
  const vm = inp.prepared.withState(FakeQuantState.VALIDATION);
  const sums = new Map<string, LayerSimilarity & { n: number }>();
  const out = new SimilarityAccumulator();
  const reference = floatOutputs(inp);
  inp.batches.forEach((x, k) => {
    for (const r of debugQuantization(vm, inp.state, inp.intModel, x).rows) {
      const s = sums.get(r.name) ?? {
        name: r.name,
        op: r.op,
        cosineFakeQuant: 0,
        sqnrFakeQuant: 0,
        cosineInt: 0,
        sqnrInt: 0,
        maxLsbDiff: 0,
        n: 0,
      };
      s.cosineFakeQuant += r.cosineFakeQuant;
      s.sqnrFakeQuant += r.sqnrFakeQuant;
      s.cosineInt += r.cosineInt;
      s.sqnrInt += r.sqnrInt;
      s.maxLsbDiff = Math.max(s.maxLsbDiff, r.maxLsbDiff);
      s.n++;
      sums.set(r.name, s);
    }
    out.add(reference[k].data, runIntModel(inp.intModel, x.data as Float32Array, x.shape).output);
  });
  const layers = [...sums.values()].map(({ n, ...s }) => ({
    ...s,
    cosineFakeQuant: s.cosineFakeQuant / n,
    sqnrFakeQuant: s.sqnrFakeQuant / n,
    cosineInt: s.cosineInt / n,
    sqnrInt: s.sqnrInt / n,
  }));
  return { kind: "similarity", layers, output: out.result() };
}

function worstJob(inp: AnalysisInputs): AnalysisJobResult {
  const reference = floatOutputs(inp);
  const inputs: InputDivergence[] = [];
  let index = 0;
  inp.batches.forEach((x, k) => {
    const y = runIntModel(inp.intModel, x.data as Float32Array, x.shape).output;
    const rows = x.shape[0], per = y.length / rows;
    for (let r = 0; r < rows; r++, index++) {
      const s = similarity(
        reference[k].data.subarray(r * per, (r + 1) * per),
        y.subarray(r * per, (r + 1) * per),
      );
      inputs.push({ index, cosine: s.cosine, sqnr: s.sqnr, maxAbs: s.maxAbs });
    }
  });
  inputs.sort((a, b) => a.cosine - b.cosine || a.index - b.index);
  return { kind: "worst", inputs: inputs.slice(0, 20) };
}

/**
 * Runs one analysis job.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ptq, runAnalysisJob } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, DeQuantStub, initState, QuantStub, Sequential } from "@hqat/nn";
 * import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const m = new Sequential(new QuantStub(), new Conv2d(3, 4, 3), new DeQuantStub());
 * const x = randomNormal(randomKey(1), [4, 3, 8, 8]);
 * const r = ptq(m, initState(m, randomKey(0)), x, { qconfig: { "": q8 }, march: March.BAYES });
 * const res = runAnalysisJob({ ...r, batches: [x] }, { kind: "int16", node: "1" });
 * assert(res.kind === "int16" && res.output.cosine > 0.999);
 * ```
 */
export function runAnalysisJob(inp: AnalysisInputs, job: AnalysisJob): AnalysisJobResult {
  switch (job.kind) {
    case "similarity":
      return similarityJob(inp);
    case "worst":
      return worstJob(inp);
    case "only": {
      const spec = inp.prepared.specs.get(job.node);
      if (!spec) throw new RangeError(`Node "${job.node}" is not quantized`);
      const output = variantOutput(inp, new Map([[job.node, spec]]), floatOutputs(inp));
      return { kind: "only", node: job.node, output };
    }
    case "int16": {
      const spec = inp.prepared.specs.get(job.node);
      if (!spec?.output) throw new RangeError(`Node "${job.node}" has no quantized output`);
      const specs = new Map(inp.prepared.specs);
      specs.set(job.node, { ...spec, output: { ...spec.output, dtype: "qint16" } });
      return { kind: "int16", node: job.node, output: variantOutput(inp, specs, floatOutputs(inp)) };
    }
    default: {
      const never: never = job;
      throw new TypeError(`Unknown analysis job ${JSON.stringify(never)}`);
    }
  }
}

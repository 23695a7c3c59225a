/**
 * Batch-norm statistics re-estimation for a QAT model: the running mean and variance that the folded,
 * fixed-point model uses are recomputed from the final weights, instead of the exponential moving
 * average that training leaves behind.
 *
 * During QAT the weights keep moving (and oscillate across rounding boundaries), so the moving
 * averages mix statistics of many different weight versions, weighted towards the last few batches.
 * Folded into the weights of the converted model, that mismatch costs accuracy, and how much varies
 * from run to run. Re-estimating the statistics with the weights frozen removes it: the weights,
 * observers and scales stay exactly as trained; only `running_mean`, `running_var` and
 * `num_batches_tracked` of each batch norm change.
 * @module
 */
import { forward, type StateDict } from "@hqat/nn";
import { FakeQuantState } from "@hqat/qtensor";
import { foldIn, fromArray, type RandomKey, randomKey, type Tensor } from "@hqat/tensor";
import type { Graph, GraphNode } from "./graph.ts";
import { QatModel } from "./qat_model.ts";

/** Options of {@linkcode reestimateBnStats}. */
export interface BnReestimateOptions {
  /** Random key for the dropout of the training-mode forwards (default `randomKey(0)`). */
  key?: RandomKey;
  /** Called after each batch with the number of batches and images seen so far. */
  onBatch?: (batches: number, images: number) => void;
}

/** What {@linkcode reestimateBnStats} returns. */
export interface BnReestimateResult {
  /** The input state with every batch norm's running statistics replaced. */
  state: StateDict;
  /** Batches used. */
  batches: number;
  /** Images used. */
  images: number;
  /** The batch-norm modules whose statistics were re-estimated, in graph order. */
  modules: string[];
}

/** The batch-norm modules of a graph (fused into convs or standalone), in graph order. */
function bnModules(g: Graph): string[] {
  const out: string[] = [];
  for (const n of g.nodes) {
    if (n.kind.op === "conv2d" && n.kind.bn) out.push(n.kind.bn.module);
    else if (n.kind.op === "batch_norm") out.push(n.kind.module);
  }
  return out;
}

/** The same graph with every batch-norm momentum set to 1, so one forward's update is that batch's statistics. */
function withUnitMomentum(g: Graph): Graph {
  const nodes = g.nodes.map((n): GraphNode => {
    const k = n.kind;
    if (k.op === "conv2d" && k.bn) return { ...n, kind: { ...k, bn: { ...k.bn, momentum: 1 } } };
    if (k.op === "batch_norm") return { ...n, kind: { ...k, momentum: 1 } };
    return n;
  });
  return { ...g, nodes };
}

/**
 * Re-estimates the running statistics of every batch norm of a prepared model from `batches`.
 *
 * Each batch runs in training mode (batch norms normalize with the batch's statistics, exactly as in
 * QAT) with the quantizers frozen and fake quantization on (as in VALIDATION); nothing is trained. The
 * new running mean is the average of the batch means, the new running variance the average of the
 * unbiased batch variances (PyTorch's cumulative average, `momentum=None`). The weight quantization
 * grid of each fused conv stays the one of the statistics in `state`, so every batch sees the same
 * network.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { prepareQatFx, reestimateBnStats } from "@hqat/fx";
 * import { March, setMarch } from "@hqat/march-bayes";
 * import { BatchNorm2d, Conv2d, forward, initState, ReLU, Sequential } from "@hqat/nn";
 * import { default_qat_8bit_fake_quant_qconfig } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * setMarch(March.BAYES);
 * const qat = prepareQatFx(new Sequential(new Conv2d(3, 4, 3), new BatchNorm2d(4), new ReLU()),
 *   { "": default_qat_8bit_fake_quant_qconfig }, { exampleInput: randomNormal(randomKey(0), [2, 3, 8, 8]) });
 * const x = randomNormal(randomKey(1), [8, 3, 8, 8]);
 * const trained = forward(qat, initState(qat, randomKey(2)), x, { training: true, key: randomKey(3) }).state;
 * const r = await reestimateBnStats(qat, trained, [x, x]);
 * assert(r.batches === 2 && r.images === 16 && r.modules.join() === "1");
 * assert(r.state["0.weight"] === trained["0.weight"]); // weights and observers are untouched
 * ```
 */
export async function reestimateBnStats(
  model: QatModel,
  state: StateDict,
  batches: Iterable<Tensor> | AsyncIterable<Tensor>,
  options: BnReestimateOptions = {},
): Promise<BnReestimateResult> {
  const modules = bnModules(model.graph);
  const probe = new QatModel(
    model.float,
    withUnitMomentum(model.graph),
    model.specs,
    model.march,
    FakeQuantState.VALIDATION,
  );
  const sums = new Map<string, { mean: Float64Array; variance: Float64Array }>();
  const key = options.key ?? randomKey(0);
  let count = 0, images = 0;
  for await (const x of batches) {
    const { updates } = forward(probe, state, x, { training: true, key: foldIn(key, count) });
    for (const m of modules) {
      const mean = updates.get(`${m}.running_mean`), variance = updates.get(`${m}.running_var`);
      if (!mean || !variance) throw new Error(`reestimateBnStats(): batch norm "${m}" did not run`);
      let acc = sums.get(m);
      if (!acc) {
        sums.set(m, acc = { mean: new Float64Array(mean.size), variance: new Float64Array(mean.size) });
      }
      const md = mean.data, vd = variance.data;
      for (let c = 0; c < md.length; c++) {
        acc.mean[c] += md[c];
        acc.variance[c] += vd[c];
      }
    }
    count++;
    images += x.shape[0];
    options.onBatch?.(count, images);
  }
  if (count === 0) throw new RangeError("reestimateBnStats(): no batches");
  const next: StateDict = { ...state };
  for (const m of modules) {
    const acc = sums.get(m)!, n = acc.mean.length;
    next[`${m}.running_mean`] = fromArray(Float32Array.from(acc.mean, (v) => v / count), [n]);
    next[`${m}.running_var`] = fromArray(Float32Array.from(acc.variance, (v) => v / count), [n]);
    const tracked = state[`${m}.num_batches_tracked`];
    if (tracked) next[`${m}.num_batches_tracked`] = fromArray(new Int32Array([tracked.item() + count]), []);
  }
  return { state: next, batches: count, images, modules };
}

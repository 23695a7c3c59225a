/**
 * How close a quantized output is to its float reference: cosine similarity, SQNR and the largest
 * absolute error, accumulated over any number of batches in float64.
 * @module
 */
import { type IntModel, runIntModel } from "@hqat/program";
import type { Tensor } from "@hqat/tensor";

/** Similarity of a quantized output to its float reference. */
export interface Similarity {
  /** Cosine similarity (1 when both are all zeros). */
  cosine: number;
  /** Signal-to-quantization-noise ratio in dB (Infinity when equal). */
  sqnr: number;
  /** Largest absolute difference. */
  maxAbs: number;
  /** Elements compared. */
  count: number;
}

/** Running sums of a {@linkcode Similarity}. */
export class SimilarityAccumulator {
  #ab = 0;
  #aa = 0;
  #bb = 0;
  #err = 0;
  #max = 0;
  #n = 0;

  /**
   * Adds `reference` (float) and `value` (quantized) element by element.
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { SimilarityAccumulator } from "@hqat/fx";
   * const acc = new SimilarityAccumulator();
   * acc.add([1, 2], [1, 2]);
   * assert(acc.result().cosine === 1 && acc.result().sqnr === Infinity);
   * ```
   */
  add(reference: ArrayLike<number>, value: ArrayLike<number>): void {
    if (reference.length !== value.length) {
      throw new RangeError(`Cannot compare ${reference.length} values with ${value.length}`);
    }
    for (let i = 0; i < reference.length; i++) {
      const a = reference[i], b = value[i], d = a - b;
      this.#ab += a * b;
      this.#aa += a * a;
      this.#bb += b * b;
      this.#err += d * d;
      if (Math.abs(d) > this.#max) this.#max = Math.abs(d);
    }
    this.#n += reference.length;
  }

  /**
   * The similarity of everything added so far.
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { SimilarityAccumulator } from "@hqat/fx";
   * const acc = new SimilarityAccumulator();
   * acc.add([3, 4], [3, 3]);
   * assert(acc.result().maxAbs === 1 && Math.abs(acc.result().sqnr - 10 * Math.log10(25)) < 1e-12);
   * ```
   */
  result(): Similarity {
    const cosine = this.#aa === 0 && this.#bb === 0 ? 1 : this.#ab / Math.sqrt(this.#aa * this.#bb || 1);
    const sqnr = this.#err === 0 ? Infinity : 10 * Math.log10(this.#aa / this.#err);
    return { cosine, sqnr, maxAbs: this.#max, count: this.#n };
  }
}

/**
 * The similarity of `value` to `reference`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { similarity } from "@hqat/fx";
 * assert(similarity([1, 0], [0, 1]).cosine === 0);
 * ```
 */
export function similarity(reference: ArrayLike<number>, value: ArrayLike<number>): Similarity {
  const acc = new SimilarityAccumulator();
  acc.add(reference, value);
  return acc.result();
}

/**
 * The similarity of a fixed-point model's dequantized output to the float outputs, over batches:
 * `inputs[k]` runs through `model` and is compared with `floatOutputs[k]`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { outputSimilarity, ptq } from "@hqat/fx";
 * import { March } from "@hqat/march-bayes";
 * import { Conv2d, DeQuantStub, forward, initState, QuantStub, Sequential } from "@hqat/nn";
 * import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
 * import { randomKey, randomNormal } from "@hqat/tensor";
 * const float = new Sequential(new QuantStub(), new Conv2d(3, 4, 3), new DeQuantStub());
 * const state = initState(float, randomKey(0));
 * const x = randomNormal(randomKey(1), [2, 3, 8, 8]);
 * const r = ptq(float, state, x, { qconfig: { "": q8 }, march: March.BAYES });
 * const sim = outputSimilarity(r.intModel, [forward(float, state, x).y], [x]);
 * assert(sim.count === 2 * 4 * 6 * 6 && sim.cosine > 0.99);
 * ```
 */
export function outputSimilarity(
  model: IntModel,
  floatOutputs: readonly Tensor[],
  inputs: readonly Tensor[],
): Similarity {
  const acc = new SimilarityAccumulator();
  inputs.forEach((x, k) => {
    const r = runIntModel(model, x.data as Float32Array, x.shape);
    acc.add(floatOutputs[k].data, r.output);
  });
  return acc.result();
}

/**
 * Running meters and top-k accuracy, like the quick start's `AverageMeter` and `accuracy`.
 * @module
 */
import type { Tensor } from "@hqat/tensor";

/**
 * A running average of a value (loss, accuracy) over samples.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { AverageMeter } from "@hqat/nn";
 * const m = new AverageMeter("Loss");
 * m.update(2, 1);
 * m.update(4, 3);
 * assert(m.avg === 3.5 && m.count === 4);
 * ```
 */
export class AverageMeter {
  /** Last value. */
  val = 0;
  /** Sum of value × weight. */
  sum = 0;
  /** Total weight. */
  count = 0;

  /** Creates a meter with a display name. */
  constructor(readonly name: string, readonly digits = 3) {}

  /** The running average (0 before any update). */
  get avg(): number {
    return this.count ? this.sum / this.count : 0;
  }

  /** Adds a value observed over `n` samples. */
  update(val: number, n = 1): void {
    this.val = val;
    this.sum += val * n;
    this.count += n;
  }

  /** Clears the meter. */
  reset(): void {
    this.val = this.sum = this.count = 0;
  }

  /** "Name val (avg)". */
  toString(): string {
    return `${this.name} ${this.val.toFixed(this.digits)} (${this.avg.toFixed(this.digits)})`;
  }
}

function rowFinite(d: ArrayLike<number>, at: number, k: number): boolean {
  for (let j = at; j < at + k; j++) if (!Number.isFinite(d[j])) return false;
  return true;
}

/**
 * Percent of rows whose label is among the `k` largest logits, for each k (ties broken by lower index).
 * A row with a NaN or infinite logit counts as a miss; a label that is not a class is a `RangeError`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { accuracy } from "@hqat/nn";
 * import { tensor } from "@hqat/tensor";
 * const logits = tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]]);
 * const [top1, top2] = accuracy(logits, tensor([1, 1], { dtype: "int32" }), [1, 2]);
 * assert(top1 === 50 && top2 === 100);
 * ```
 */
export function accuracy(logits: Tensor, labels: Tensor, topk: readonly number[] = [1]): number[] {
  const [n, k] = logits.shape;
  if (logits.rank !== 2 || labels.size !== n) {
    throw new RangeError(`accuracy(): logits [${logits.shape}] and labels [${labels.shape}] do not match`);
  }
  const d = logits.data, y = labels.data;
  const hits = topk.map(() => 0);
  for (let i = 0; i < n; i++) {
    const label = y[i];
    if (!(Number.isInteger(label) && label >= 0 && label < k)) {
      throw new RangeError(`accuracy(): label ${label} of row ${i} is not a class of the ${k} logits`);
    }
    // A row with a NaN or infinite logit is never a hit, whatever its label.
    if (!rowFinite(d, i * k, k)) continue;
    const v = d[i * k + label];
    // Rank of the label's logit: how many classes beat it (ties: lower index wins).
    let rank = 0;
    for (let j = 0; j < k; j++) {
      const u = d[i * k + j];
      if (u > v || (u === v && j < label)) rank++;
    }
    topk.forEach((t, q) => {
      if (rank < t) hits[q]++;
    });
  }
  return hits.map((h) => (n ? (100 * h) / n : 0));
}

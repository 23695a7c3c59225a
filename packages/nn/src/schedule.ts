/**
 * Learning-rate schedules as pure functions `(baseLr, step) → lr`, the closed forms of PyTorch's
 * `torch.optim.lr_scheduler` classes (`step` is what PyTorch calls `last_epoch`: the number of times the
 * scheduler has been stepped).
 * @module
 */

/** A learning-rate schedule: the rate at `step` (0, 1, …) for a base rate. */
export type Schedule = (baseLr: number, step: number) => number;

function checkArgs(who: string, baseLr: number, step: number): void {
  if (!Number.isFinite(baseLr)) throw new RangeError(`${who}: baseLr must be a finite number, got ${baseLr}`);
  if (!Number.isFinite(step) || step < 0) {
    throw new RangeError(`${who}: step must be a non-negative finite number, got ${step}`);
  }
}

function checkOption(who: string, name: string, value: number, ok: boolean, rule: string): void {
  if (typeof value !== "number" || !Number.isFinite(value) || !ok) {
    throw new RangeError(`${who}: ${name} must be ${rule}, got ${value}`);
  }
}

/**
 * `StepLR`: the base rate times `gamma` once every `stepSize` steps, `baseLr · gamma^⌊step / stepSize⌋`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { stepLR } from "@hqat/nn";
 * const s = stepLR({ stepSize: 30, gamma: 0.1 });
 * assert(s(0.1, 29) === 0.1 && Math.abs(s(0.1, 30) - 0.01) < 1e-15);
 * ```
 */
export function stepLR(options: { stepSize: number; gamma?: number }): Schedule {
  const { stepSize, gamma = 0.1 } = options;
  checkOption(
    "stepLR()",
    "stepSize",
    stepSize,
    Number.isInteger(stepSize) && stepSize > 0,
    "a positive integer",
  );
  checkOption("stepLR()", "gamma", gamma, true, "a finite number");
  return (baseLr, step) => {
    checkArgs("stepLR()", baseLr, step);
    return baseLr * gamma ** Math.floor(step / stepSize);
  };
}

/**
 * `MultiStepLR`: the base rate times `gamma` for each milestone reached, `baseLr · gamma^(#milestones ≤ step)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { multiStepLR } from "@hqat/nn";
 * const s = multiStepLR({ milestones: [2, 4], gamma: 0.5 });
 * assert([0, 1, 2, 3, 4].map((t) => s(1, t)).join() === "1,1,0.5,0.5,0.25");
 * ```
 */
export function multiStepLR(options: { milestones: readonly number[]; gamma?: number }): Schedule {
  const { gamma = 0.1 } = options;
  const milestones = checkMilestones("multiStepLR()", options.milestones);
  checkOption("multiStepLR()", "gamma", gamma, true, "a finite number");
  return (baseLr, step) => {
    checkArgs("multiStepLR()", baseLr, step);
    return baseLr * gamma ** bisectRight(milestones, step);
  };
}

/**
 * `CosineAnnealingLR` in PyTorch's closed form:
 * `etaMin + (baseLr − etaMin) · (1 + cos(π · step / tMax)) / 2`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { cosineAnnealing } from "@hqat/nn";
 * const s = cosineAnnealing({ tMax: 10 });
 * assert(s(0.1, 0) === 0.1 && Math.abs(s(0.1, 5) - 0.05) < 1e-12 && s(0.1, 10) === 0);
 * ```
 */
export function cosineAnnealing(options: { tMax: number; etaMin?: number }): Schedule {
  const { tMax, etaMin = 0 } = options;
  checkOption("cosineAnnealing()", "tMax", tMax, tMax > 0, "a positive number");
  checkOption("cosineAnnealing()", "etaMin", etaMin, true, "a finite number");
  return (baseLr, step) => {
    checkArgs("cosineAnnealing()", baseLr, step);
    return etaMin + (baseLr - etaMin) * (1 + Math.cos(Math.PI * step / tMax)) / 2;
  };
}

/**
 * `LinearLR`: the factor goes linearly from `startFactor` (default 1/3) at step 0 to `endFactor`
 * (default 1) at `warmupSteps` and stays there:
 * `baseLr · (start + (end − start) · min(step, warmupSteps) / warmupSteps)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { linearWarmup } from "@hqat/nn";
 * const s = linearWarmup({ warmupSteps: 4, startFactor: 0.2 });
 * assert(Math.abs(s(1, 0) - 0.2) < 1e-15 && Math.abs(s(1, 2) - 0.6) < 1e-15 && s(1, 9) === 1);
 * ```
 */
export function linearWarmup(
  options: { warmupSteps: number; startFactor?: number; endFactor?: number },
): Schedule {
  const who = "linearWarmup()";
  const { warmupSteps, startFactor = 1 / 3, endFactor = 1 } = options;
  checkOption(
    who,
    "warmupSteps",
    warmupSteps,
    Number.isInteger(warmupSteps) && warmupSteps >= 0,
    "an integer ≥ 0",
  );
  checkOption(who, "startFactor", startFactor, startFactor > 0 && startFactor <= 1, "in (0, 1]");
  checkOption(who, "endFactor", endFactor, endFactor >= 0 && endFactor <= 1, "in [0, 1]");
  return (baseLr, step) => {
    checkArgs(who, baseLr, step);
    if (warmupSteps === 0) return baseLr * endFactor;
    return baseLr * (startFactor + (endFactor - startFactor) * Math.min(warmupSteps, step) / warmupSteps);
  };
}

/**
 * `SequentialLR`: `schedules[i]` runs from `milestones[i − 1]` (from 0 for the first), each seeing the
 * steps since its own start. There is one milestone fewer than schedules, in increasing order.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { cosineAnnealing, linearWarmup, sequential } from "@hqat/nn";
 * const s = sequential([linearWarmup({ warmupSteps: 2, startFactor: 0.5 }), cosineAnnealing({ tMax: 4 })], [2]);
 * assert([0, 1, 2, 6].map((t) => s(1, t)).join() === "0.5,0.75,1,0");
 * ```
 */
export function sequential(schedules: readonly Schedule[], milestones: readonly number[]): Schedule {
  const who = "sequential()";
  if (schedules.length === 0) throw new RangeError(`${who}: needs at least one schedule`);
  const marks = checkMilestones(who, milestones);
  if (marks.length !== schedules.length - 1) {
    throw new RangeError(
      `${who}: ${schedules.length} schedules need ${schedules.length - 1} milestones, got ${marks.length}`,
    );
  }
  return (baseLr, step) => {
    checkArgs(who, baseLr, step);
    const i = bisectRight(marks, step);
    return schedules[i](baseLr, i === 0 ? step : step - marks[i - 1]);
  };
}

/**
 * Linear warmup for `warmupSteps` steps from `startFactor · baseLr` (default 1/3), then cosine annealing
 * to `etaMin` (default 0) at `totalSteps`: PyTorch's `SequentialLR([LinearLR, CosineAnnealingLR])` with
 * `T_max = totalSteps − warmupSteps` and the milestone at `warmupSteps`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { warmupCosine } from "@hqat/nn";
 * const s = warmupCosine({ warmupSteps: 5, totalSteps: 100, startFactor: 0.1 });
 * assert(Math.abs(s(1, 0) - 0.1) < 1e-15 && s(1, 5) === 1 && s(1, 100) === 0);
 * ```
 */
export function warmupCosine(
  options: { warmupSteps: number; totalSteps: number; startFactor?: number; etaMin?: number },
): Schedule {
  const { warmupSteps, totalSteps, startFactor, etaMin } = options;
  checkOption(
    "warmupCosine()",
    "totalSteps",
    totalSteps,
    Number.isInteger(totalSteps) && totalSteps > warmupSteps,
    `an integer above warmupSteps (${warmupSteps})`,
  );
  const cosine = cosineAnnealing({ tMax: totalSteps - warmupSteps, etaMin });
  if (warmupSteps === 0) return cosine;
  return sequential([linearWarmup({ warmupSteps, startFactor }), cosine], [warmupSteps]);
}

function checkMilestones(who: string, milestones: readonly number[]): readonly number[] {
  if (!Array.isArray(milestones)) throw new TypeError(`${who}: milestones must be an array of numbers`);
  milestones.forEach((m, i) => {
    const ok = Number.isInteger(m) && m >= 0 && (i === 0 || m > milestones[i - 1]);
    checkOption(who, `milestones[${i}]`, m, ok, "a non-negative integer above the previous milestone");
  });
  return [...milestones];
}

/** The number of `sorted` values at most `x`. */
function bisectRight(sorted: readonly number[], x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

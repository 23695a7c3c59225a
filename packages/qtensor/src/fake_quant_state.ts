/**
 * `FakeQuantState` and the SPEC.md table of what each state does.
 * @module
 */

/**
 * The fake-quantization states of a prepared model (`set_fake_quantize` in the reference).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { FakeQuantState } from "@hqat/qtensor";
 * const s: FakeQuantState = FakeQuantState.CALIBRATION;
 * assert(s === "CALIBRATION");
 * ```
 */
export const FakeQuantState: Readonly<{
  readonly QAT: "QAT";
  readonly CALIBRATION: "CALIBRATION";
  readonly VALIDATION: "VALIDATION";
}> = Object.freeze(
  {
    QAT: "QAT",
    CALIBRATION: "CALIBRATION",
    VALIDATION: "VALIDATION",
  } as const,
);

/** One of `FakeQuantState.QAT`, `.CALIBRATION`, `.VALIDATION`. */
export type FakeQuantState = typeof FakeQuantState[keyof typeof FakeQuantState];

/** What a state means for the model. */
export interface FakeQuantStateBehavior {
  /** `"train"`: BatchNorm uses batch statistics; `"eval"`: running statistics. */
  readonly modelMode: "train" | "eval";
  /** Whether observers update on every forward. */
  readonly observersUpdate: boolean;
  /** Whether fake quantization is applied (off: float values pass through). */
  readonly fakeQuant: boolean;
}

/**
 * The SPEC.md table: QAT = train / observers update / fake quant on; CALIBRATION = eval / update / off;
 * VALIDATION = eval / frozen / on.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { FAKE_QUANT_STATE_TABLE } from "@hqat/qtensor";
 * const v = FAKE_QUANT_STATE_TABLE.VALIDATION;
 * assert(v.modelMode === "eval" && !v.observersUpdate && v.fakeQuant);
 * ```
 */
export const FAKE_QUANT_STATE_TABLE: Readonly<Record<FakeQuantState, FakeQuantStateBehavior>> = Object.freeze(
  {
    QAT: Object.freeze({ modelMode: "train", observersUpdate: true, fakeQuant: true }),
    CALIBRATION: Object.freeze({ modelMode: "eval", observersUpdate: true, fakeQuant: false }),
    VALIDATION: Object.freeze({ modelMode: "eval", observersUpdate: false, fakeQuant: true }),
  },
);

/**
 * Parses a state name (exact, case-sensitive); throws a TypeError listing the valid names otherwise.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseFakeQuantState } from "@hqat/qtensor";
 * assert(parseFakeQuantState("QAT") === "QAT");
 * ```
 */
export function parseFakeQuantState(name: string): FakeQuantState {
  if (name === "QAT" || name === "CALIBRATION" || name === "VALIDATION") return name;
  throw new TypeError(`Unknown FakeQuantState "${name}": expected QAT, CALIBRATION or VALIDATION`);
}

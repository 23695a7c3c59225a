/**
 * MinMax observers (per tensor and per channel) and the fixed-scale observer.
 * @module
 */

import { resolveRange } from "./dtypes.ts";
import {
  checkAveragingConstant,
  EMPTY_OBSERVER_STATE,
  movingAverageState,
  observedMinMax,
  type Observer,
  type ObserverBaseOptions,
  type ObserverState,
  scaleOfState,
} from "./observer.ts";
import { SCALE_EPSILON } from "./scale.ts";

/** Options of {@linkcode minMaxObserver}. */
export interface MinMaxObserverOptions extends ObserverBaseOptions {
  /** Channel axis for a per-channel observer (weights use 0); absent for per tensor. */
  readonly axis?: number;
}

/**
 * The MinMax observer: each batch's min and max (per tensor, or per channel along `axis`), the first
 * batch setting the state and later ones moving it by `c · (current - previous)`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { minMaxObserver } from "@hqat/qtensor";
 * const obs = minMaxObserver({ name: "conv1.act", averagingConstant: 0.5 });
 * let st = obs.update(obs.initialState, Float32Array.of(-1, 2));
 * st = obs.update(st, Float32Array.of(-3, 4));
 * assert(st.min[0] === -2 && st.max[0] === 3 && obs.scale(st)[0] === Math.fround(3 / 127.5));
 * ```
 */
export function minMaxObserver(options: MinMaxObserverOptions = {}): Observer {
  const name = options.name ?? "observer";
  const range = resolveRange(options);
  const c = checkAveragingConstant(options.averagingConstant, name);
  const axis = options.axis;
  if (axis !== undefined && !Number.isInteger(axis)) {
    throw new RangeError(`Observer "${name}": axis ${axis} must be an integer`);
  }
  return Object.freeze({
    kind: "minMax" as const,
    name,
    ...range,
    ...(axis === undefined ? {} : { axis }),
    initialState: EMPTY_OBSERVER_STATE,
    update(state: ObserverState, x: ArrayLike<number>, opts: { shape?: readonly number[] } = {}) {
      if (x.length === 0) return state;
      const cur = observedMinMax(x, { name, axis, shape: opts.shape });
      return movingAverageState(state, cur.min, cur.max, c);
    },
    scale: (state: ObserverState) => scaleOfState(state, range),
  });
}

/**
 * The per-channel MinMax observer for weights: {@linkcode minMaxObserver} with `axis` (default 0).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { perChannelMinMaxObserver } from "@hqat/qtensor";
 * const obs = perChannelMinMaxObserver({ name: "conv1.weight" });
 * const st = obs.update(obs.initialState, Float32Array.of(1, -2, 0.5, 0.25), { shape: [2, 2] });
 * assert(obs.scale(st).length === 2 && st.max[1] === 0.5);
 * ```
 */
export function perChannelMinMaxObserver(options: MinMaxObserverOptions = {}): Observer {
  return minMaxObserver({ ...options, axis: options.axis ?? 0 });
}

/** Options of {@linkcode fixedScaleObserver}. */
export type FixedScaleObserverOptions = Omit<ObserverBaseOptions, "averagingConstant">;

/**
 * The fixed-scale observer (QuantStub with a given scale, e.g. 1/128 for pyramid input): its scale
 * never moves. It still rejects non-finite input, naming the module.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fixedScaleObserver } from "@hqat/qtensor";
 * const obs = fixedScaleObserver(1 / 128, { name: "quant" });
 * const st = obs.update(obs.initialState, Float32Array.of(5, -7));
 * assert(obs.scale(st)[0] === 1 / 128 && st === obs.initialState);
 * ```
 */
export function fixedScaleObserver(scale: number, options: FixedScaleObserverOptions = {}): Observer {
  const name = options.name ?? "observer";
  const range = resolveRange(options);
  const s = Math.fround(scale);
  if (!(s >= SCALE_EPSILON) || s === Infinity) {
    throw new RangeError(
      `Observer "${name}": fixed scale ${scale} must be a finite float32 of at least 2^-23`,
    );
  }
  // The state records the range that the scale represents, so checkpoints look like the others.
  const half = (range.qmax - range.qmin) / 2;
  const initialState: ObserverState = Object.freeze({
    min: Float32Array.of(-s * half),
    max: Float32Array.of(s * half),
  });
  return Object.freeze({
    kind: "fixedScale" as const,
    name,
    ...range,
    initialState,
    update(state: ObserverState, x: ArrayLike<number>) {
      observedMinMax(x, { name });
      return state;
    },
    scale: () => Float32Array.of(s),
  });
}

/**
 * The checked driver behind every optimizer step: it validates parameters, gradients and state and hands
 * every CPU parameter to one fused update (`@hqat/tensor`'s `adamUpdate` or `sgdUpdate`), which returns
 * fresh arrays.
 * @module
 */
import { fromArray, type Tensor } from "@hqat/tensor";
import type { OptimizerState, Params, StepResult } from "./optim.ts";

/** One CPU parameter's arrays for a {@linkcode BatchUpdate}: the parameter, its gradient and its slot buffers. */
export interface UpdateInput {
  /** The parameter. */
  readonly p: Float32Array;
  /** Its gradient. */
  readonly g: Float32Array;
  /** Its slot buffers, in the optimizer's slot order. */
  readonly slots: readonly Float32Array[];
  /** The update may write the new values into `p` and `slots` (see `StepOptions.donate`). */
  readonly inPlace: boolean;
}

/** One CPU parameter's new arrays from a {@linkcode BatchUpdate}. */
export interface UpdateOutput {
  /** The new parameter. */
  readonly p: Float32Array;
  /** The new slot buffers, in the optimizer's slot order. */
  readonly slots: readonly Float32Array[];
}

/**
 * The update of every CPU parameter of a step at once: returns fresh arrays for each input, in order. It
 * must not write to its inputs.
 */
export type BatchUpdate = (inputs: readonly UpdateInput[]) => UpdateOutput[];

/**
 * The same update written with tensor ops, for parameters that live on a device (WebGPU): returns the
 * new parameter and the new slot buffers. Float results agree with the fused loop within float32
 * rounding of the intermediate steps.
 */
export type DeviceUpdate = (p: Tensor, g: Tensor, slots: readonly Tensor[]) => [Tensor, Tensor[]];

/** Whether two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws unless `step` is a non-negative integer that fits int32. */
export function checkStepCount(step: number, who: string): void {
  if (!Number.isInteger(step) || step < 0 || step > 0x7fffffff) {
    throw new RangeError(`${who}: the state's step must be a non-negative integer below 2^31, got ${step}`);
  }
}

/** Throws unless `value` is a finite number in [min, max] (or [min, max) with `openMax`). */
export function checkHyperparameter(
  who: string,
  name: string,
  value: number,
  range: { min: number; max?: number; openMax?: boolean },
): void {
  const { min, max = Infinity, openMax = false } = range;
  const ok = typeof value === "number" && Number.isFinite(value) && value >= min &&
    (openMax ? value < max : value <= max);
  if (!ok) {
    const upper = max === Infinity ? "" : openMax ? ` and below ${max}` : ` and at most ${max}`;
    throw new RangeError(`${who}: ${name} must be a finite number of at least ${min}${upper}, got ${value}`);
  }
}

/** Zero buffers for every slot, keyed like `params`. */
export function zeroSlots(who: string, slotNames: readonly string[], params: Params): OptimizerState {
  const slots: Record<string, Params> = {};
  for (const slot of slotNames) {
    const buffers: Record<string, Tensor> = {};
    for (const [name, p] of Object.entries(params)) {
      if (p.dtype !== "float32") {
        throw new TypeError(`${who}: parameter "${name}" is ${p.dtype}, not float32`);
      }
      buffers[name] = fromArray(new Float32Array(p.size), p.shape);
    }
    slots[slot] = buffers;
  }
  return { step: 0, slots };
}

/**
 * Checks the inputs of a step and applies `update` to each parameter, returning new parameters (in the
 * same key order) and the state with `step + 1` and the new buffers. The state must hold exactly the
 * optimizer's slots.
 */
export function runUpdate<P extends Params>(
  who: string,
  slotNames: readonly string[],
  inputs: { params: P; grads: Params; state: OptimizerState; donate?: boolean },
  update: BatchUpdate,
  deviceUpdate?: DeviceUpdate,
): StepResult<P> {
  const { params, grads, state, donate = false } = inputs;
  checkStepCount(state.step, who);
  for (const slot of slotNames) {
    if (!Object.hasOwn(state.slots, slot)) throw new RangeError(`${who}: the state has no "${slot}" buffers`);
  }
  for (const slot of Object.keys(state.slots)) {
    if (!slotNames.includes(slot)) {
      throw new RangeError(`${who}: the state has "${slot}" buffers, which this optimizer does not keep`);
    }
  }
  for (const name of Object.keys(grads)) {
    if (!Object.hasOwn(params, name)) throw new RangeError(`${who}: gradient "${name}" names no parameter`);
  }
  const outParams: Record<string, Tensor> = {};
  const outSlots: Record<string, Record<string, Tensor>> = {};
  for (const slot of slotNames) outSlots[slot] = {};
  const onCpu: { name: string; shape: readonly number[]; input: UpdateInput }[] = [];
  for (const [name, p] of Object.entries(params)) {
    if (p.dtype !== "float32") throw new TypeError(`${who}: parameter "${name}" is ${p.dtype}, not float32`);
    const g = Object.hasOwn(grads, name) ? grads[name] : undefined;
    if (g === undefined) throw new RangeError(`${who}: parameter "${name}" has no gradient`);
    if (g.dtype !== "float32" || !sameShape(g.shape, p.shape)) {
      throw new RangeError(
        `${who}: gradient "${name}" is ${g.dtype}[${g.shape}] but the parameter is float32[${p.shape}]`,
      );
    }
    const slotsIn = slotNames.map((slot) => {
      const buffers = state.slots[slot];
      const b = Object.hasOwn(buffers, name) ? buffers[name] : undefined;
      if (b === undefined || b.dtype !== "float32" || !sameShape(b.shape, p.shape)) {
        const got = b === undefined ? "missing" : `${b.dtype}[${b.shape}]`;
        throw new RangeError(
          `${who}: state buffer "${slot}.${name}" is ${got}, expected float32[${p.shape}]`,
        );
      }
      return b;
    });
    if (p.device !== "cpu") {
      if (!deviceUpdate) throw new TypeError(`${who}: cannot update parameters on ${p.device}`);
      const [pNew, slotsNew] = deviceUpdate(p, g, slotsIn);
      outParams[name] = pNew;
      slotNames.forEach((slot, i) => outSlots[slot][name] = slotsNew[i]);
      continue;
    }
    // Placeholders keep the keys in parameter order until the update below fills them in.
    outParams[name] = p;
    slotNames.forEach((slot, i) => outSlots[slot][name] = slotsIn[i]);
    const input = {
      p: p.data as Float32Array,
      g: g.data as Float32Array,
      slots: slotsIn.map((b) => b.data as Float32Array),
      inPlace: false,
    };
    onCpu.push({ name, shape: p.shape, input });
  }
  const reusable = donate ? reusableBuffers(onCpu.map((c) => c.input)) : undefined;
  const outputs = onCpu.length === 0 ? [] : update(
    onCpu.map(({ input }) =>
      reusable && [input.p, ...input.slots].every((a) => reusable.has(a))
        ? { ...input, inPlace: true }
        : input
    ),
  );
  onCpu.forEach(({ name, shape }, i) => {
    outParams[name] = fromArray(outputs[i].p, shape);
    slotNames.forEach((slot, j) => outSlots[slot][name] = fromArray(outputs[i].slots[j], shape));
  });
  return { params: outParams as P, state: { step: state.step + 1, slots: outSlots } };
}

/**
 * The arrays of `inputs` that a donated step may overwrite: those that span their whole (non-shared)
 * buffer when no other array of the step — parameter, gradient or slot buffer — lies in that buffer.
 */
function reusableBuffers(inputs: readonly UpdateInput[]): Set<Float32Array> {
  const uses = new Map<ArrayBufferLike, number>();
  const all = inputs.flatMap((i) => [i.p, i.g, ...i.slots]);
  for (const a of all) uses.set(a.buffer, (uses.get(a.buffer) ?? 0) + 1);
  return new Set(
    all.filter((a) =>
      a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength &&
      uses.get(a.buffer) === 1
    ),
  );
}

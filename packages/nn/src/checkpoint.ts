/**
 * Model state as stored tensors: tensors to and from the records that safetensors and `.npy` files
 * hold (PyTorch-compatible names, dtypes and order). The files themselves are `checkpoint_file.ts`'s.
 * @module
 */
import { type DType, fromArray, type Tensor } from "@hqat/tensor";
import { checkState, type Module, type StateDict, stateSpecs } from "./module.ts";
import { type StoredTensor, toFloat32 } from "@hqat/io";

const STORED_OF: Record<DType, StoredTensor["dtype"]> = {
  float32: "F32",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
};

/**
 * A tensor as a stored record; `asInt64` writes an int32 tensor as I64 (PyTorch's `num_batches_tracked`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { toStored } from "@hqat/nn";
 * import { tensor } from "@hqat/tensor";
 * assert(toStored(tensor([1, 2])).dtype === "F32");
 * ```
 */
export function toStored(t: Tensor, options: { asInt64?: boolean } = {}): StoredTensor {
  if (options.asInt64 && t.dtype === "int32") {
    return {
      dtype: "I64",
      shape: [...t.shape],
      data: BigInt64Array.from(t.data as Int32Array, (v) => BigInt(v)),
    };
  }
  return { dtype: STORED_OF[t.dtype], shape: [...t.shape], data: t.data.slice() };
}

/**
 * A stored record as a tensor of `dtype` (default: the closest one). Floats of any width become
 * float32; I64 values must fit int32. `label` names the source in errors.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fromStored } from "@hqat/nn";
 * const t = fromStored({ dtype: "I64", shape: [1], data: new BigInt64Array([3n]) });
 * assert(t.dtype === "int32" && t.item() === 3);
 * ```
 */
export function fromStored(s: StoredTensor, options: { dtype?: DType; label?: string } = {}): Tensor {
  const label = options.label ?? "tensor";
  const want: DType = options.dtype ??
    ({
      F32: "float32",
      F16: "float32",
      BF16: "float32",
      F64: "float32",
      I64: "int32",
      I32: "int32",
      I16: "int16",
      I8: "int8",
      U8: "uint8",
      BOOL: "uint8",
    } as const)[s.dtype];
  if (want === "float32") return fromArray(toFloat32(s), s.shape);
  if (s.dtype === "I64") {
    const d = s.data as BigInt64Array;
    const out = new Int32Array(d.length);
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (v > 2147483647n || v < -2147483648n) {
        throw new RangeError(`${label}: I64 value ${v} does not fit int32`);
      }
      out[i] = Number(v);
    }
    return want === "int32" ? fromArray(out, s.shape) : fromArray(Int32Array.from(out), s.shape);
  }
  if (s.dtype === "F32" || s.dtype === "F16" || s.dtype === "BF16" || s.dtype === "F64") {
    throw new TypeError(`${label}: cannot read ${s.dtype} data as ${want}`);
  }
  const ctor = { int32: Int32Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array }[want];
  const out = ctor.from(s.data as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== Number(s.data[i])) {
      throw new RangeError(`${label}: value ${s.data[i]} does not fit ${want}`);
    }
  }
  return fromArray(out, s.shape);
}

/**
 * The state as safetensors entries, in state order, with PyTorch's dtypes.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BatchNorm2d, initState, stateEntries } from "@hqat/nn";
 * import { randomKey } from "@hqat/tensor";
 * const bn = new BatchNorm2d(2);
 * const e = stateEntries(bn, initState(bn, randomKey(0)));
 * assert(e[4][0] === "num_batches_tracked" && e[4][1].dtype === "I64");
 * ```
 */
export function stateEntries(module: Module, state: StateDict): [string, StoredTensor][] {
  const specs = stateSpecs(module);
  const ordered = checkState(module, state);
  return specs.map((s) => [s.name, toStored(ordered[s.name], { asInt64: s.torchDType === "int64" })]);
}

/**
 * The immutable {@linkcode Tensor} value.
 * @module
 */
import { allocArray, ARRAY_TYPES, type DType, dtypeOfArray, type TypedArray } from "./dtype.ts";
import type { Backend } from "./backend.ts";
import { trackDeviceTensor } from "./scope.ts";
import { checkShape, type Shape, sizeOf } from "./shape.ts";

/** Where a tensor's data lives. */
export type Device = "cpu" | "webgpu";

/**
 * The data of a tensor that lives on an accelerator: a backend's buffer, read back asynchronously.
 * Backends implement it; users meet it only through {@linkcode Tensor.device}, {@linkcode Tensor.read}
 * and {@linkcode Tensor.dispose}.
 */
export interface DeviceStorage {
  /** The device holding the data. */
  readonly device: Exclude<Device, "cpu">;
  /** The element type. */
  readonly dtype: DType;
  /** True once the buffer went back to the device's pool. */
  readonly released: boolean;
  /** Copies the data to the host. */
  read(): Promise<TypedArray>;
  /** Gives the buffer back to the device (idempotent). */
  release(): void;
  /** The backend that runs ops on tensors of this storage's device. */
  readonly backend: Backend;
}

/** Shape and dtype of a tensor, without data. */
export interface TensorInfo {
  /** The shape. */
  readonly shape: Shape;
  /** The element type. */
  readonly dtype: DType;
}

let nextId = 1;

/** Releases the buffers of device tensors that became unreachable without a scope or dispose(). */
const collected = new FinalizationRegistry<DeviceStorage>((st) => {
  try {
    st.release();
  } catch {
    // The device was destroyed first; its buffers went with it.
  }
});

/**
 * An immutable n-dimensional array. Create tensors with {@linkcode tensor}, {@linkcode zeros} and friends;
 * transform them with the functions of this package, which always return new tensors. A tensor lives on
 * the CPU (its {@linkcode Tensor.data} is a typed array) or on a device such as WebGPU, where ops on it
 * run on that device and {@linkcode Tensor.read} brings the data back.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { tensor } from "@hqat/tensor";
 * const t = tensor([[1, 2], [3, 4]]);
 * assert(t.shape.join() === "2,2" && t.dtype === "float32" && t.device === "cpu");
 * ```
 */
export class Tensor implements TensorInfo {
  /** A process-unique identity (used by autodiff). */
  readonly id: number;
  /** The shape. */
  readonly shape: Shape;
  /** The element type. */
  readonly dtype: DType;
  /** The number of elements. */
  readonly size: number;
  #data: TypedArray | undefined;
  readonly #storage: DeviceStorage | undefined;

  /**
   * Wraps `data` (not copied; it must not be modified afterwards) as a tensor of `shape`, or a device
   * buffer (backends do this). Prefer {@linkcode fromArray} or {@linkcode tensor}.
   */
  constructor(data: TypedArray | DeviceStorage, shape: Shape) {
    checkShape(shape);
    const n = sizeOf(shape);
    if (ArrayBuffer.isView(data)) {
      if (data.length !== n) {
        throw new RangeError(
          `Data of length ${data.length} does not fit shape [${shape.join(",")}] (${n} elements)`,
        );
      }
      this.dtype = dtypeOfArray(data);
      this.#data = data;
    } else {
      this.dtype = data.dtype;
      this.#storage = data;
      collected.register(this, data, data);
    }
    this.id = nextId++;
    this.size = n;
    this.shape = Object.freeze([...shape]);
    if (this.#storage) trackDeviceTensor(this);
  }

  /** The device holding the data. */
  get device(): Device {
    return this.#storage?.device ?? "cpu";
  }

  /** The device buffer of a device tensor (for backends); undefined on the CPU. */
  get storage(): DeviceStorage | undefined {
    return this.#storage;
  }

  /**
   * The flat row-major data. It is shared, not copied: never write to it. A device tensor has it only
   * after {@linkcode Tensor.read}; otherwise this throws.
   */
  get data(): TypedArray {
    if (this.#data) return this.#data;
    throw new Error(
      `${this.#describe()} lives on ${this.device}: await tensor.read() (or toCpu(tensor)) before reading its data`,
    );
  }

  /**
   * The data, read back from the device if needed (and kept, so {@linkcode Tensor.data} works after).
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { tensor } from "@hqat/tensor";
   * assert((await tensor([1, 2]).read()).join() === "1,2");
   * ```
   */
  async read(): Promise<TypedArray> {
    if (this.#data) return this.#data;
    const st = this.#storage!;
    if (st.released) throw new Error(`${this.#describe()} was disposed; its device buffer is gone`);
    this.#data = await st.read();
    return this.#data;
  }

  /**
   * Gives a device tensor's buffer back to its device now (later use of the tensor is an error unless
   * it was read). A no-op on the CPU.
   *
   * @example
   * ```ts
   * import { assert } from "@std/assert";
   * import { tensor } from "@hqat/tensor";
   * const t = tensor([1]);
   * t.dispose();
   * assert(t.item() === 1);
   * ```
   */
  dispose(): void {
    const st = this.#storage;
    if (!st || st.released) return;
    collected.unregister(st);
    st.release();
  }

  /** The number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** A copy of the data as a plain number array. */
  toArray(): number[] {
    return Array.from(this.data);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(`item() needs a one-element tensor, got shape [${this.shape.join(",")}]`);
    }
    return this.data[0];
  }

  #describe(): string {
    return `Tensor(${this.dtype}[${this.shape.join(",")}])`;
  }

  /** A short description: dtype, shape and the first values (or the device, if not read back). */
  toString(): string {
    if (!this.#data) return `Tensor(${this.dtype}[${this.shape.join(",")}] on ${this.device})`;
    const head = Array.from(this.#data.subarray(0, 8)).map((v) => +v.toPrecision(6));
    return `Tensor(${this.dtype}[${this.shape.join(",")}] ${head.join(", ")}${this.size > 8 ? ", …" : ""})`;
  }
}

/** Nested arrays of numbers. */
export type NestedNumbers = number | readonly NestedNumbers[];

function inferShape(values: NestedNumbers): number[] {
  const shape: number[] = [];
  let v: NestedNumbers = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0] as NestedNumbers;
  }
  return shape;
}

/**
 * Creates a tensor from (nested) numbers or a typed array.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { tensor } from "@hqat/tensor";
 * const t = tensor([1, 2, 3], { dtype: "int8" });
 * assert(t.data instanceof Int8Array);
 * const s = tensor(new Float32Array(6), { shape: [2, 3] });
 * assert(s.rank === 2);
 * ```
 */
export function tensor(
  values: NestedNumbers | TypedArray,
  options: { shape?: Shape; dtype?: DType } = {},
): Tensor {
  if (ArrayBuffer.isView(values)) {
    const src = values as TypedArray;
    const dtype = options.dtype ?? dtypeOfArray(src);
    const data = dtypeOfArray(src) === dtype
      ? src.slice()
      : ARRAY_TYPES[dtype].from(src as ArrayLike<number>);
    return new Tensor(data as TypedArray, options.shape ?? [src.length]);
  }
  const shape = inferShape(values);
  const flat = (Array.isArray(values) ? (values as unknown[]).flat(Infinity) : [values]) as number[];
  if (flat.length !== sizeOf(shape)) {
    throw new RangeError(
      `Ragged nested array: expected ${sizeOf(shape)} values for shape [${shape.join(",")}]`,
    );
  }
  const dtype = options.dtype ?? "float32";
  const data = allocArray(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) data[i] = flat[i];
  return new Tensor(data, options.shape ?? shape);
}

/**
 * Wraps a typed array as a tensor without copying (the array must not be modified afterwards).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { fromArray } from "@hqat/tensor";
 * const t = fromArray(new Int32Array([1, 2, 3, 4]), [2, 2]);
 * assert(t.dtype === "int32");
 * ```
 */
export function fromArray(data: TypedArray, shape: Shape): Tensor {
  return new Tensor(data, shape);
}

/**
 * A tensor of `shape` filled with `value`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { full } from "@hqat/tensor";
 * assert(full([2], 7).toArray().join() === "7,7");
 * ```
 */
export function full(shape: Shape, value: number, dtype: DType = "float32"): Tensor {
  checkShape(shape);
  const data = allocArray(dtype, sizeOf(shape));
  data.fill(value);
  return new Tensor(data, shape);
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { zeros } from "@hqat/tensor";
 * assert(zeros([2, 2]).toArray().every((v) => v === 0));
 * ```
 */
export function zeros(shape: Shape, dtype: DType = "float32"): Tensor {
  checkShape(shape);
  return new Tensor(allocArray(dtype, sizeOf(shape)), shape);
}

/**
 * A tensor of ones.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ones } from "@hqat/tensor";
 * assert(ones([3]).toArray().join() === "1,1,1");
 * ```
 */
export function ones(shape: Shape, dtype: DType = "float32"): Tensor {
  return full(shape, 1, dtype);
}

/**
 * A scalar (rank-0) tensor.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { scalar } from "@hqat/tensor";
 * assert(scalar(3).rank === 0 && scalar(3).item() === 3);
 * ```
 */
export function scalar(value: number, dtype: DType = "float32"): Tensor {
  return full([], value, dtype);
}

/**
 * Values `start, start + step, …` below `stop`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { arange } from "@hqat/tensor";
 * assert(arange(0, 4).toArray().join() === "0,1,2,3");
 * ```
 */
export function arange(start: number, stop: number, step = 1, dtype: DType = "float32"): Tensor {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = allocArray(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n]);
}

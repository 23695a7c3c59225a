/**
 * ONNX tensors (initializers, constants, tensor attributes) as typed arrays: floats of every width
 * become float32, integers and booleans float64 (exact to 2^53). The element count the dimensions claim
 * must equal the data present, so nothing is allocated beyond what the file holds.
 * @module
 */

/** A decoded ONNX tensor. */
export interface OnnxTensor {
  /** The tensor's name ("" for an unnamed constant). */
  readonly name: string;
  /** `TensorProto.DataType` code. */
  readonly dataType: number;
  /** Dimensions. */
  readonly dims: readonly number[];
  /** The values in row-major order: float32 for floating-point types, float64 for integers and booleans. */
  readonly data: Float32Array | Float64Array;
}

/** `TensorProto.DataType` codes and names of the types read here. */
export const DATA_TYPES: Readonly<Record<number, string>> = {
  1: "float32",
  2: "uint8",
  3: "int8",
  4: "uint16",
  5: "int16",
  6: "int32",
  7: "int64",
  9: "bool",
  10: "float16",
  11: "float64",
  12: "uint32",
  13: "uint64",
  16: "bfloat16",
};

/**
 * Whether a `TensorProto.DataType` code is a floating-point type.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isFloatType } from "./tensor_proto.ts";
 * assert(isFloatType(10) && !isFloatType(7));
 * ```
 */
export function isFloatType(code: number): boolean {
  return code === 1 || code === 10 || code === 11 || code === 16;
}

/** Bytes per element in `raw_data`. */
const RAW_WIDTH: Readonly<Record<number, number>> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  16: 2,
};

/**
 * The element count `dims` claim, or an error naming the tensor when a dimension is not a count.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { elementCount } from "./tensor_proto.ts";
 * assert(elementCount([2, 3, 4], "t") === 24);
 * ```
 */
export function elementCount(dims: readonly number[], where: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`${where}: dimension ${d} is not a size`);
    n *= d;
    if (n > 2 ** 31) throw new RangeError(`${where}: ${dims.join("×")} elements is absurdly many`);
  }
  return n;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function fromRaw(raw: Uint8Array, type: number, n: number): Float32Array | Float64Array {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const float = isFloatType(type);
  const out = float ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    switch (type) {
      case 1:
        out[i] = v.getFloat32(4 * i, true);
        break;
      case 2:
      case 9:
        out[i] = v.getUint8(i);
        break;
      case 3:
        out[i] = v.getInt8(i);
        break;
      case 4:
        out[i] = v.getUint16(2 * i, true);
        break;
      case 5:
        out[i] = v.getInt16(2 * i, true);
        break;
      case 6:
        out[i] = v.getInt32(4 * i, true);
        break;
      case 7:
        out[i] = Number(v.getBigInt64(8 * i, true));
        break;
      case 10:
        out[i] = halfToFloat(v.getUint16(2 * i, true));
        break;
      case 11:
        out[i] = v.getFloat64(8 * i, true);
        break;
      case 12:
        out[i] = v.getUint32(4 * i, true);
        break;
      case 13:
        out[i] = Number(v.getBigUint64(8 * i, true));
        break;
      case 16:
        out[i] = new Float32Array(new Uint32Array([v.getUint16(2 * i, true) << 16]).buffer)[0];
        break;
    }
  }
  return out;
}

interface RawTensor {
  name: string;
  data_type: number;
  dims: number[];
  float_data: number[];
  int32_data: number[];
  int64_data: number[];
  double_data: number[];
  uint64_data: number[];
  raw_data: Uint8Array;
  data_location: number;
}

/** The typed field that holds a type's values when `raw_data` is absent. */
function typedField(t: RawTensor): number[] {
  switch (t.data_type) {
    case 1:
      return t.float_data;
    case 7:
      return t.int64_data;
    case 11:
      return t.double_data;
    case 12:
    case 13:
      return t.uint64_data;
    default:
      return t.int32_data;
  }
}

/**
 * A tensor from its decoded `TensorProto`; `where` names it in errors (data in an external file, a type
 * that is not numeric, or a count of values that differs from what the dimensions claim).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { tensorFromProto } from "./tensor_proto.ts";
 * const t = tensorFromProto({ name: "w", data_type: 7, dims: [2], int64_data: [3, -1] }, "w");
 * assert(t.data instanceof Float64Array && t.data.join() === "3,-1");
 * ```
 */
export function tensorFromProto(raw: unknown, where: string): OnnxTensor {
  const t = {
    name: "",
    data_type: 0,
    dims: [],
    float_data: [],
    int32_data: [],
    int64_data: [],
    double_data: [],
    uint64_data: [],
    raw_data: new Uint8Array(0),
    data_location: 0,
    ...(raw as Partial<RawTensor>),
  } as RawTensor;
  const label = t.name ? `${where} "${t.name}"` : where;
  if (t.data_location === 1) {
    throw new RangeError(
      `${label}: data in an external file is not supported; save the model with its weights inside`,
    );
  }
  const type = DATA_TYPES[t.data_type];
  if (!type) throw new TypeError(`${label}: element type ${t.data_type} is not supported`);
  const n = elementCount(t.dims, label);
  let data: Float32Array | Float64Array;
  if (t.raw_data.length > 0) {
    const want = n * RAW_WIDTH[t.data_type];
    if (t.raw_data.length !== want) {
      throw new RangeError(
        `${label}: ${t.raw_data.length} bytes of data for [${t.dims.join(",")}] ${type} (${want} expected)`,
      );
    }
    data = fromRaw(t.raw_data, t.data_type, n);
  } else {
    const field = typedField(t);
    if (field.length !== n) {
      throw new RangeError(`${label}: ${field.length} values for [${t.dims.join(",")}] (${n} expected)`);
    }
    if (t.data_type === 10 || t.data_type === 16) {
      const bits = Uint16Array.from(field);
      data = fromRaw(new Uint8Array(bits.buffer), t.data_type, n);
    } else data = isFloatType(t.data_type) ? Float32Array.from(field) : Float64Array.from(field);
  }
  return { name: t.name, dataType: t.data_type, dims: [...t.dims], data };
}

/**
 * Elementwise kernels: unary math, binary arithmetic and comparisons with broadcasting by strides,
 * where, clamp, clamp's gradient and cast. Each op is one table entry (a WGSL expression per value
 * type) from which its kernel is generated; the results follow the CPU backend's typed-array semantics
 * (integer arithmetic wraps to the dtype, float-to-integer casts truncate and wrap).
 * @module
 */
import type { DType } from "../dtype.ts";
import type { BinaryOp, CompareOp, OpAttrs, UnaryOp } from "../ops.ts";
import type { Shape } from "../shape.ts";
import { broadcastStrides, coalesce } from "../cpu/strided.ts";
import type { WebGpuDevice } from "./device.ts";
import { runElem, stridedOffsets, stridedValues } from "./elem_kernel.ts";
import { type GpuKernel, type GpuTensor, valueType } from "./gpu_tensor.ts";
import type { WgslFn } from "./kernel_spec.ts";
import { CONVERT, FBITS, MATH } from "./wgsl_lib.ts";

/** A WGSL expression of an op for float32 (`f`) and integer (`i`) operands. */
interface OpExpr {
  readonly f: string;
  readonly i?: string;
  readonly functions?: readonly WgslFn[];
}

const FLOAT_BINARY: WgslFn = {
  code: `
fn fmax_nan(a: f32, b: f32) -> f32 { if (is_nan(a)) { return a; } if (is_nan(b)) { return b; } return select(b, a, a >= b); }
fn fmin_nan(a: f32, b: f32) -> f32 { if (is_nan(a)) { return a; } if (is_nan(b)) { return b; } return select(b, a, a <= b); }
fn fpow(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { let nan_bits = 0x7fc00000u; return bitcast<f32>(nan_bits); }
  let whole = round(b) == b;
  let odd = whole && abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
  let neg = (bitcast<u32>(a) >> 31u) == 1u;
  if (a == 0.0) {
    let m = select(0.0, bitcast<f32>(0x7f800000u), b < 0.0);
    return select(m, -m, neg && odd);
  }
  if (!neg) { return pow(a, b); }
  if (!whole) { let nan_bits = 0x7fc00000u; return bitcast<f32>(nan_bits); }
  let m = pow(-a, b);
  return select(m, -m, odd);
}`,
  deps: [FBITS],
};

const INT_BINARY: WgslFn = {
  code: `
fn idiv(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } if (b == -1) { return -a; } return a / b; }
fn ipow(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(1, -1, (b & 1) != 0); }
    return 0;
  }
  var r = 1; var base = a; var e = b;
  loop { if (e == 0) { break; } if ((e & 1) != 0) { r = r * base; } base = base * base; e = e >> 1u; }
  return r;
}`,
};

/** A comparison: 0 or 1; with a NaN operand only `≠` holds, as on the CPU. */
function cmp(test: string, nanResult: boolean): OpExpr {
  const nan = "is_nan(a) || is_nan(b)";
  return {
    f: nanResult ? `select(0, 1, ${nan} || ${test})` : `select(0, 1, !(${nan}) && ${test})`,
    i: `select(0, 1, ${test})`,
    functions: [FBITS],
  };
}

/**
 * WGSL of each unary op, in `x`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { UNARY_WGSL } from "./elementwise.ts";
 * assert(UNARY_WGSL.exp.f === "exp(x)" && UNARY_WGSL.exp.i === undefined);
 * ```
 */
export const UNARY_WGSL: { readonly [K in UnaryOp]: OpExpr } = {
  neg: { f: "-x", i: "-x" },
  exp: { f: "exp(x)" },
  log: { f: "log(x)" },
  sqrt: { f: "sqrt(x)" },
  rsqrt: { f: "inverseSqrt(x)" },
  abs: { f: "abs(x)", i: "abs(x)" },
  sign: { f: "select(sign(x), x, x == 0.0 || is_nan(x))", i: "sign(x)", functions: [FBITS] },
  tanh: { f: "tanh_acc(x)", functions: [MATH] },
  sigmoid: { f: "sigmoid_acc(x)", functions: [MATH] },
  floor: { f: "floor(x)" },
  ceil: { f: "ceil(x)" },
  round: { f: "select(round(x), 0.0, round(x) == 0.0 && x != 0.0)" },
  relu: { f: "select(0.0, x, x > 0.0)", i: "max(x, 0)" },
};

/**
 * WGSL of each binary op and comparison, in `a` and `b`; comparisons give 0 or 1.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BINARY_WGSL } from "./elementwise.ts";
 * assert(BINARY_WGSL.add.i === "a + b" && BINARY_WGSL.div.i === "idiv(a, b)");
 * ```
 */
export const BINARY_WGSL: { readonly [K in BinaryOp | CompareOp]: OpExpr } = {
  add: { f: "a + b", i: "a + b" },
  sub: { f: "a - b", i: "a - b" },
  mul: { f: "a * b", i: "a * b" },
  div: { f: "a / b", i: "idiv(a, b)", functions: [INT_BINARY] },
  maximum: { f: "fmax_nan(a, b)", i: "max(a, b)", functions: [FLOAT_BINARY] },
  minimum: { f: "fmin_nan(a, b)", i: "min(a, b)", functions: [FLOAT_BINARY] },
  pow: { f: "fpow(a, b)", i: "ipow(a, b)", functions: [FLOAT_BINARY, INT_BINARY] },
  equal: cmp("a == b", false),
  notEqual: cmp("a != b", true),
  less: cmp("a < b", false),
  lessEqual: cmp("a <= b", false),
  greater: cmp("a > b", false),
  greaterEqual: cmp("a >= b", false),
};

function exprFor(e: OpExpr, dtype: DType, op: string): string {
  if (dtype === "float32") return e.f;
  if (e.i !== undefined) return e.i;
  throw new TypeError(`${op}() has no integer kernel, got ${dtype}`);
}

/**
 * Runs a WGSL expression over operands broadcast to `outShape` (by strides, with adjacent dimensions
 * merged); each operand is bound to the WGSL name given in `names`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { broadcastMap } from "./elementwise.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Float32Array.of(1, 2), [2, 1]), b = uploadTensor(dev, Float32Array.of(10, 20), [2]);
 *   const y = broadcastMap(dev, "axpy", [a, b], ["a", "b"], { shape: [2, 2], dtype: "float32" }, "2.0 * a + b");
 *   assert((await readTensor(dev, y)).join() === "12,22,14,24");
 *   dev.destroy();
 * }
 * ```
 */
export function broadcastMap(
  dev: WebGpuDevice,
  name: string,
  ins: readonly GpuTensor[],
  names: readonly string[],
  out: { shape: Shape; dtype: DType },
  expr: string,
  functions: readonly WgslFn[] = [],
  extra: {
    uniforms?: readonly { name: string; type: "f32" | "i32" | "u32" }[];
    values?: Record<string, number>;
  } = {},
): GpuTensor {
  const it = coalesce(out.shape, ins.map((t) => broadcastStrides(t.shape, out.shape)));
  const rank = it.shape.length;
  const offs = stridedOffsets(rank, names);
  const loads = names.map((nm) => `  let ${nm} = ld_${nm}(o_${nm});`).join("\n");
  return runElem(
    dev,
    {
      name: `${name}_r${rank}`,
      inputs: ins.map((t, k) => ({ name: names[k], dtype: t.dtype })),
      out: out.dtype,
      uniforms: [...offs.uniforms, ...(extra.uniforms ?? [])],
      functions,
      elem: `${offs.code}\n${loads}\n  return ${expr};`,
    },
    ins,
    out.shape,
    {
      ...stridedValues(it.shape, names.map((nm, k) => ({ name: nm, base: 0, strides: it.strides[k] }))),
      ...extra.values,
    },
  );
}

/**
 * The kernel of a unary op.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { unaryGpu } from "./elementwise.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(-128, 5), [2]);
 *   const [y] = unaryGpu("neg")(dev, [x], {}, [{ shape: [2], dtype: "int8" }]);
 *   assert((await readTensor(dev, y)).join() === "-128,-5");
 *   dev.destroy();
 * }
 * ```
 */
export function unaryGpu(op: UnaryOp): GpuKernel<OpAttrs["neg"]> {
  return (dev, ins, _a, outs) => {
    const e = UNARY_WGSL[op];
    return [broadcastMap(dev, op, ins, ["x"], outs[0], exprFor(e, ins[0].dtype, op), e.functions)];
  };
}

/**
 * The kernel of a binary op or comparison.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { binaryGpu } from "./elementwise.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const a = uploadTensor(dev, Int16Array.of(7, -7), [2]), b = uploadTensor(dev, Int16Array.of(2, 0), [2]);
 *   const [y] = binaryGpu("div")(dev, [a, b], {}, [{ shape: [2], dtype: "int16" }]);
 *   assert((await readTensor(dev, y)).join() === "3,0");
 *   dev.destroy();
 * }
 * ```
 */
export function binaryGpu(op: BinaryOp | CompareOp): GpuKernel<OpAttrs["add"]> {
  return (dev, ins, _a, outs) => {
    const e = BINARY_WGSL[op];
    return [broadcastMap(dev, op, ins, ["a", "b"], outs[0], exprFor(e, ins[0].dtype, op), e.functions)];
  };
}

/**
 * where(cond, a, b) with broadcasting.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { whereGpu } from "./elementwise.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const c = uploadTensor(dev, Uint8Array.of(1, 0), [2]);
 *   const a = uploadTensor(dev, Float32Array.of(1, 2), [2]), b = uploadTensor(dev, Float32Array.of(9), [1]);
 *   const [y] = whereGpu(dev, [c, a, b], {}, [{ shape: [2], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "1,9");
 *   dev.destroy();
 * }
 * ```
 */
export const whereGpu: GpuKernel<OpAttrs["where"]> = (dev, ins, _a, outs) => [
  broadcastMap(dev, "where", ins, ["c", "a", "b"], outs[0], "select(b, a, c != 0)"),
];

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

/** The float32 next to `f` (a float32) towards +∞ (`dir` 1) or −∞ (`dir` −1). */
function nextF32(f: number, dir: 1 | -1): number {
  if (f !== f || f === dir * Infinity) return f;
  if (f === 0) return dir * 1.401298464324817e-45;
  F32[0] = f;
  I32[0] += (f > 0) === (dir > 0) ? 1 : -1;
  return F32[0];
}

/**
 * The smallest float32 ≥ v (`dir` 1) or the largest float32 ≤ v (`dir` −1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { f32Bound } from "./elementwise.ts";
 * assert(f32Bound(0.1, 1) >= 0.1 && f32Bound(0.1, -1) <= 0.1 && f32Bound(0.5, 1) === 0.5);
 * ```
 */
export function f32Bound(v: number, dir: 1 | -1): number {
  const f = Math.fround(v);
  if (f === v || v !== v) return f;
  return (f > v) === (dir > 0) ? f : nextF32(f, dir);
}

const INT_MIN = -2147483648, INT_MAX = 2147483647;
const toInt32 = (v: number) => (Number.isFinite(v) ? Math.trunc(v) | 0 : 0);
const clampI32 = (v: number) => (v !== v ? 0 : Math.max(INT_MIN, Math.min(INT_MAX, v)));

/**
 * Clamp to [min, max] as the CPU does it (NaN stays NaN; an integer tensor gets the truncated bound).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { clampGpu } from "./elementwise.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Int8Array.of(-9, 0, 9), [3]);
 *   const [y] = clampGpu(dev, [x], { min: -2.5, max: 3.5, openGrad: false }, [{ shape: [3], dtype: "int8" }]);
 *   assert((await readTensor(dev, y)).join() === "-2,0,3");
 *   dev.destroy();
 * }
 * ```
 */
export const clampGpu: GpuKernel<OpAttrs["clamp"]> = (dev, ins, a, outs) => {
  const float = ins[0].dtype === "float32";
  const vt = valueType(ins[0].dtype);
  const uniforms = ["lo_t", "lo_v", "hi_t", "hi_v"].map((name) => ({ name, type: vt }));
  const values = float ? { lo_t: f32Bound(a.min, 1), lo_v: a.min, hi_t: f32Bound(a.max, -1), hi_v: a.max } : {
    lo_t: clampI32(Math.ceil(a.min)),
    lo_v: toInt32(a.min),
    hi_t: clampI32(Math.floor(a.max)),
    hi_v: toInt32(a.max),
  };
  const expr = float
    ? "select(select(select(x, u_hi_v(), x > u_hi_t()), u_lo_v(), x < u_lo_t()), x, is_nan(x))"
    : "select(select(x, u_hi_v(), x > u_hi_t()), u_lo_v(), x < u_lo_t())";
  return [broadcastMap(dev, "clamp", ins, ["x"], outs[0], expr, [FBITS], { uniforms, values })];
};

/**
 * The gradient of clamp: g where x lies in the (closed, or open) interval, else 0.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { clampBackwardGpu } from "./elementwise.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const g = uploadTensor(dev, Float32Array.of(1, 1, 1), [3]), x = uploadTensor(dev, Float32Array.of(0, 0.5, 1), [3]);
 *   const [y] = clampBackwardGpu(dev, [g, x], { min: 0, max: 1, openGrad: true }, [{ shape: [3], dtype: "float32" }]);
 *   assert((await readTensor(dev, y)).join() === "0,1,0");
 *   dev.destroy();
 * }
 * ```
 */
export const clampBackwardGpu: GpuKernel<OpAttrs["clampBackward"]> = (dev, ins, a, outs) => {
  const float = ins[1].dtype === "float32";
  const vt = valueType(ins[1].dtype);
  const uniforms = [{ name: "lo", type: vt }, { name: "hi", type: vt }, {
    name: "open",
    type: "u32" as const,
  }];
  const values = float
    ? {
      lo: f32Bound(a.min, a.openGrad ? -1 : 1),
      hi: f32Bound(a.max, a.openGrad ? 1 : -1),
      open: +a.openGrad,
    }
    : {
      lo: clampI32(a.openGrad ? Math.floor(a.min) : Math.ceil(a.min)),
      hi: clampI32(a.openGrad ? Math.ceil(a.max) : Math.floor(a.max)),
      open: +a.openGrad,
    };
  const gv = ins[0].dtype === "float32" ? "g" : "i32_to_f32_rn(g)";
  const inside = "select(x >= u_lo() && x <= u_hi(), x > u_lo() && x < u_hi(), u_open() != 0u)";
  const expr = float ? `select(0.0, ${gv}, !is_nan(x) && ${inside})` : `select(0.0, ${gv}, ${inside})`;
  return [
    broadcastMap(dev, "clampBackward", ins, ["g", "x"], outs[0], expr, [FBITS, CONVERT], {
      uniforms,
      values,
    }),
  ];
};

/**
 * Elementwise dtype conversion with the typed arrays' semantics.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { readTensor, uploadTensor } from "./gpu_tensor.ts";
 * import { castGpu } from "./elementwise.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(-1.7, 300), [2]);
 *   const [y] = castGpu(dev, [x], { dtype: "uint8" }, [{ shape: [2], dtype: "uint8" }]);
 *   assert((await readTensor(dev, y)).join() === "255,44");
 *   dev.destroy();
 * }
 * ```
 */
export const castGpu: GpuKernel<OpAttrs["cast"]> = (dev, ins, _a, outs) => {
  const from = valueType(ins[0].dtype), to = valueType(outs[0].dtype);
  const expr = from === to ? "x" : from === "f32" ? "f32_to_i32_wrap(x)" : "i32_to_f32_rn(x)";
  return [broadcastMap(dev, "cast", ins, ["x"], outs[0], expr, [CONVERT])];
};

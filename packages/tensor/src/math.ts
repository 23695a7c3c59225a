/**
 * Elementwise math and comparisons. Binary functions broadcast (NumPy rules) and accept a plain
 * number for either operand, taken in the other operand's dtype.
 * @module
 */
import type { DType } from "./dtype.ts";
import { apply1, withoutTapes } from "./engine.ts";
import type { BinaryOp, CompareOp } from "./ops.ts";
import { scalar, Tensor } from "./tensor.ts";

/** A tensor or a plain number. */
export type TensorLike = Tensor | number;

function pair(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor && b instanceof Tensor) return [a, b];
  if (a instanceof Tensor) return [a, scalar(b as number, a.dtype)];
  if (b instanceof Tensor) return [scalar(a, b.dtype), b];
  return [scalar(a), scalar(b)];
}

const bin = (op: BinaryOp | CompareOp) => (a: TensorLike, b: TensorLike): Tensor =>
  apply1(op, pair(a, b), {});

/**
 * a + b.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { add, tensor } from "@hqat/tensor";
 * assert(add(tensor([1, 2]), 10).toArray().join() === "11,12");
 * ```
 */
export const add: (a: TensorLike, b: TensorLike) => Tensor = bin("add");
/**
 * a - b.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sub, tensor } from "@hqat/tensor";
 * assert(sub(tensor([3]), tensor([1])).item() === 2);
 * ```
 */
export const sub: (a: TensorLike, b: TensorLike) => Tensor = bin("sub");
/**
 * a · b.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mul, tensor } from "@hqat/tensor";
 * assert(mul(tensor([[1], [2]]), tensor([3, 4])).toArray().join() === "3,4,6,8");
 * ```
 */
export const mul: (a: TensorLike, b: TensorLike) => Tensor = bin("mul");
/**
 * a / b.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { div, tensor } from "@hqat/tensor";
 * assert(div(tensor([3]), 2).item() === 1.5);
 * ```
 */
export const div: (a: TensorLike, b: TensorLike) => Tensor = bin("div");
/**
 * Elementwise maximum.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { maximum, tensor } from "@hqat/tensor";
 * assert(maximum(tensor([1, 5]), 3).toArray().join() === "3,5");
 * ```
 */
export const maximum: (a: TensorLike, b: TensorLike) => Tensor = bin("maximum");
/**
 * Elementwise minimum.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { minimum, tensor } from "@hqat/tensor";
 * assert(minimum(tensor([1, 5]), 3).toArray().join() === "1,3");
 * ```
 */
export const minimum: (a: TensorLike, b: TensorLike) => Tensor = bin("minimum");
/**
 * a ** b.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { pow, tensor } from "@hqat/tensor";
 * assert(pow(tensor([3]), 2).item() === 9);
 * ```
 */
export const pow: (a: TensorLike, b: TensorLike) => Tensor = bin("pow");
/**
 * a == b as uint8.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { equal, tensor } from "@hqat/tensor";
 * assert(equal(tensor([1, 2]), 2).toArray().join() === "0,1");
 * ```
 */
export const equal: (a: TensorLike, b: TensorLike) => Tensor = bin("equal");
/**
 * a != b as uint8.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { notEqual, tensor } from "@hqat/tensor";
 * assert(notEqual(tensor([1, 2]), 2).toArray().join() === "1,0");
 * ```
 */
export const notEqual: (a: TensorLike, b: TensorLike) => Tensor = bin("notEqual");
/**
 * a < b as uint8.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { less, tensor } from "@hqat/tensor";
 * assert(less(tensor([1, 2]), 2).toArray().join() === "1,0");
 * ```
 */
export const less: (a: TensorLike, b: TensorLike) => Tensor = bin("less");
/**
 * a <= b as uint8.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { lessEqual, tensor } from "@hqat/tensor";
 * assert(lessEqual(tensor([1, 2]), 2).toArray().join() === "1,1");
 * ```
 */
export const lessEqual: (a: TensorLike, b: TensorLike) => Tensor = bin("lessEqual");
/**
 * a > b as uint8.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { greater, tensor } from "@hqat/tensor";
 * assert(greater(tensor([1, 3]), 2).toArray().join() === "0,1");
 * ```
 */
export const greater: (a: TensorLike, b: TensorLike) => Tensor = bin("greater");
/**
 * a >= b as uint8.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { greaterEqual, tensor } from "@hqat/tensor";
 * assert(greaterEqual(tensor([1, 2]), 2).toArray().join() === "0,1");
 * ```
 */
export const greaterEqual: (a: TensorLike, b: TensorLike) => Tensor = bin("greaterEqual");

/**
 * Picks `a` where `cond` is non-zero, else `b` (broadcasting).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { tensor, where } from "@hqat/tensor";
 * const c = tensor([1, 0], { dtype: "uint8" });
 * assert(where(c, tensor([1, 2]), 9).toArray().join() === "1,9");
 * ```
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = pair(a, b);
  return apply1("where", [cond, x, y], {});
}

const un = (
  op:
    | "neg"
    | "exp"
    | "log"
    | "sqrt"
    | "rsqrt"
    | "abs"
    | "sign"
    | "tanh"
    | "sigmoid"
    | "floor"
    | "ceil"
    | "round"
    | "relu",
) =>
(
  x: Tensor,
): Tensor => apply1(op, [x], {});

/**
 * -x.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { neg, tensor } from "@hqat/tensor";
 * assert(neg(tensor([2])).item() === -2);
 * ```
 */
export const neg: (x: Tensor) => Tensor = un("neg");
/**
 * e^x.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { exp, tensor } from "@hqat/tensor";
 * assert(exp(tensor([0])).item() === 1);
 * ```
 */
export const exp: (x: Tensor) => Tensor = un("exp");
/**
 * Natural logarithm.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { log, tensor } from "@hqat/tensor";
 * assert(log(tensor([1])).item() === 0);
 * ```
 */
export const log: (x: Tensor) => Tensor = un("log");
/**
 * Square root.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sqrt, tensor } from "@hqat/tensor";
 * assert(sqrt(tensor([9])).item() === 3);
 * ```
 */
export const sqrt: (x: Tensor) => Tensor = un("sqrt");
/**
 * 1 / sqrt(x).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { rsqrt, tensor } from "@hqat/tensor";
 * assert(rsqrt(tensor([4])).item() === 0.5);
 * ```
 */
export const rsqrt: (x: Tensor) => Tensor = un("rsqrt");
/**
 * |x|.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { abs, tensor } from "@hqat/tensor";
 * assert(abs(tensor([-2])).item() === 2);
 * ```
 */
export const abs: (x: Tensor) => Tensor = un("abs");
/**
 * The sign (-1, 0 or 1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sign, tensor } from "@hqat/tensor";
 * assert(sign(tensor([-2, 0, 3])).toArray().join() === "-1,0,1");
 * ```
 */
export const sign: (x: Tensor) => Tensor = un("sign");
/**
 * Hyperbolic tangent.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { tanh, tensor } from "@hqat/tensor";
 * assert(tanh(tensor([0])).item() === 0);
 * ```
 */
export const tanh: (x: Tensor) => Tensor = un("tanh");
/**
 * The logistic function.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sigmoid, tensor } from "@hqat/tensor";
 * assert(sigmoid(tensor([0])).item() === 0.5);
 * ```
 */
export const sigmoid: (x: Tensor) => Tensor = un("sigmoid");
/**
 * Rounds down.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { floor, tensor } from "@hqat/tensor";
 * assert(floor(tensor([-1.5])).item() === -2);
 * ```
 */
export const floor: (x: Tensor) => Tensor = un("floor");
/**
 * Rounds up.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ceil, tensor } from "@hqat/tensor";
 * assert(ceil(tensor([1.2])).item() === 2);
 * ```
 */
export const ceil: (x: Tensor) => Tensor = un("ceil");
/**
 * Rounds half to even.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { round, tensor } from "@hqat/tensor";
 * assert(round(tensor([0.5, 1.5, 2.5])).toArray().join() === "0,2,2");
 * ```
 */
export const round: (x: Tensor) => Tensor = un("round");
/**
 * max(x, 0).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { relu, tensor } from "@hqat/tensor";
 * assert(relu(tensor([-1, 2])).toArray().join() === "0,2");
 * ```
 */
export const relu: (x: Tensor) => Tensor = un("relu");

/**
 * Clamps to [min, max]; the gradient passes on the closed interval (PyTorch's `clamp`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { clamp, tensor } from "@hqat/tensor";
 * assert(clamp(tensor([-1, 0.5, 9]), 0, 1).toArray().join() === "0,0.5,1");
 * ```
 */
export function clamp(x: Tensor, min: number, max: number): Tensor {
  return apply1("clamp", [x], { min, max, openGrad: false });
}

/**
 * min(max(x, 0), 6); the gradient passes on the open interval (0, 6) like PyTorch's `relu6`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { relu6, tensor } from "@hqat/tensor";
 * assert(relu6(tensor([-1, 3, 7])).toArray().join() === "0,3,6");
 * ```
 */
export function relu6(x: Tensor): Tensor {
  return apply1("clamp", [x], { min: 0, max: 6, openGrad: true });
}

/**
 * Converts to another dtype (float → integer truncates toward zero).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { cast, tensor } from "@hqat/tensor";
 * assert(cast(tensor([1.7, -1.7]), "int32").toArray().join() === "1,-1");
 * ```
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : apply1("cast", [x], { dtype });
}

/**
 * x².
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { square, tensor } from "@hqat/tensor";
 * assert(square(tensor([3])).item() === 9);
 * ```
 */
export function square(x: Tensor): Tensor {
  return mul(x, x);
}

/**
 * The same values, cut off from differentiation.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { stopGradient, tensor } from "@hqat/tensor";
 * assert(stopGradient(tensor([1])).item() === 1);
 * ```
 */
export function stopGradient(x: Tensor): Tensor {
  if (x.device === "cpu") return new Tensor(x.data, x.shape);
  // A device tensor's buffer has one owner: copy it, outside every tape.
  return withoutTapes(() => apply1("reshape", [x], { shape: x.shape }));
}

/**
 * Window geometry shared by convolution and pooling: ONNX's `auto_pad`, explicit `pads`
 * [top, left, bottom, right], output sizes (with ceil mode as PyTorch and onnxruntime count it), and the
 * split of asymmetric padding into a symmetric part and an explicit pad.
 * @module
 */
import type { NodeView } from "./node_view.ts";

/** Two-dimensional window attributes of a node. */
export interface Window2d {
  /** Window [kh, kw]. */
  readonly kernel: readonly [number, number];
  /** Stride. */
  readonly stride: readonly [number, number];
  /** Dilation. */
  readonly dilation: readonly [number, number];
  /** Padding [top, left, bottom, right]. */
  readonly pads: readonly [number, number, number, number];
  /** Ceil mode for the output size. */
  readonly ceil: boolean;
}

const pair = (
  n: NodeView,
  name: string,
  v: readonly number[] | undefined,
  fallback: number,
): [number, number] => {
  const p = v ?? [fallback, fallback];
  if (p.length !== 2 || p.some((x) => !Number.isSafeInteger(x) || x < 1)) {
    throw n.error(`${name} [${p.join(",")}] must be two positive integers (only 2-D windows are supported)`);
  }
  return [p[0], p[1]];
};

/**
 * The window of a Conv, ConvTranspose-free pooling or convolution node over an input of spatial size
 * `hw`, with `kernel` from the weights (or the node's `kernel_shape`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { NodeView } from "./node_view.ts";
 * import { window2d } from "./geometry.ts";
 * const attributes = new Map([["auto_pad", { kind: "string", value: "SAME_UPPER" } as const], ["strides", { kind: "ints", value: [2, 2] } as const]]);
 * const n = new NodeView({ name: "c", opType: "Conv", domain: "", inputs: [], outputs: [], attributes }, 13, "m.onnx");
 * assert(window2d(n, [5, 5], [3, 3]).pads.join() === "1,1,1,1");
 * ```
 */
export function window2d(n: NodeView, hw: readonly number[], kernel?: readonly number[]): Window2d {
  const k = pair(n, "kernel_shape", n.ints("kernel_shape") ?? kernel, 1);
  if (kernel && (kernel[0] !== k[0] || kernel[1] !== k[1])) {
    throw n.error(`kernel_shape [${k.join(",")}] disagrees with the weights' [${kernel.join(",")}]`);
  }
  const stride = pair(n, "strides", n.ints("strides"), 1);
  const dilation = pair(n, "dilations", n.ints("dilations"), 1);
  const auto = n.oneOf("auto_pad", "NOTSET", ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]);
  let pads: [number, number, number, number] = [0, 0, 0, 0];
  if (auto === "NOTSET") {
    const p = n.ints("pads", [0, 0, 0, 0]);
    if (p.length !== 4 || p.some((x) => !Number.isSafeInteger(x) || x < 0)) {
      throw n.error(`pads [${p.join(",")}] must be four non-negative integers`);
    }
    pads = [p[0], p[1], p[2], p[3]];
  } else if (auto !== "VALID") {
    for (let i = 0; i < 2; i++) {
      const out = Math.ceil(hw[i] / stride[i]);
      const total = Math.max(0, (out - 1) * stride[i] + dilation[i] * (k[i] - 1) + 1 - hw[i]);
      const small = Math.floor(total / 2);
      pads[i] = auto === "SAME_UPPER" ? small : total - small;
      pads[i + 2] = total - pads[i];
    }
  }
  return { kernel: k, stride, dilation, pads, ceil: n.int("ceil_mode", 0) === 1 };
}

/**
 * The output size of one axis: ⌊(in + padding − span) / stride⌋ + 1, or with ceil mode ⌈…⌉ + 1 less a
 * last window that would start in the end padding.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { windowOutput } from "./geometry.ts";
 * assert(windowOutput(15, 0, 0, 2, 2, 1, true) === 8 && windowOutput(15, 0, 0, 2, 2, 1, false) === 7);
 * ```
 */
export function windowOutput(
  size: number,
  before: number,
  after: number,
  kernel: number,
  stride: number,
  dilation: number,
  ceil: boolean,
): number {
  const span = dilation * (kernel - 1) + 1;
  const room = size + before + after - span;
  if (room < 0) return 0;
  let out = (ceil ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  if (ceil && (out - 1) * stride >= size + before) out--;
  return out;
}

/**
 * The symmetric padding of a window and the explicit pad that makes up the rest ([before, after] per axis).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { splitPads } from "./geometry.ts";
 * const w = { kernel: [3, 3], stride: [2, 2], dilation: [1, 1], pads: [0, 0, 1, 1], ceil: false } as const;
 * assert(JSON.stringify(splitPads(w)) === '{"symmetric":[0,0],"extra":[[0,1],[0,1]]}');
 * ```
 */
export function splitPads(
  w: Window2d,
): { symmetric: [number, number]; extra: [[number, number], [number, number]] } {
  const ph = Math.min(w.pads[0], w.pads[2]), pw = Math.min(w.pads[1], w.pads[3]);
  return { symmetric: [ph, pw], extra: [[w.pads[0] - ph, w.pads[2] - ph], [w.pads[1] - pw, w.pads[3] - pw]] };
}

/**
 * Output [h, w] of a window over `hw`, or an error naming the node when the window does not fit.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { windowOutputs } from "./geometry.ts";
 * import { NodeView } from "./node_view.ts";
 * const n = new NodeView({ name: "p", opType: "MaxPool", domain: "", inputs: [], outputs: [], attributes: new Map() }, 13, "m.onnx");
 * const w = { kernel: [2, 2], stride: [2, 2], dilation: [1, 1], pads: [0, 0, 0, 0], ceil: true } as const;
 * assert(windowOutputs(n, [15, 15], w).join() === "8,8");
 * ```
 */
export function windowOutputs(n: NodeView, hw: readonly number[], w: Window2d): [number, number] {
  const out: [number, number] = [0, 0];
  for (let i = 0; i < 2; i++) {
    out[i] = windowOutput(hw[i], w.pads[i], w.pads[i + 2], w.kernel[i], w.stride[i], w.dilation[i], w.ceil);
    if (out[i] < 1) {
      throw n.error(
        `a ${w.kernel.join("×")} window does not fit an input of ${hw.join("×")} with pads [${w.pads}]`,
      );
    }
  }
  return out;
}

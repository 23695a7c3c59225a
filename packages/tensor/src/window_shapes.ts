/**
 * The output geometry of windowed ops (convolutions and pooling): the PyTorch output-size rule and the
 * checks of a convolution's and a pooling's operands, shared by the shape rules.
 * @module
 */
import type { ConvAttrs, PoolAttrs } from "./ops.ts";
import type { Shape } from "./shape.ts";

const fmt = (s: Shape) => `[${s.join(",")}]`;

/** Output spatial size of a convolution or pooling window along one axis. */
export function windowOutputSize(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation: number,
  ceilMode = false,
): number {
  const span = dilation * (kernel - 1) + 1;
  const num = size + 2 * pad - span;
  if (num < 0) return 0;
  let out = (ceilMode ? Math.ceil(num / stride) : Math.floor(num / stride)) + 1;
  // PyTorch: the last window must start inside the input or the left padding.
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

export function checkConv(op: string, x: Shape, w: Shape, a: ConvAttrs): number[] {
  if (x.length !== 4) throw new RangeError(`${op}() needs a 4-D input [N,C,H,W], got ${fmt(x)}`);
  if (w.length !== 4) throw new RangeError(`${op}() needs a 4-D weight [Co,C/groups,kh,kw], got ${fmt(w)}`);
  const g = a.groups;
  if (!Number.isInteger(g) || g < 1) {
    throw new RangeError(`${op}(): groups must be a positive integer, got ${g}`);
  }
  if (x[1] % g !== 0 || w[0] % g !== 0) {
    throw new RangeError(
      `${op}(): groups ${g} must divide input channels ${x[1]} and output channels ${w[0]}`,
    );
  }
  if (w[1] * g !== x[1]) {
    throw new RangeError(
      `${op}(): weight ${fmt(w)} expects ${w[1] * g} input channels (groups ${g}) but the input ${
        fmt(x)
      } has ${x[1]}`,
    );
  }
  for (const [k, v] of [["stride", a.stride], ["dilation", a.dilation]] as const) {
    if (v.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new RangeError(`${op}(): ${k} must be positive integers`);
    }
  }
  if (a.padding.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new RangeError(`${op}(): padding must be non-negative integers`);
  }
  const ho = windowOutputSize(x[2], w[2], a.stride[0], a.padding[0], a.dilation[0]);
  const wo = windowOutputSize(x[3], w[3], a.stride[1], a.padding[1], a.dilation[1]);
  if (ho <= 0 || wo <= 0) {
    throw new RangeError(`${op}(): kernel ${w[2]}x${w[3]} does not fit the padded input ${x[2]}x${x[3]}`);
  }
  return [x[0], w[0], ho, wo];
}

export function poolShape(op: string, x: Shape, a: PoolAttrs): number[] {
  if (x.length !== 4) throw new RangeError(`${op}() needs a 4-D input [N,C,H,W], got ${fmt(x)}`);
  for (let i = 0; i < 2; i++) {
    if (a.padding[i] * 2 > a.kernel[i]) {
      throw new RangeError(`${op}(): padding ${a.padding[i]} must be at most half the kernel ${a.kernel[i]}`);
    }
  }
  const ho = windowOutputSize(x[2], a.kernel[0], a.stride[0], a.padding[0], 1, a.ceilMode);
  const wo = windowOutputSize(x[3], a.kernel[1], a.stride[1], a.padding[1], 1, a.ceilMode);
  if (ho <= 0 || wo <= 0) throw new RangeError(`${op}(): window does not fit the input ${fmt(x)}`);
  return [x[0], x[1], ho, wo];
}

/**
 * Limit lists shared by several entries of the operator table: convolution, pooling,
 * elementwise binary ops and pass-through ops.
 * @module
 */

import type { LayerDesc } from "./layer_desc.ts";
import {
  channelsIn,
  channelsOut,
  type Limit,
  maxLimit,
  type OpEntry,
  pairOf,
  row,
  times,
  unsupported,
} from "./limit.ts";

/** A limit forbidding reflect padding for `op`. */
export const reflectPadding = (op: string, source: string): Limit =>
  unsupported(
    `${op}.padding_mode`,
    "padding mode",
    "reflect padding unsupported",
    source,
    (l) => l.attrs.paddingMode === "reflect" ? [1] : undefined,
    () => "reflect",
  );

/** Source of the reflect-padding limit. */
export const PAD_SOURCE = row("torch.nn.functional.pad (不支持 reflect 模式)");

/** The limits of `conv2d` on BAYES. */
export const CONV_LIMITS: readonly Limit[] = [
  maxLimit(
    "conv2d.kernel",
    "kernel",
    "kernel < 32 per side",
    31,
    row("torch.nn.Conv2d (kernel<32; weight H, W<=31)"),
    (l) => pairOf(l.attrs.kernel, 1),
    times,
  ),
  maxLimit(
    "conv2d.in_channels",
    "input channels",
    "input channels ≤ 8192",
    8192,
    row("torch.nn.Conv2d"),
    (l) => [channelsIn(l)],
  ),
  maxLimit(
    "conv2d.out_channels",
    "output channels",
    "output channels ≤ 8192, ≤ 16384 as a model output",
    8192,
    row("torch.nn.Conv2d"),
    (l) => l.attrs.isModelOutput ? undefined : [channelsOut(l)],
  ),
  maxLimit(
    "conv2d.out_channels_model_output",
    "output channels",
    "output channels ≤ 16384 as a model output",
    16384,
    row("torch.nn.Conv2d"),
    (l) => l.attrs.isModelOutput ? [channelsOut(l)] : undefined,
  ),
  maxLimit(
    "conv2d.dilation",
    "dilation",
    "dilation ≤ 16",
    16,
    row("torch.nn.Conv2d"),
    (l) => pairOf(l.attrs.dilation, 1),
    times,
  ),
  maxLimit(
    "conv2d.dilation_stride",
    "stride",
    "dilation > 1 only with stride 1",
    1,
    row("torch.nn.Conv2d (当 dilation!=1 时，stride 只能为 1)"),
    (l) => pairOf(l.attrs.dilation, 1).some((d) => d > 1) ? pairOf(l.attrs.stride, 1) : undefined,
    (v, l) => `${times(v)} with dilation ${times(pairOf(l.attrs.dilation, 1))}`,
  ),
  maxLimit(
    "conv2d.padding",
    "padding",
    "padding ≤ 256",
    256,
    row("torch.nn.Conv2d"),
    (l) => pairOf(l.attrs.padding, 0),
    times,
  ),
  maxLimit(
    "conv2d.weight_size",
    "weight size",
    "weight size (input channels / groups · kh · kw) < 65535",
    65534,
    row("torch.nn.Conv2d (weight_size < 65535)") +
      "; hqat reads weight_size as the elements of one output channel's kernel",
    (l) => {
      const [kh, kw] = pairOf(l.attrs.kernel, 1);
      return [Math.ceil(channelsIn(l) / (l.attrs.groups ?? 1)) * kh * kw];
    },
  ),
  unsupported(
    "conv2d.sumin_stride",
    "stride with a fused add",
    "a conv with a fused add takes stride 1×1 or 2×2",
    row("torch.nn.Conv2d (带 sumin 的 conv 只支持 stride 为 (1, 1) 或 (2, 2))"),
    (l) => {
      if (!l.attrs.fusedAdd) return undefined;
      const [sh, sw] = pairOf(l.attrs.stride, 1);
      return sh === sw && (sh === 1 || sh === 2) ? undefined : [sh, sw];
    },
    times,
  ),
  reflectPadding("conv2d", PAD_SOURCE + "; hqat applies it to a convolution's padding_mode"),
];

/** Kernel, stride and padding limits of a pooling op. */
export const poolLimits = (op: string, torch: string, paddingBound: number): Limit[] => [
  maxLimit(
    `${op}.kernel`,
    "kernel",
    "kernel ≤ 256",
    256,
    row(torch),
    (l) => pairOf(l.attrs.kernel, 1),
    times,
  ),
  maxLimit(
    `${op}.stride`,
    "stride",
    "stride ≤ 256",
    256,
    row(torch),
    (l) => pairOf(l.attrs.stride, 1),
    times,
  ),
  maxLimit(
    `${op}.padding`,
    "padding",
    `padding ≤ ${paddingBound}`,
    paddingBound,
    row(torch),
    (l) => pairOf(l.attrs.padding, 0),
    times,
  ),
];

/** `[1]` when a binary op broadcasts in a way BAYES lacks (on N, or both inputs), else `undefined`. */
export function broadcastProblem(l: LayerDesc): number[] | undefined {
  if (l.inputs.length !== 2) return undefined;
  const [a, b] = [l.inputs[0].shape, l.inputs[1].shape];
  if (a.length !== b.length || a[0] !== b[0]) return [1];
  let aBroadcast = false, bBroadcast = false;
  for (let i = 1; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (a[i] === 1) aBroadcast = true;
    else if (b[i] === 1) bBroadcast = true;
    else return [1];
  }
  return aBroadcast && bBroadcast ? [1] : undefined;
}

/** The entry of an elementwise binary op (add, sub, mul). */
export const elementwise = (op: string, torch: string, source: string): OpEntry => ({
  op,
  torch,
  minInputs: 2,
  maxInputs: 2,
  inputDtypes: ["qint8", "qint16"],
  outputDtypes: ["qint8", "qint16"],
  dtypeSource: source,
  limits: [
    unsupported(
      `${op}.broadcast`,
      "broadcast",
      "broadcast on any dimension but N, and of one input only",
      source,
      broadcastProblem,
      (_v, l) => l.inputs.map((t) => `[${t.shape.join(", ")}]`).join(" with "),
    ),
  ],
});

/** The entry of an op that keeps its input dtype and has no size limits. */
export const passThrough = (op: string, torch: string): OpEntry => ({
  op,
  torch,
  minInputs: 1,
  maxInputs: 1,
  inputDtypes: ["qint8", "qint16", "qint32"],
  outputDtypes: "same-as-input",
  dtypeSource: row(torch),
  limits: [],
});

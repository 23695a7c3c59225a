/**
 * The BAYES operator table as data: for each op, the dtypes it takes and gives and its size
 * limits, each with the place it comes from.
 * @module
 */

import { dtypeBytes, elementsPerFrame, nchwOf } from "./layer_desc.ts";
import { ALIGNMENT, GENERAL, type Limit, maxLimit, type OpEntry, row, times, unsupported } from "./limit.ts";
import {
  CONV_LIMITS,
  elementwise,
  PAD_SOURCE,
  passThrough,
  poolLimits,
  reflectPadding,
} from "./op_limits.ts";
import { IMPORT_OP_ENTRIES } from "./import_ops.ts";
import { March } from "./march.ts";

const QUANT_SOURCE = row("torch.quantization.QuantStub");

/**
 * The BAYES operator table (shared by BAYES_E: the plugin docs give one "Bayes/Bayes-e" column),
 * keyed by op name.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BAYES_OP_TABLE } from "@hqat/march-bayes";
 * assert(BAYES_OP_TABLE.conv2d.inputDtypes.includes("qint16"));
 * assert(BAYES_OP_TABLE.gelu === undefined);
 * ```
 */
export const BAYES_OP_TABLE: Readonly<Record<string, OpEntry>> = {
  conv2d: {
    op: "conv2d",
    torch: "torch.nn.Conv2d",
    minInputs: 1,
    maxInputs: 2,
    inputDtypes: ["qint8", "qint16"],
    outputDtypes: ["qint8", "qint16", "qint32"],
    dtypeSource: row("torch.nn.Conv2d"),
    limits: CONV_LIMITS,
  },
  linear: {
    op: "linear",
    torch: "torch.nn.Linear",
    minInputs: 1,
    maxInputs: 1,
    inputDtypes: ["qint8"],
    outputDtypes: ["qint8", "qint32"],
    dtypeSource: row("torch.nn.Linear") +
      "; qint32 output: hqat choice, as a linear layer runs as a 1×1 Conv2d",
    limits: [
      maxLimit(
        "linear.in_features",
        "input features",
        "in_features ≤ 8192",
        8192,
        row("torch.nn.Linear"),
        (l) => [
          l.attrs.inFeatures ?? elementsPerFrame(l.inputs[0]?.shape ?? [1]),
        ],
      ),
      maxLimit(
        "linear.out_features",
        "output features",
        "out_features ≤ 8192",
        8192,
        row("torch.nn.Linear"),
        (l) => [
          l.attrs.outFeatures ?? elementsPerFrame(l.output.shape),
        ],
      ),
    ],
  },
  add: elementwise("add", "torch.add", row("torch.add")),
  sub: elementwise("sub", "torch.sub", row("torch.sub")),
  mul: elementwise("mul", "torch.mul", row("torch.mul (参考 torch.add)")),
  cat: {
    op: "cat",
    torch: "torch.cat",
    minInputs: 2,
    maxInputs: 1024,
    inputDtypes: ["qint8", "qint16"],
    outputDtypes: ["qint8", "qint16"],
    dtypeSource: row("torch.cat"),
    limits: [
      maxLimit(
        "cat.batch",
        "batch",
        "N ≤ 4096",
        4096,
        row("torch.cat"),
        (l) => l.inputs.map((t) => t.shape[0]),
      ),
      maxLimit(
        "cat.hwc",
        "H·W·C",
        "H·W·C ≤ 65536 per input",
        65536,
        row("torch.cat"),
        (l) =>
          l.inputs.map((t) => {
            const d = nchwOf(t.shape);
            return d.h * d.w * d.c;
          }),
      ),
    ],
  },
  avg_pool2d: {
    op: "avg_pool2d",
    torch: "torch.nn.AvgPool2d",
    minInputs: 1,
    maxInputs: 1,
    inputDtypes: ["qint8"],
    outputDtypes: "same-as-input",
    dtypeSource: row("torch.nn.AvgPool2d") +
      "; the Bayes dtype cells are empty, hqat takes the Bernoulli2 qint8",
    limits: poolLimits("avg_pool2d", "torch.nn.AvgPool2d", 256),
  },
  adaptive_avg_pool2d: {
    op: "adaptive_avg_pool2d",
    torch: "torch.nn.AdaptiveAvgPool2d",
    minInputs: 1,
    maxInputs: 1,
    inputDtypes: ["qint8"],
    outputDtypes: "same-as-input",
    dtypeSource: row("torch.nn.AdaptiveAvgPool2d"),
    limits: [
      maxLimit(
        "adaptive_avg_pool2d.kernel",
        "equivalent kernel",
        "kernel ≤ 256 (it runs as AvgPool2d)",
        256,
        row("torch.nn.AdaptiveAvgPool2d (使用 AvgPool2d 拼凑)") + "; hqat applies the AvgPool2d kernel limit",
        (l) => {
          const i = nchwOf(l.inputs[0]?.shape ?? [1]), o = nchwOf(l.output.shape);
          return [Math.ceil(i.h / o.h), Math.ceil(i.w / o.w)];
        },
        times,
      ),
    ],
  },
  max_pool2d: {
    op: "max_pool2d",
    torch: "torch.nn.MaxPool2d",
    minInputs: 1,
    maxInputs: 1,
    inputDtypes: ["qint8"],
    outputDtypes: "same-as-input",
    dtypeSource: row("torch.nn.MaxPool2d"),
    limits: [
      maxLimit(
        "max_pool2d.hwc",
        "input H, W, C",
        "1 ≤ H, W, C ≤ 8192",
        8192,
        row("torch.nn.MaxPool2d"),
        (l) => {
          const d = nchwOf(l.inputs[0]?.shape ?? [1]);
          return [d.h, d.w, d.c];
        },
        times,
      ),
      ...poolLimits("max_pool2d", "torch.nn.MaxPool2d", 255),
    ],
  },
  relu: { ...passThrough("relu", "torch.nn.ReLU"), inputDtypes: ["qint8", "qint16"] },
  relu6: { ...passThrough("relu6", "torch.nn.ReLU6"), inputDtypes: ["qint8", "qint16"] },
  pad: {
    ...passThrough("pad", "torch.nn.functional.pad"),
    inputDtypes: ["qint8", "qint16"],
    limits: [reflectPadding("pad", PAD_SOURCE)],
  },
  interpolate: {
    ...passThrough("interpolate", "torch.nn.functional.interpolate"),
    inputDtypes: ["qint8"],
    limits: [
      maxLimit(
        "interpolate.chw",
        "input C, H, W",
        "1 ≤ C, H, W ≤ 8192",
        8192,
        row("torch.nn.functional.interpolate"),
        (l) => {
          const d = nchwOf(l.inputs[0]?.shape ?? [1]);
          return [d.c, d.h, d.w];
        },
        times,
      ),
      unsupported(
        "interpolate.nearest_alignment",
        "nearest sampling",
        "a nearest resize reads the cells of centre alignment (output o reads floor((o + ½) · in / out))",
        "hqat choice: Horizon's BPU resizes nearest with centre alignment; hqat runs the model's own " +
          "index rule (PyTorch's nearest is asymmetric + floor: the same cells for integer upscaling, other " +
          "cells for downscaling and non-integer ratios), so it reports a resize whose cells would differ",
        (l) => (l.attrs.resizeMode === "nearest" && l.attrs.centreAligned === false ? [1] : undefined),
        () => "not centre-aligned",
      ),
    ],
  },
  quant: {
    op: "quant",
    torch: "torch.quantization.QuantStub",
    minInputs: 1,
    maxInputs: 1,
    inputDtypes: ["float32"],
    outputDtypes: ["qint8", "qint16"],
    dtypeSource: QUANT_SOURCE,
    limits: [
      unsupported(
        "quant.pyramid_size",
        "pyramid input size",
        "NV12 input needs even H and W",
        ALIGNMENT + " (HB_DNN_IMG_TYPE_NV12: H and W even)",
        (l, c) => {
          if (c.inputSource === "ddr") return undefined;
          const d = nchwOf(l.inputs[0]?.shape ?? [1]);
          return d.h % 2 === 0 && d.w % 2 === 0 ? undefined : [d.h, d.w];
        },
        times,
      ),
      unsupported(
        "quant.pyramid_channels",
        "pyramid input channels",
        "pyramid input has 3 channels (YUV444) or 1 (Y)",
        "hqat choice: the pyramid delivers Y and UV planes, which become YUV444 or Y",
        (l, c) => {
          if (c.inputSource === "ddr") return undefined;
          const ch = nchwOf(l.inputs[0]?.shape ?? [1]).c;
          return ch === 3 || ch === 1 ? undefined : [ch];
        },
      ),
    ],
  },
  dequant: {
    op: "dequant",
    torch: "torch.quantization.DeQuantStub",
    minInputs: 1,
    maxInputs: 1,
    inputDtypes: ["qint8", "qint16", "qint32"],
    outputDtypes: ["float32"],
    dtypeSource: row("torch.quantization.DeQuantStub"),
    limits: [],
  },
  identity: passThrough("identity", "torch.nn.Identity"),
  dropout: passThrough("dropout", "torch.nn.Dropout"),
  flatten: passThrough("flatten", "torch.Tensor.reshape"),
  reshape: passThrough("reshape", "torch.Tensor.reshape"),
  ...IMPORT_OP_ENTRIES,
};

/**
 * Limits that hold for every tensor of every op on BAYES.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { GENERAL_LIMITS } from "@hqat/march-bayes";
 * assert(GENERAL_LIMITS.some((l) => l.id === "tensor.batch" && l.bound === 4096));
 * ```
 */
export const GENERAL_LIMITS: readonly Limit[] = [
  maxLimit(
    "tensor.batch",
    "batch",
    "N ≤ 4096",
    4096,
    GENERAL,
    (l) => [...l.inputs, l.output].map((t) => t.shape[0]),
  ),
  maxLimit(
    "tensor.hwc",
    "H, W, C",
    "H, W, C ∈ [1, 65536]",
    65536,
    GENERAL,
    (l) =>
      [...l.inputs, l.output].flatMap((t) => {
        const d = nchwOf(t.shape);
        return [d.h, d.w, d.c];
      }),
  ),
  maxLimit(
    "tensor.bytes",
    "tensor bytes",
    "N·C·H·W bytes ≤ 1 GiB",
    2 ** 30,
    GENERAL,
    (l) =>
      [...l.inputs, l.output].map((t) => {
        let e = dtypeBytes(t.dtype);
        for (const d of t.shape) e *= d;
        return e;
      }),
  ),
];

/**
 * The operator table of `march`. BAYES and BAYES_E share one table; hqat describes no other march
 * and throws a `RangeError` for it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { March, opTable } from "@hqat/march-bayes";
 * assert(opTable(March.BAYES_E) === opTable(March.BAYES));
 * ```
 */
export function opTable(march: March): Readonly<Record<string, OpEntry>> {
  if (march === March.BAYES || march === March.BAYES_E) return BAYES_OP_TABLE;
  throw new RangeError(
    `opTable: hqat has no operator table for march "${march}"; it describes bayes and bayes-e`,
  );
}

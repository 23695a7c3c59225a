/**
 * The hardware figures of the BAYES BPU that the performance model uses, each with its
 * justification.
 * @module
 */

import { ALIGNMENT } from "./limit.ts";
import { March } from "./march.ts";

/**
 * A figure, its unit and where it comes from ("hqat choice" where nothing public fixes it).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * const clock = hardwareFigures(March.BAYES).clockHz;
 * assert(clock.unit === "Hz" && clock.source.length > 0);
 * ```
 */
export interface Figure<T> {
  /** The figure. */
  readonly value: T;
  /** Its unit. */
  readonly unit: string;
  /** Where it comes from. */
  readonly source: string;
}

/**
 * The shape of the MAC array for one input dtype: output pixels, reduction lanes (input channels ×
 * kernel taps) and output channels handled per cycle. Their product is the MACs per cycle.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * const a = hardwareFigures(March.BAYES).macArray.value.qint8;
 * assert(a.pixels * a.reduction * a.outputs === 32768);
 * ```
 */
export interface MacArrayShape {
  /** Output pixels per cycle. */
  readonly pixels: number;
  /** Reduction lanes (input channels × kernel taps) per cycle. */
  readonly reduction: number;
  /** Output channels per cycle. */
  readonly outputs: number;
}

/**
 * The alignment of model inputs and outputs in DDR (published): a feature map with C ≤ 4 pads H to
 * `smallChannelH` and W to `smallChannelW`; otherwise (and for every output) the bytes of C pad to
 * `channelByteBase · k + s` for the smallest fitting step `s` of `channelByteSteps` (or a whole
 * `channelByteBase`); an NV12 image pads W to `nv12Width`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * assert(hardwareFigures(March.BAYES).ioAlignment.value.nv12Width === 16);
 * ```
 */
export interface IoAlignment {
  /** Rows that H pads to when C ≤ 4. */
  readonly smallChannelH: number;
  /** Columns that W pads to when C ≤ 4. */
  readonly smallChannelW: number;
  /** The base of the channel-byte padding. */
  readonly channelByteBase: number;
  /** The partial steps above a multiple of `channelByteBase`. */
  readonly channelByteSteps: readonly number[];
  /** Columns that an NV12 image's W pads to. */
  readonly nv12Width: number;
}

/**
 * The hardware figures of one march for the performance model (one BPU core, as hbdk's estimate).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * const f = hardwareFigures(March.BAYES);
 * assert(f.ddrBytesPerSecond.value === 8e9);
 * ```
 */
export interface HardwareFigures {
  /** The march these figures are for. */
  readonly march: March;
  /** BPU cores of the chip (the estimate uses one). */
  readonly cores: Figure<number>;
  /** BPU clock. */
  readonly clockHz: Figure<number>;
  /** The MAC array shape per input dtype. */
  readonly macArray: Figure<Readonly<Record<"qint8" | "qint16", MacArrayShape>>>;
  /** Elements that pooling and elementwise ops process per cycle. */
  readonly vectorElementsPerCycle: Figure<number>;
  /** DDR bandwidth of one core. */
  readonly ddrBytesPerSecond: Figure<number>;
  /** On-chip feature memory. */
  readonly featureSramBytes: Figure<number>;
  /** The block that features are stored in (H × W × C elements). */
  readonly featureBlock: Figure<{ readonly h: number; readonly w: number; readonly c: number }>;
  /** The block that weights are stored in (output channels × reduction elements). */
  readonly weightBlock: Figure<{ readonly outputs: number; readonly reduction: number }>;
  /** Bytes of bias and requantization parameters per output channel. */
  readonly paramBytesPerChannel: Figure<number>;
  /** The DDR alignment of model inputs and outputs. */
  readonly ioAlignment: Figure<IoAlignment>;
  /** Fixed cycles per layer. */
  readonly layerOverheadCycles: Figure<number>;
  /** Fixed cycles per run. */
  readonly runOverheadCycles: Figure<number>;
}

const J5 = 'Horizon J5 overview (OpenExplorer docs, appendix "Overview of Journey 5"): ' +
  "dual-core BPU of the Bayes architecture, 128 TOPS";

/** The BAYES figures. */
const BAYES_FIGURES: HardwareFigures = {
  march: March.BAYES,
  cores: {
    value: 2,
    unit: "cores",
    source: `${J5}; the estimate is for one core, as hbdk's`,
  },
  clockHz: {
    value: 1e9,
    unit: "Hz",
    source: "hqat choice: the BPU clock is not published; 1 GHz",
  },
  macArray: {
    value: {
      qint8: { pixels: 32, reduction: 32, outputs: 32 },
      qint16: { pixels: 32, reduction: 16, outputs: 32 },
    },
    unit: "MACs per cycle (pixels × reduction × outputs)",
    source: `derived from ${J5}: 128 TOPS / 2 cores / 2 ops per MAC / 1 GHz ≈ 32,000 int8 MACs per cycle ` +
      "per core, taken as a 32 × 32 × 32 array (the shape is hqat's choice); a 16-bit input takes two " +
      "8-bit multiplier lanes, halving the reduction lanes (hqat choice)",
  },
  vectorElementsPerCycle: {
    value: 256,
    unit: "elements per cycle",
    source: "hqat choice: pooling and elementwise ops process one 256-element feature block per cycle",
  },
  ddrBytesPerSecond: {
    value: 8e9,
    unit: "bytes per second",
    source: "hqat choice: the DDR bandwidth of a BPU core is not published; 8 GB/s (8 bytes per cycle) " +
      "matches the published perf_model output for MobileNetV2 at batch 256, which moves " +
      "1,403,592 bytes per frame at 5723 frames per second (8.0 GB/s) while its compute is far below peak",
  },
  featureSramBytes: {
    value: 1 << 20,
    unit: "bytes",
    source: "hqat choice: the on-chip feature memory is not published; 1 MiB is consistent with the " +
      "published batch-256 MobileNetV2 traffic, whose stores (696,360 bytes per frame) show that every " +
      "activation of the batch leaves the chip, while at batch 1 all of them stay",
  },
  featureBlock: {
    value: { h: 2, w: 16, c: 8 },
    unit: "elements (H × W × C)",
    source: "hqat choice: features are stored in 256-element blocks of 2 rows × 16 columns × 8 channels. " +
      "hbdk's public layout list (hbdk_layout.h: NHCW_4H4W8C, NHCW_2H4W, NHWC_4W8C, …) shows blocked " +
      "H × W × C layouts and the published alignment rules work in 256-byte steps; the block shape itself " +
      "is not published, and this one is chosen among 256-element blocks because it reproduces the " +
      "published MobileNetV2 batch-256 stores within 3 %",
  },
  weightBlock: {
    value: { outputs: 8, reduction: 8 },
    unit: "elements (output channels × reduction)",
    source: "hqat choice: weights are stored in blocks of 8 output channels × 8 reduction elements " +
      "(input channels × kernel taps)",
  },
  paramBytesPerChannel: {
    value: 8,
    unit: "bytes per output channel",
    source: "hqat choice: an int32 bias, the 16-bit requantization multiplier M and the 8-bit shift n " +
      "of SPEC.md, padded to 8 bytes",
  },
  ioAlignment: {
    value: {
      smallChannelH: 2,
      smallChannelW: 32,
      channelByteBase: 256,
      channelByteSteps: [16, 32, 64, 128],
      nv12Width: 16,
    },
    unit: "elements / bytes",
    source: `${ALIGNMENT} (NHWC: C ≤ 4 pads H to 2 and W to 32; otherwise and for outputs the bytes of C ` +
      "pad to 256·k + {0, 16, 32, 64, 128}; NV12 pads W to 16)",
  },
  layerOverheadCycles: {
    value: 1000,
    unit: "cycles per layer",
    source: "hqat choice: 1 µs per layer for fetching its descriptors and the sync between layers; with " +
      "the run overhead it makes up the part of the published MobileNetV2 batch-1 latency (376.6 µs) " +
      "beyond its DDR time",
  },
  runOverheadCycles: {
    value: 20000,
    unit: "cycles per run",
    source: "hqat choice: 20 µs per run for task submission, the completion interrupt and cache maintenance",
  },
};

/**
 * The hardware figures of `march`. hqat has figures for BAYES only and throws a `RangeError` for
 * another march.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { hardwareFigures, March } from "@hqat/march-bayes";
 * const f = hardwareFigures(March.BAYES);
 * assert(f.featureSramBytes.value === 1048576);
 * ```
 */
export function hardwareFigures(march: March): HardwareFigures {
  if (march === March.BAYES) return BAYES_FIGURES;
  throw new RangeError(`hardwareFigures: hqat has hardware figures for march "bayes" only, not "${march}"`);
}

/**
 * Int models for the tests: a calibrated MobileNetV2 (through the real pipeline), a small
 * hand-built model that uses every integer op, and a one-convolution model wide enough to be tiled.
 * @module
 */

import {
  convertFx,
  type IntModel,
  type IntNode,
  prepareQatFx,
  qatStateFromFloat,
  setFakeQuantize,
} from "@hqat/fx";
import { March, setMarch } from "@hqat/march-bayes";
import { forward, initState, mobilenetV2 } from "@hqat/nn";
import {
  default_calib_8bit_fake_quant_qconfig as c8,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig as c32,
  FakeQuantState,
} from "@hqat/qtensor";
import { randomKey, randomUniform } from "@hqat/tensor";

let mobilenet: IntModel | undefined;

/**
 * The quick start's MobileNetV2 (10 classes, QuantStub scale 1/128) calibrated on two random
 * batches and converted (built once per process).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mobileNetV2IntModel } from "./models_test_util.ts";
 * assert(mobileNetV2IntModel().nodes.at(-1)!.kind.op === "dequantize");
 * ```
 */
export function mobileNetV2IntModel(): IntModel {
  if (mobilenet) return mobilenet;
  setMarch(March.BAYES);
  const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
  const calib = prepareQatFx(float, { "": c8, moduleName: { classifier: c32 } });
  let s = qatStateFromFloat(calib, initState(float, randomKey(0)));
  const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
  for (let i = 0; i < 2; i++) {
    s = forward(cm, s, randomUniform(randomKey(10 + i), [8, 3, 32, 32], { min: -1, max: 1 })).state;
  }
  mobilenet = convertFx(setFakeQuantize(calib, FakeQuantState.VALIDATION), s);
  return mobilenet;
}

/** A small deterministic generator (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = IntNode["kind"];

/** Builds nodes one by one from their kinds, shapes and scales. */
class Builder {
  readonly nodes: IntNode[] = [];
  constructor(private readonly rand: () => number) {}
  node(
    name: string,
    inputs: string[],
    kind: Kind,
    shape: number[],
    dtype: IntNode["dtype"],
    scale: number | Float32Array,
  ) {
    const s = typeof scale === "number" ? Float32Array.of(scale) : scale;
    this.nodes.push({ name, inputs, kind, shape, dtype, scale: s });
    return name;
  }
  weights(n: number, amp = 40): Int8Array {
    return Int8Array.from({ length: n }, () => Math.round((this.rand() * 2 - 1) * amp));
  }
  biases(n: number, amp = 200): Int32Array {
    return Int32Array.from({ length: n }, () => Math.round((this.rand() * 2 - 1) * amp));
  }
  scales(n: number, base: number): Float32Array {
    return Float32Array.from({ length: n }, () => base * (0.5 + this.rand()));
  }
  conv(
    name: string,
    input: string,
    o: {
      cin: number;
      cout: number;
      k: number;
      s?: number;
      p?: number;
      d?: number;
      g?: number;
      hw: [number, number];
    },
    out: { dtype: "qint8" | "qint16"; scale: number } | { dtype: "qint32" },
    act?: "relu" | "relu6",
    batch = 1,
  ) {
    const [s, p, d, g] = [o.s ?? 1, o.p ?? 0, o.d ?? 1, o.g ?? 1];
    const oh = Math.floor((o.hw[0] + 2 * p - d * (o.k - 1) - 1) / s) + 1;
    const ow = Math.floor((o.hw[1] + 2 * p - d * (o.k - 1) - 1) / s) + 1;
    const weightScale = this.scales(o.cout, 0.01);
    const sx = this.nodes.find((n) => n.name === input)!.scale[0];
    const scale = out.dtype === "qint32"
      ? Float32Array.from(weightScale, (w) => Math.fround(sx * w))
      : out.scale;
    return this.node(
      name,
      [input],
      {
        op: "conv2d",
        weight: this.weights(o.cout * (o.cin / g) * o.k * o.k),
        weightShape: [o.cout, o.cin / g, o.k, o.k],
        weightScale,
        bias: this.biases(o.cout),
        stride: [s, s],
        padding: [p, p],
        dilation: [d, d],
        groups: g,
        output: out,
        act,
      },
      [batch, o.cout, oh, ow],
      out.dtype,
      scale,
    );
  }
}

const model = (nodes: IntNode[]): IntModel => ({
  format: "hqat-int-model",
  version: 1,
  march: "bayes",
  nodes,
});

/**
 * A hand-built model over a `[1, 3, 8, 8]` input using every integer node kind: quantize, conv2d
 * (ReLU6, depthwise, dilated, qint16 output and input), standalone ReLU and ReLU6, a residual add,
 * max and average pooling, cat, identity, adaptive average pooling, flatten, a linear layer with a
 * 32-bit output and ReLU, and dequantize. Weights, biases and scales come from `seed`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { tinyIntModel } from "./models_test_util.ts";
 * assert(tinyIntModel(1).nodes.length === 18);
 * ```
 */
export function tinyIntModel(seed: number, options: { scale?: number } = {}): IntModel {
  const b = new Builder(prng(seed));
  const r = prng(seed + 1000);
  const sc = (base: number) => base * (0.6 + 0.8 * r());
  const inScale = options.scale ?? 1 / 128;
  b.node("x", [], { op: "input" }, [1, 3, 8, 8], "float32", 1);
  b.node("quant", ["x"], { op: "quantize", scale: inScale, dtype: "qint8" }, [1, 3, 8, 8], "qint8", inScale);
  const s1 = sc(0.04);
  b.conv("c1", "quant", { cin: 3, cout: 8, k: 3, p: 1, hw: [8, 8] }, { dtype: "qint8", scale: s1 }, "relu6");
  const s2 = sc(0.05);
  b.conv("c2", "c1", { cin: 8, cout: 8, k: 3, p: 1, g: 8, hw: [8, 8] }, { dtype: "qint8", scale: s2 });
  b.node("r1", ["c2"], { op: "relu" }, [1, 8, 8, 8], "qint8", s2);
  const s3 = sc(0.05);
  b.conv("c3", "r1", { cin: 8, cout: 8, k: 1, hw: [8, 8] }, { dtype: "qint8", scale: s3 });
  const sa = sc(0.06);
  b.node("a1", ["c1", "c3"], { op: "add", output: { dtype: "qint8", scale: sa } }, [1, 8, 8, 8], "qint8", sa);
  b.node("r2", ["a1"], { op: "relu6" }, [1, 8, 8, 8], "qint8", sa);
  b.node(
    "mp",
    ["r2"],
    { op: "max_pool2d", kernel: [2, 2], stride: [2, 2], padding: [0, 0] },
    [1, 8, 4, 4],
    "qint8",
    sa,
  );
  const sp = sc(0.03);
  b.node(
    "ap",
    ["r2"],
    {
      op: "avg_pool2d",
      kernel: [3, 3],
      stride: [2, 2],
      padding: [1, 1],
      output: { dtype: "qint8", scale: sp },
    },
    [1, 8, 4, 4],
    "qint8",
    sp,
  );
  const sc1 = sc(0.05);
  b.node(
    "cat",
    ["mp", "ap"],
    { op: "cat", axis: 1, output: { dtype: "qint8", scale: sc1 } },
    [1, 16, 4, 4],
    "qint8",
    sc1,
  );
  b.node("id", ["cat"], { op: "identity" }, [1, 16, 4, 4], "qint8", sc1);
  const s4 = sc(0.0004);
  b.conv("c4", "id", { cin: 16, cout: 4, k: 3, p: 2, d: 2, hw: [4, 4] }, { dtype: "qint16", scale: s4 });
  const s5 = sc(0.05);
  b.conv("c5", "c4", { cin: 4, cout: 8, k: 1, hw: [4, 4] }, { dtype: "qint8", scale: s5 }, "relu");
  const sg = sc(0.03);
  b.node(
    "gap",
    ["c5"],
    { op: "adaptive_avg_pool2d", outputSize: [1, 1], output: { dtype: "qint8", scale: sg } },
    [1, 8, 1, 1],
    "qint8",
    sg,
  );
  b.node("flat", ["gap"], { op: "flatten", startDim: 1 }, [1, 8], "qint8", sg);
  const ws = b.scales(5, 0.01);
  b.node(
    "fc",
    ["flat"],
    {
      op: "linear",
      weight: b.weights(40),
      weightShape: [5, 8],
      weightScale: ws,
      bias: b.biases(5),
      output: { dtype: "qint32" },
      act: "relu",
    },
    [1, 5],
    "qint32",
    Float32Array.from(ws, (w) => Math.fround(Math.fround(sg) * w)),
  );
  b.node("dq", ["fc"], { op: "dequantize" }, [1, 5], "float32", 1);
  return model(b.nodes);
}

/**
 * One convolution over a wide image (`[1, 4, h, h]` → 16 channels, 3×3): large enough that O3
 * tiles it against the 1 MiB feature memory.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { wideConvIntModel } from "./models_test_util.ts";
 * assert(wideConvIntModel(128).nodes[2].shape.join() === "1,16,128,128");
 * ```
 */
export function wideConvIntModel(h: number): IntModel {
  const b = new Builder(prng(7));
  b.node("x", [], { op: "input" }, [1, 4, h, h], "float32", 1);
  b.node("quant", ["x"], { op: "quantize", scale: 1 / 128, dtype: "qint8" }, [1, 4, h, h], "qint8", 1 / 128);
  b.conv(
    "conv",
    "quant",
    { cin: 4, cout: 16, k: 3, p: 1, hw: [h, h] },
    { dtype: "qint8", scale: 0.02 },
    "relu",
  );
  b.node("dq", ["conv"], { op: "dequantize" }, [1, 16, h, h], "float32", 1);
  return model(b.nodes);
}

/**
 * A float32 input of `shape` with values in [-1, 1) from `seed`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { randomInput } from "./models_test_util.ts";
 * assert(randomInput([2, 3], 0).length === 6);
 * ```
 */
export function randomInput(shape: readonly number[], seed: number): Float32Array {
  const r = prng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
}

/**
 * Programs for the tests: a small model that uses every instruction kind of the built-in networks, one
 * with every kind of imported networks, a wider one with a 32-bit
 * per-channel path into a cat, and a one-convolution model large enough for O3 to tile.
 * @module
 */

import type { Program } from "@hqat/program";
import { hardSwish, sigmoid, tanh, type Tensor, tensor } from "@hqat/tensor";
import { prng, ProgramBuilder } from "./build.ts";

export { prng, randomInput } from "./build.ts";

/**
 * A model over a `[1, 3, 8, 8]` input using every kind: quantize, conv2d (ReLU6, depthwise, dilated,
 * qint16 output and input), standalone ReLU and ReLU6, a residual add, max and average pooling, cat,
 * identity, global average pooling, flatten, a linear layer with a 32-bit output and ReLU, dequantize
 * (17 instructions). Weights, biases and scales come from `seed`.
 */
export function tinyIntModel(seed: number, options: { scale?: number } = {}): Program {
  const b = new ProgramBuilder(prng(seed), [1, 3, 8, 8]);
  const r = prng(seed + 1000);
  const sc = (base: number) => base * (0.6 + 0.8 * r());
  const q = b.quantize("quant", options.scale ?? 1 / 128);
  const c1 = b.conv("c1", q, { cout: 8, k: 3, p: 1 }, { dtype: "qint8", scale: sc(0.04) }, "relu6");
  const c2 = b.conv("c2", c1, { cout: 8, k: 3, p: 1, g: 8 }, { dtype: "qint8", scale: sc(0.05) });
  const r1 = b.activation("r1", c2, "relu");
  const c3 = b.conv("c3", r1, { cout: 8, k: 1 }, { dtype: "qint8", scale: sc(0.05) });
  const a1 = b.add("a1", c1, c3, { dtype: "qint8", scale: sc(0.06) });
  const r2 = b.activation("r2", a1, "relu6");
  const mp = b.maxPool("mp", r2, { kernel: [2, 2], stride: [2, 2], padding: [0, 0] });
  const ap = b.avgPool("ap", r2, { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }, { dtype: "qint8", scale: sc(0.03) });
  const cat = b.cat("cat", [mp, ap], 1, { dtype: "qint8", scale: sc(0.05) });
  const id = b.move("id", cat, [1, 16, 4, 4]);
  const c4 = b.conv("c4", id, { cout: 4, k: 3, p: 2, d: 2 }, { dtype: "qint16", scale: sc(0.0004) });
  const c5 = b.conv("c5", c4, { cout: 8, k: 1 }, { dtype: "qint8", scale: sc(0.05) }, "relu");
  const gap = b.globalAvgPool("gap", c5, { dtype: "qint8", scale: sc(0.03) });
  const flat = b.move("flat", gap, [1, 8]);
  const fc = b.linear("fc", flat, { cout: 5 }, { dtype: "qint32" }, "relu");
  b.dequantize("dq", fc);
  return b.build();
}

/**
 * A wider model over `[1, 3, 8, 8]`: `tinyIntModel`'s kinds plus a convolution with a 32-bit
 * per-channel output, a ReLU6 on it, and a cat of per-tensor and per-channel inputs.
 */
export function everyOpModel(seed: number): Program {
  const r = prng(seed);
  const b = new ProgramBuilder(r, [1, 3, 8, 8]);
  const sc = (base: number) => Math.fround(base * (0.6 + 0.8 * r()));
  const q = b.quantize("quant", 1 / 128);
  const c1 = b.conv("c1", q, { cout: 8, k: 3, p: 1 }, { dtype: "qint8", scale: sc(0.04) }, "relu6");
  const c2 = b.conv("c2", c1, { cout: 8, k: 3, p: 1, g: 8 }, { dtype: "qint8", scale: sc(0.05) });
  const r1 = b.activation("r1", c2, "relu");
  const c3 = b.conv("c3", r1, { cout: 8, k: 1 }, { dtype: "qint8", scale: sc(0.05) });
  const a1 = b.add("a1", c1, c3, { dtype: "qint8", scale: sc(0.06) });
  const r2 = b.activation("r2", a1, "relu6");
  const mp = b.maxPool("mp", r2, { kernel: [2, 2], stride: [2, 2], padding: [0, 0] });
  const ap = b.avgPool("ap", r2, { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }, { dtype: "qint8", scale: sc(0.03) });
  const c32 = b.conv("c32", ap, { cout: 4, k: 1 }, { dtype: "qint32" });
  const r32 = b.activation("r32", c32, "relu6");
  const cat = b.cat("cat", [mp, ap, r32], 1, { dtype: "qint8", scale: sc(0.05) });
  const id = b.move("id", cat, [1, 20, 4, 4]);
  const c4 = b.conv("c4", id, { cout: 4, k: 3, p: 2, d: 2 }, { dtype: "qint16", scale: sc(0.0004) });
  const c5 = b.conv("c5", c4, { cout: 8, k: 1 }, { dtype: "qint8", scale: sc(0.05) }, "relu");
  const gap = b.globalAvgPool("gap", c5, { dtype: "qint8", scale: sc(0.03) });
  const flat = b.move("flat", gap, [1, 8]);
  const fc = b.linear("fc", flat, { cout: 5 }, { dtype: "qint32" }, "relu");
  b.dequantize("dq", fc);
  return b.build();
}

/**
 * One convolution over a wide image (`[1, 4, h, h]` → 16 channels, 3×3, ReLU): large enough that O3
 * tiles it against the 1 MiB feature memory.
 */
export function wideConvIntModel(h: number): Program {
  const b = new ProgramBuilder(prng(7), [1, 4, h, h]);
  const q = b.quantize("quant", 1 / 128);
  const conv = b.conv("conv", q, { cout: 16, k: 3, p: 1 }, { dtype: "qint8", scale: 0.02 }, "relu");
  b.dequantize("dq", conv);
  return b.build();
}

const f = (g: (x: Tensor) => Tensor) => (x: Float32Array) => g(tensor(Array.from(x))).data as Float32Array;

/**
 * A model over `[1, 4, 8, 8]` with every kind of imported networks once (U-Net-like up path, SE gate,
 * channel shuffle, classifier head): quant → … → dequant.
 */
export function everyKindModel(): Program {
  const r = prng(7);
  const b = new ProgramBuilder(r, [1, 4, 8, 8]);
  const q = b.quantize("quant", 1 / 64);
  const t = b.lut("hswish", q, f(hardSwish), "hardswish", { dtype: "qint8", scale: 1 / 40 });
  const g = b.move("groups", t, [1, 2, 2, 8, 8]);
  const sh = b.transpose("shuffle", g, [0, 2, 1, 3, 4]);
  const m = b.move("merge", sh, [1, 4, 8, 8]);
  const mp = b.maxPool("pool", m, { kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true });
  const ap = b.avgPool(
    "avg",
    mp,
    { kernel: [2, 2], stride: [1, 1], padding: [1, 1], countIncludePad: false },
    {
      dtype: "qint8",
      scale: 1 / 40,
    },
  );
  const se = b.mean("se.pool", ap, [2, 3], true, { dtype: "qint8", scale: 1 / 50 });
  const gate = b.lut("se.gate", se, f(sigmoid), "sigmoid", { dtype: "qint8", scale: 1 / 128 });
  const x = b.mul("se.mul", ap, gate, { dtype: "qint8", scale: 1 / 60 });
  const up = b.convTranspose("up", x, { cout: 4, k: 2, s: 2 }, { dtype: "qint8", scale: 1 / 30 }, "relu");
  const near = b.resize("near", x, [12, 12], {
    mode: "nearest",
    coordinateTransformation: "asymmetric",
    nearestMode: "floor",
  });
  const lin = b.resize("lin", near, [12, 12], { mode: "linear", coordinateTransformation: "half_pixel" }, {
    dtype: "qint8",
    scale: 1 / 60,
  });
  const crop = b.slice("crop", lin, [0, 0, 0, 0], [1, 4, 12, 12], [1, 1, 1, 1]);
  const pad = b.pad("pad", up, [[0, 0], [0, 0], [0, 0], [0, 0]], "edge");
  const cat = b.cat("cat", [pad, crop], 1, { dtype: "qint8", scale: 1 / 30 });
  const c = b.constant(
    "bias",
    Int8Array.from({ length: 8 }, () => Math.round(r() * 100)),
    [8, 1, 1],
    1 / 100,
  );
  const s = b.sub("sub", cat, c, { dtype: "qint8", scale: 1 / 30 });
  const th = b.lut("tanh", s, f(tanh), "tanh", { dtype: "qint8", scale: 1 / 127 });
  const flat = b.move("flat", th, [1, 8, 144]);
  const gram = b.matmul("gram", flat, b.transpose("flat.t", flat, [0, 2, 1]), {
    dtype: "qint16",
    scale: 1 / 300,
  });
  const avg = b.mean("head", gram, [2], false, { dtype: "qint8", scale: 1 / 20 });
  const prob = b.softmax("softmax", avg, 1, { dtype: "qint8", scale: 1 / 128 });
  b.dequantize("dequant", prob);
  return b.build("every_kind");
}

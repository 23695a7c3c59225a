/**
 * Random valid integer models for property tests: a chain of convolutions (any kernel, stride,
 * padding, dilation, groups, qint8 or qint16 output, fused activation), standalone activations, max
 * and average pooling and residual adds over a random `[1, C, H, W]` input, ending in a global
 * average pooling, a linear layer and the dequantization. The structure, the weights and the scales
 * all come from `seed`; every model is one BAYES supports.
 * @module
 */

import type { Program } from "@hqat/program";
import { prng, ProgramBuilder } from "../../program/testdata/build.ts";

type Pick = <T>(xs: readonly T[]) => T;

/** Adds one random layer after buffer `x` and returns the buffer it writes. */
function layer(b: ProgramBuilder, x: number, name: string, pick: Pick, scale: (v: number) => number): number {
  const [, c, h] = b.buffers[x].shape;
  const int8 = b.buffers[x].dtype === "qint8";
  const kind = pick(["conv", "conv", "conv", "dw", "act", "max", "avg", "res"] as const);
  const act = pick(["relu", "relu6", undefined] as const);
  if (kind === "act") return b.activation(name, x, act ?? "relu");
  if (kind === "max" && int8 && h >= 2) {
    return b.maxPool(name, x, { kernel: [2, 2], stride: [2, 2], padding: [0, 0] });
  }
  if (kind === "avg" && int8 && h >= 3) {
    const s = pick([1, 2]);
    return b.avgPool(name, x, { kernel: [3, 3], stride: [s, s], padding: [1, 1] }, {
      dtype: "qint8",
      scale: scale(0.03),
    });
  }
  if (kind === "res" && int8) {
    const y = b.conv(`${name}_c`, x, { cout: c, k: 3, p: 1 }, { dtype: "qint8", scale: scale(0.05) });
    return b.add(name, x, y, { dtype: "qint8", scale: scale(0.06) }, act);
  }
  const k = pick([1, 3, 3, 5].filter((v) => v <= h + 2));
  const d = k > 1 && h >= 2 * k ? pick([1, 2]) : 1;
  const s = d > 1 ? 1 : pick([1, 1, 2]); // BAYES dilates only at stride 1
  const p = pick([0, 1, Math.floor(k / 2)]);
  const cout = kind === "dw" ? c : pick([1, 2, 4, 8]);
  const dtype = pick(["qint8", "qint8", "qint16"] as const);
  const out = { dtype, scale: scale(dtype === "qint8" ? 0.05 : 0.0004) };
  return b.conv(name, x, { cout, k, s, p, d, g: kind === "dw" ? c : 1 }, out, act);
}

/** A random valid integer model (see the module description); the same `seed` gives the same model. */
export function randomIntModel(seed: number): Program {
  const r = prng(seed);
  const pick: Pick = (xs) => xs[Math.floor(r() * xs.length)];
  const scale = (base: number) => Math.fround(base * (0.5 + r()));
  const c0 = pick([1, 2, 3, 4]), h0 = pick([5, 6, 7, 8, 9, 12]);
  const b = new ProgramBuilder(prng(seed + 1), [1, c0, h0, h0]);
  let x = b.quantize("quant", pick([1 / 128, 1 / 64, 0.02]), pick(["qint8", "qint8", "qint16"] as const));
  const layers = 2 + Math.floor(r() * 5);
  for (let l = 0; l < layers; l++) {
    const mark = [b.buffers.length, b.instructions.length];
    try {
      const y = layer(b, x, `l${l}`, pick, scale);
      if (!b.buffers[y].shape.every((d) => d >= 1)) throw new RangeError("an empty output");
      x = y;
    } catch {
      // A draw whose geometry does not fit (an empty output, a multiplier out of range) is dropped.
      b.buffers.length = mark[0];
      b.instructions.length = mark[1];
    }
  }
  if (b.buffers[x].dtype !== "qint8") {
    x = b.conv("to8", x, { cout: b.buffers[x].shape[1], k: 1 }, { dtype: "qint8", scale: scale(0.05) });
  }
  const gap = b.globalAvgPool("gap", x, { dtype: "qint8", scale: scale(0.03) });
  const flat = b.move("flat", gap, [1, b.buffers[gap].shape[1]]);
  const head = pick([{ dtype: "qint32" as const }, { dtype: "qint8" as const, scale: scale(0.1) }]);
  const fc = b.linear("fc", flat, { cout: pick([2, 5, 10]) }, head);
  b.dequantize("dq", fc);
  return b.build(`random${seed}`);
}

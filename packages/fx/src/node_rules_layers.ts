/**
 * The node kinds with weights beyond `conv2d` and `linear`: the transposed convolution.
 * @module
 */
import { convTransposeScales, quantize, quantizeBias } from "@hqat/qtensor";
import { add, convTranspose2d, convTransposeFake, reshape, transpose } from "@hqat/tensor";
import { grid } from "./node_rule_util.ts";
import type { NodeRule, RuleKind } from "./node_rule.ts";

const geometry = (k: RuleKind<"conv_transpose2d">) => ({
  stride: k.stride,
  padding: k.padding,
  outputPadding: k.outputPadding,
  dilation: k.dilation,
  groups: k.groups,
});

/** The rules of `conv_transpose2d`. */
export const LAYER_RULES: { readonly [K in "conv_transpose2d"]: NodeRule<K> } = {
  conv_transpose2d: {
    scale: () => "own",
    // [Cin, Cout/g, kh, kw] = [g, Cin/g, Cout/g, kh, kw] → [g, Cout/g, Cin/g, kh, kw] = [Cout, Cin/g, kh, kw].
    weight: {
      module: (k) => k.module,
      channels: (_k, n) => n.shape[1],
      toChannels: (k, w) => {
        const [cin, cog, kh, kw] = w.shape, g = k.groups;
        const v = transpose(reshape(w, [g, cin / g, cog, kh, kw]), [0, 2, 1, 3, 4]);
        return reshape(v, [g * cog, cin / g, kh, kw]);
      },
      fromChannels: (k, v, [cin, cog, kh, kw]) => {
        const g = k.groups;
        return reshape(transpose(reshape(v, [g, cog, cin / g, kh, kw]), [0, 2, 1, 3, 4]), [cin, cog, kh, kw]);
      },
    },
    float: (k, [x], p) => {
      const y = convTranspose2d(x, p.weight(p.get(`${k.module}.weight`)), geometry(k));
      return k.bias ? add(y, reshape(p.get(`${k.module}.bias`), [1, -1, 1, 1])) : y;
    },
    twin: (k, [x], c) => {
      const i = c.input(0), o = c.output(), sw = c.weightScale();
      if (!i || !o || !sw) return undefined;
      const bias = k.bias ? c.param(`${k.module}.bias`) : undefined;
      return convTransposeFake(x, c.param(`${k.module}.weight`), bias, {
        sx: i.scale,
        dtypeIn: i.dtype,
        sw: Array.from(sw),
        output: { dtype: o.dtype, scale: o.scale },
        ...geometry(k),
      });
    },
    convert: (k, _n, c) => {
      const x = c.input(0), o = c.output(), sx = c.buffer(x).scale[0];
      const w = c.param(`${k.module}.weight`), sw = c.weightScale();
      const [cin, cog, kh, kw] = w.shape;
      const rows = convTransposeScales(sw, cin, k.groups);
      const weight = quantize(w.data, rows, {
        dtype: "qint8",
        axis: 0,
        shape: [cin * cog, kh * kw],
      }) as Int8Array;
      const bias = k.bias ? quantizeBias(c.param(`${k.module}.bias`).data, sx, sw) : undefined;
      c.emit(
        {
          op: "conv_transpose2d",
          inputs: [x],
          weight,
          weightShape: [cin, cog, kh, kw],
          weightScale: sw,
          ...(bias ? { bias } : {}),
          ...geometry(k),
        },
        grid(o),
        [{ kind: "requant", ...c.requant(Float64Array.from(sw, (s) => sx * s), 1, o) }],
      );
    },
  },
};

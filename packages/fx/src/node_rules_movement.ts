/**
 * The node kinds that move values: padding, resizing, transposes, slices and concatenation.
 * @module
 */
import { quantize } from "@hqat/qtensor";
import {
  concat,
  padMode,
  requantFake,
  resize,
  resizeFake,
  slice,
  type Tensor,
  transpose,
} from "@hqat/tensor";
import { grid, sameGrid } from "./node_rule_util.ts";
import type { Grid, NodeRule, RuleKind } from "./node_rule.ts";

const fullBatch = (k: RuleKind<"slice">, x: Tensor) => ({
  starts: [0, ...k.starts.slice(1)],
  ends: [x.shape[0], ...k.ends.slice(1)],
  steps: [1, ...k.steps.slice(1)],
});

/** The rules of `pad`, `resize`, `transpose`, `slice`, `cat`. */
export const MOVEMENT_RULES: {
  readonly [K in "pad" | "resize" | "transpose" | "slice" | "cat"]: NodeRule<K>;
} = {
  pad: {
    scale: () => "keep",
    float: (k, [x]) => padMode(x, k.pads, { mode: k.mode, value: k.value }),
    // A constant fill lands on the input's grid, as the integer model's does; copies of cells are exact.
    twin: (k, [x], c) => {
      const i = c.input(0);
      if (!i || k.mode !== "constant") return undefined;
      const value = quantize([k.value], [i.scale], { dtype: i.dtype })[0] * i.scale;
      return padMode(x, k.pads, { mode: "constant", value });
    },
    convert: (k, _n, c) => {
      const x = c.input(0), b = c.buffer(x);
      const value = quantize([k.value], b.scale, { dtype: b.dtype as Grid["dtype"] })[0];
      c.emit({ op: "pad", inputs: [x], pads: k.pads, mode: k.mode, value }, sameGrid(c, x));
    },
  },
  resize: {
    scale: (k) => (k.attrs.mode === "nearest" ? "keep" : "own"),
    float: (k, [x]) => resize(x, { ...k.attrs, scales: k.attrs.scales ?? undefined }),
    twin: (k, [x], c) => {
      const i = c.input(0), o = c.output();
      if (k.attrs.mode === "nearest" || !i || !o) return undefined;
      return resizeFake(x, {
        ...k.attrs,
        scaleIn: i.scale,
        dtypeIn: i.dtype,
        outScale: o.scale,
        dtype: o.dtype,
      });
    },
    convert: (k, n, c) => {
      const x = c.input(0), a = k.attrs;
      const draft = {
        op: "resize" as const,
        inputs: [x],
        size: [a.size[0], a.size[1]] as const,
        mode: a.mode,
        coordinateTransformation: a.coordinateTransformation,
        nearestMode: a.nearestMode,
        ...(a.scales ? { scales: [a.scales[0], a.scales[1]] as const } : {}),
      };
      if (n.shape.length !== 4) c.fail(`Node "${n.name}": resize needs an [N, C, H, W] value`);
      if (a.mode === "nearest") return c.emit(draft, sameGrid(c, x));
      const o = c.output();
      c.emit(draft, grid(o), [{ kind: "requant", ...c.requant([c.buffer(x).scale[0]], 65536, o) }]);
    },
  },
  transpose: {
    scale: () => "keep",
    float: (k, [x]) => transpose(x, k.perm),
    convert: (k, _n, c) => {
      const x = c.input(0);
      c.emit({ op: "transpose", inputs: [x], perm: k.perm }, sameGrid(c, x));
    },
  },
  slice: {
    scale: () => "keep",
    float: (k, [x]) => {
      const r = fullBatch(k, x);
      return slice(x, r.starts, r.ends, { steps: r.steps });
    },
    convert: (k, _n, c) => {
      const x = c.input(0);
      const r = fullBatch(k, { shape: c.buffer(x).shape } as Tensor);
      c.emit({ op: "slice", inputs: [x], ...r }, sameGrid(c, x));
    },
  },
  cat: {
    scale: () => "own",
    float: (k, ins) => concat([...ins], k.axis),
    // Each input requantized to the output's grid, as the integer cat does.
    twin: (k, ins, c) => {
      const o = c.output(), grids = ins.map((_, i) => c.input(i));
      if (!o || grids.some((g) => !g)) return undefined;
      const parts = ins.map((x, i) =>
        requantFake(x, {
          scaleIn: grids[i]!.scale,
          dtypeIn: grids[i]!.dtype,
          outScale: o.scale,
          dtype: o.dtype,
        })
      );
      return concat(parts, k.axis);
    },
    convert: (k, n, c) => {
      const ins = n.inputs.map((_, i) => c.input(i)), o = c.output();
      const requants = ins.map((b) => c.requant(c.buffer(b).scale, 1, o));
      const rank = n.shape.length, axis = k.axis < 0 ? k.axis + rank : k.axis;
      c.emit({ op: "cat", inputs: ins, axis, requants }, grid(o));
    },
  },
};

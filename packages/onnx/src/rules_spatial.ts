/**
 * Rules of the spatial operators: MaxPool and AveragePool (pads, ceil mode, count_include_pad) and
 * GlobalAveragePool as `@hqat/nn` pooling modules, ReduceMean (a global average pool where it is one),
 * Resize and Upsample (nearest and linear, with PyTorch's coordinate modes), and Pad (constant, edge,
 * reflect; negative pads crop).
 * @module
 */
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  ConstantPad2d,
  MaxPool2d,
  ReflectionPad2d,
  ReplicationPad2d,
} from "@hqat/nn";
import { mean, pad, padMode, reshape, resize, type Tensor } from "@hqat/tensor";
import { splitPads, window2d, windowOutputs } from "./geometry.ts";
import { axisOf, type ValueInfo } from "./known.ts";
import type { NodeView } from "./node_view.ts";
import { type Builder, intsFor, moduleStep, type OpRule, type Step, unaryStep } from "./rule.ts";
import { floatIn } from "./rules_elementwise.ts";
import { knownInts } from "./rules_shape.ts";

function image(n: NodeView, ins: readonly (ValueInfo | undefined)[]): ValueInfo {
  const x = floatIn(n, ins);
  if (x.shape.length !== 4) {
    throw n.error(`only 2-D pooling of [N,C,H,W] is supported; input is [${x.shape.join(",")}]`);
  }
  return x;
}

function poolWindow(n: NodeView, hw: readonly number[]) {
  const w = window2d(n, hw);
  if (!n.ints("kernel_shape")) throw n.error("needs kernel_shape");
  if (w.dilation[0] !== 1 || w.dilation[1] !== 1) throw n.error("dilated pooling is not supported");
  return w;
}

function pool(kind: "max" | "avg"): OpRule {
  return {
    infer(n, ins) {
      const x = image(n, ins);
      const out = windowOutputs(n, x.shape.slice(2), poolWindow(n, x.shape.slice(2)));
      return [{ kind: "float", shape: [x.shape[0], x.shape[1], ...out] }];
    },
    build(b): Step {
      const n = b.node;
      const w = poolWindow(n, b.shape(0).slice(2));
      const countPad = n.int("count_include_pad", 0) === 1;
      const { symmetric, extra } = splitPads(w);
      const asymmetric = extra.some(([p, q]) => p || q);
      if (asymmetric && (w.ceil || (kind === "avg" && !countPad))) {
        throw n.error(
          "asymmetric pads are supported without ceil mode, and for average pooling only with count_include_pad",
        );
      }
      const options = { stride: w.stride, padding: symmetric, ceilMode: w.ceil, countIncludePad: countPad };
      const { path, module } = b.stateless(
        kind === "max" ? new MaxPool2d(w.kernel, options) : new AvgPool2d(w.kernel, options),
      );
      if (!asymmetric) return moduleStep(path, module);
      const pads = [[0, 0], [0, 0], ...extra] as const;
      const fill = kind === "max" ? -Infinity : 0;
      return { reads: [0], run: ([x], rt) => [rt.s.call(path, module, pad(x, pads, fill))] };
    },
  };
}

const globalAveragePool: OpRule = {
  infer(n, ins) {
    const x = image(n, ins);
    return [{ kind: "float", shape: [x.shape[0], x.shape[1], 1, 1] }];
  },
  build: (b) => {
    const { path, module } = b.stateless(new AdaptiveAvgPool2d(1));
    return moduleStep(path, module);
  },
};

function reduceAxes(n: NodeView, rank: number, given: readonly number[] | undefined): number[] {
  if (!given || given.length === 0) {
    return n.opset >= 18 && n.int("noop_with_empty_axes", 0) ? [] : Array.from({ length: rank }, (_, i) => i);
  }
  return [...new Set(given.map((a) => axisOf(a, rank)))].sort((p, q) => p - q);
}

const reduceMean: OpRule = {
  known: [1],
  infer(n, ins) {
    const x = floatIn(n, ins);
    const given = n.opset < 18 ? n.ints("axes") : ins[1] ? knownInts(n, ins, 1, "axes") : undefined;
    let axes: number[];
    try {
      axes = reduceAxes(n, x.shape.length, given);
    } catch (e) {
      throw n.error((e as Error).message);
    }
    const keep = n.int("keepdims", 1) === 1;
    const shape = keep
      ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !axes.includes(i));
    return [{ kind: "float", shape }];
  },
  build(b): Step {
    const n = b.node, rank = b.shape(0).length;
    const axes = reduceAxes(
      n,
      rank,
      n.opset < 18 ? n.ints("axes") : b.has(1) ? b.fixedInts(1, "axes") : undefined,
    );
    const keepDims = n.int("keepdims", 1) === 1;
    if (!axes.length) return unaryStep((x) => x);
    if (rank === 4 && axes.join() === "2,3") {
      // The mean over height and width is a global average pool (which quantization knows).
      const { path, module } = b.stateless(new AdaptiveAvgPool2d(1));
      return {
        reads: [0],
        run: ([x], rt) => {
          const y = rt.s.call(path, module, x);
          return [keepDims ? y : reshape(y, [y.shape[0], y.shape[1]])];
        },
      };
    }
    return unaryStep((x) => mean(x, { axes, keepDims }));
  },
};

type Coordinates = "half_pixel" | "pytorch_half_pixel" | "align_corners" | "asymmetric";
type Rounding = "round_prefer_floor" | "round_prefer_ceil" | "floor" | "ceil";

/** Resize's output size and options from its attributes and known scales or sizes. */
interface ResizePlan {
  size: [number, number];
  scales?: [number, number];
  mode: "nearest" | "linear";
  coordinates: Coordinates;
  rounding: Rounding;
}

function resizePlan(
  n: NodeView,
  x: ValueInfo,
  scales: readonly number[] | undefined,
  sizes: readonly number[] | undefined,
): ResizePlan {
  const upsample = n.opType === "Upsample" || n.opset < 11;
  const mode = n.oneOf("mode", "nearest", ["nearest", "linear", "bilinear"]) === "nearest"
    ? "nearest"
    : "linear";
  const coordinates = upsample
    ? "asymmetric"
    : n.oneOf<Coordinates>("coordinate_transformation_mode", "half_pixel", [
      "half_pixel",
      "pytorch_half_pixel",
      "align_corners",
      "asymmetric",
    ]);
  const rounding = upsample ? "floor" : n.oneOf<Rounding>("nearest_mode", "round_prefer_floor", [
    "round_prefer_floor",
    "round_prefer_ceil",
    "floor",
    "ceil",
  ]);
  if (
    n.int("antialias", 0) || n.has("axes") || n.string("keep_aspect_ratio_policy", "stretch") !== "stretch"
  ) {
    throw n.error("antialias, axes and keep_aspect_ratio_policy are not supported", "type");
  }
  const [h, w] = [x.shape[2], x.shape[3]];
  if (sizes && sizes.length) {
    if (sizes.length !== 4 || sizes[1] !== x.shape[1]) {
      throw n.error(`sizes [${sizes.join(",")}] must keep N and C`);
    }
    return { size: [sizes[2], sizes[3]], mode, coordinates, rounding };
  }
  if (
    !scales || scales.length !== 4 || scales[0] !== 1 || scales[1] !== 1 || !(scales[2] > 0 && scales[3] > 0)
  ) {
    throw n.error(`scales [${scales?.join(",") ?? ""}] must be [1, 1, sh, sw] with positive sh, sw`);
  }
  const size: [number, number] = [Math.floor(h * scales[2]), Math.floor(w * scales[3])];
  if (size[0] < 1 || size[1] < 1 || size[0] * size[1] > 1 << 26) {
    throw n.error(`output ${size.join("×")} is absurd`);
  }
  return { size, scales: [scales[2], scales[3]], mode, coordinates, rounding };
}

/** Scales and sizes of a Resize (opset ≥ 11: inputs 2, 3; opset 10 and Upsample-9: input 1; Upsample-7: attribute). */
function resizeInputs(
  n: NodeView,
  ins: readonly (ValueInfo | undefined)[],
): [number[] | undefined, number[] | undefined] {
  if (n.opType === "Upsample" && n.opset < 9) return [n.floats("scales")?.slice(), undefined];
  if (n.opType === "Upsample" || n.opset < 11) return [knownFloats(n, ins[1], "scales"), undefined];
  const sizes = ins[3] ? knownInts(n, ins, 3, "sizes") : undefined;
  return [ins[2] && ins[2].shape[0] !== 0 ? knownFloats(n, ins[2], "scales") : undefined, sizes];
}

function knownFloats(n: NodeView, v: ValueInfo | undefined, what: string): number[] {
  if (!v?.value) throw n.error(`its ${what} must be known when the model loads`);
  return Array.from(v.value);
}

function resizeRule(): OpRule {
  return {
    known: [1, 2, 3],
    infer(n, ins) {
      const x = image(n, ins);
      const [scales, sizes] = resizeInputs(n, ins);
      const p = resizePlan(n, x, scales, sizes);
      return [{ kind: "float", shape: [x.shape[0], x.shape[1], ...p.size] }];
    },
    build(b: Builder): Step {
      const n = b.node;
      const ins = b.node.node.inputs.map((_, i) => (b.has(i) ? info(b, i) : undefined));
      const [scales, sizes] = resizeInputs(n, ins);
      const p = resizePlan(n, info(b, 0), scales, sizes);
      return unaryStep((x: Tensor) =>
        resize(x, {
          size: p.size,
          mode: p.mode,
          coordinateTransformation: p.coordinates,
          nearestMode: p.rounding,
          scales: p.scales,
        })
      );
    },
  };
}

/** A builder's input as a load-time value (batch-dependent integers, like Resize's N, taken for one image). */
function info(b: Builder, i: number): ValueInfo {
  const shape = b.shape(i);
  if (!b.isKnown(i)) return { kind: b.kind(i), shape };
  return b.kind(i) === "float"
    ? { kind: "float", shape, value: b.floats(i, "values") }
    : { kind: b.kind(i), shape, value: Float64Array.from(intsFor(b.ints(i, "values"), 1)) };
}

/** Pad's pads as [before, after] per axis, mode and value. */
function padPlan(n: NodeView, rank: number, pads: readonly number[], value: number) {
  const mode = n.oneOf("mode", "constant", ["constant", "edge", "reflect"]);
  if (pads.length !== 2 * rank) throw n.error(`pads [${pads.join(",")}] must have ${2 * rank} values`);
  const pairs = Array.from({ length: rank }, (_, i) => [pads[i], pads[i + rank]] as [number, number]);
  return { mode, pairs, value };
}

const padRule: OpRule = {
  known: [1, 2, 3],
  infer(n, ins) {
    const x = floatIn(n, ins);
    const pads = n.opset < 11 ? [...n.ints("pads", [])] : knownInts(n, ins, 1, "pads");
    if (n.opset >= 18 && ins[3]) throw n.error("the axes input is not supported", "type");
    const { pairs, mode } = padPlan(n, x.shape.length, pads, 0);
    const shape = x.shape.map((d, i) => d + pairs[i][0] + pairs[i][1]);
    if (shape.some((d) => d < 0)) {
      throw n.error(`pads [${pads.join(",")}] crop more than [${x.shape.join(",")}] holds`);
    }
    if (mode === "reflect" && pairs.some(([p, q], i) => p >= x.shape[i] || q >= x.shape[i])) {
      throw n.error("reflect pads must be smaller than the axis");
    }
    return [{ kind: "float", shape }];
  },
  build(b) {
    const n = b.node;
    const pads = n.opset < 11 ? [...n.ints("pads", [])] : b.fixedInts(1, "pads");
    const value = n.opset < 11 ? n.float("value", 0) : b.has(2) ? b.floats(2, "constant_value")[0] : 0;
    const p = padPlan(n, b.shape(0).length, pads, value);
    if (p.pairs.every(([a, c]) => a === 0 && c === 0)) return unaryStep((x) => x);
    const [[n0, n1], [c0, c1], [t, bt], [l, r]] = p.pairs.length === 4
      ? p.pairs
      : [[1, 1], [1, 1], [0, 0], [0, 0]];
    if (n0 === 0 && n1 === 0 && c0 === 0 && c1 === 0) {
      // Spatial padding as one layer, which tracing records whole.
      const pads = [l, r, t, bt] as const;
      const layer = p.mode === "edge"
        ? new ReplicationPad2d(pads)
        : p.mode === "reflect"
        ? new ReflectionPad2d(pads)
        : new ConstantPad2d(pads, p.value);
      const { path, module } = b.stateless(layer);
      return moduleStep(path, module);
    }
    const slices = p.mode !== "constant" || p.pairs.some(([a, c]) => a < 0 || c < 0);
    return {
      ...unaryStep((x) => padMode(x, p.pairs, { mode: p.mode, value: p.value })),
      untraceable: slices
        ? "its edge, reflect or cropping pads of the batch or channel axes are not traced"
        : undefined,
    };
  },
};

/** The spatial rules by operator name. */
export const SPATIAL_RULES = {
  MaxPool: pool("max"),
  AveragePool: pool("avg"),
  GlobalAveragePool: globalAveragePool,
  ReduceMean: reduceMean,
  Resize: resizeRule(),
  Upsample: resizeRule(),
  Pad: padRule,
} as const satisfies Record<string, OpRule>;

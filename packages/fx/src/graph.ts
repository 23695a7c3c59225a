/**
 * The graph IR: a list of typed nodes in topological order. Every node names its inputs by node
 * name and carries its output shape and dtype; op-specific fields are typed per op (no string-keyed
 * side channels). Passes never mutate a graph: they return a new one, which {@linkcode verifyGraph}
 * checks.
 * @module
 */
import type { ActivationName, ActivationParams } from "@hqat/nn";
import type { OpAttrs, OpName, PadMode, ResizeAttrs } from "@hqat/tensor";

/** Element types in graphs: float, or quantized integers. */
export type GraphDType = "float32" | "qint8" | "qint16" | "qint32" | "int32" | "uint8";

/** A pair of per-axis sizes. */
export type Pair = readonly [number, number];

/** Batch-norm parameters referenced by module name (state `${module}.weight` …). */
export interface BnRef {
  /** Module name of the BatchNorm2d. */
  module: string;
  /** Epsilon. */
  eps: number;
  /** Running-statistics momentum. */
  momentum: number;
}

/** Node kinds and their typed fields. */
export type NodeOp =
  | { op: "input"; index: number }
  | { op: "output" }
  | { op: "quant_stub"; module: string; scale?: number }
  | { op: "dequant_stub"; module: string }
  | {
    op: "conv2d";
    module: string;
    stride: Pair;
    padding: Pair;
    dilation: Pair;
    groups: number;
    bias: boolean;
    paddingMode: string;
    /** Fused batch norm (after the fuse pass). */
    bn?: BnRef;
    /** Fused residual add of the node's second input (after the fuse pass). */
    add?: boolean;
    /** Fused activation (after the fuse pass). */
    act?: "relu" | "relu6";
  }
  | { op: "batch_norm"; module: string; eps: number; momentum: number }
  | { op: "linear"; module: string; bias: boolean; act?: "relu" | "relu6" }
  | { op: "relu"; module?: string }
  | { op: "relu6"; module?: string }
  | { op: "dropout"; module?: string; p: number }
  | { op: "identity"; module?: string }
  | { op: "add"; act?: "relu" | "relu6" }
  | { op: "cat"; axis: number }
  | {
    op: "max_pool2d" | "avg_pool2d";
    module?: string;
    kernel: Pair;
    stride: Pair;
    padding: Pair;
    ceilMode: boolean;
    countIncludePad: boolean;
  }
  | { op: "adaptive_avg_pool2d"; module?: string; outputSize: Pair }
  | { op: "flatten"; module?: string; startDim: number }
  | { op: "reshape"; shape: readonly number[] }
  | { op: "constant"; value: readonly number[]; shape: readonly number[] }
  /** A table-lookup activation (sigmoid, hard-swish …; see `node_rules.ts` for these kinds). */
  | { op: "activation"; fn: ActivationName; params: ActivationParams; module?: string }
  /** Elementwise product, the second operand broadcast to the first. */
  | { op: "mul" }
  /** Padding (`pads` per axis, the batch axis [0, 0]; negative crops), filled as `mode` says. */
  | { op: "pad"; pads: readonly (readonly [number, number])[]; mode: PadMode; value: number; module?: string }
  /** Nearest or linear resizing of the spatial axes. */
  | { op: "resize"; attrs: ResizeAttrs }
  /** A permutation of the axes (the batch axis stays first). */
  | { op: "transpose"; perm: readonly number[] }
  /** A strided slice of every axis but the batch axis (`starts`/`ends`/`steps` per axis, [0] unused). */
  | { op: "slice"; starts: readonly number[]; ends: readonly number[]; steps: readonly number[] }
  /** A transposed convolution layer (state `<module>.weight` [Cin, Cout/groups, kh, kw], `<module>.bias`). */
  | {
    op: "conv_transpose2d";
    module: string;
    stride: Pair;
    padding: Pair;
    outputPadding: Pair;
    dilation: Pair;
    groups: number;
    bias: boolean;
  }
  /** Softmax along `axis` (never the batch axis). */
  | { op: "softmax"; axis: number; module?: string }
  /** Matrix product of two computed values (`[..., m, k] × [..., k, n]`). */
  | { op: "matmul" }
  /** Product with a scalar constant. */
  | { op: "scale"; factor: number }
  /** Elementwise difference, the second operand broadcast to the first. */
  | { op: "sub" }
  /** Mean over `axes` (never the batch axis). */
  | { op: "mean"; axes: readonly number[]; keepDims: boolean }
  /** Any other primitive op, kept as is (the target check reports it). */
  | { op: "prim"; prim: OpName; attrs: OpAttrs[OpName] };

/** The op names of {@linkcode NodeOp}. */
export type NodeOpName = NodeOp["op"];

/** One node. */
export interface GraphNode {
  /** Unique name (module path for module calls, generated otherwise). */
  readonly name: string;
  /** What it computes. */
  readonly kind: NodeOp;
  /** Names of the input nodes, in order. */
  readonly inputs: readonly string[];
  /** Output shape (with the traced batch size). */
  readonly shape: readonly number[];
  /** Output element type. */
  readonly dtype: GraphDType;
  /** The module whose forward produced the node (its own path for module calls; "" at the top). */
  readonly owner?: string;
}

/** A graph: nodes in topological order, ending with the output node. */
export interface Graph {
  /** The nodes. */
  readonly nodes: readonly GraphNode[];
}

/**
 * Index of nodes by name.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { nodeMap } from "@hqat/fx";
 * const g = { nodes: [{ name: "x", kind: { op: "input" as const, index: 0 }, inputs: [], shape: [1], dtype: "float32" as const }] };
 * assert(nodeMap(g).get("x")?.kind.op === "input");
 * ```
 */
export function nodeMap(g: Graph): Map<string, GraphNode> {
  return new Map(g.nodes.map((n) => [n.name, n]));
}

/**
 * For each node, the names of the nodes that use it.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { usersOf } from "@hqat/fx";
 * const n = (name: string, inputs: string[]) => ({ name, kind: { op: "relu" as const }, inputs, shape: [1], dtype: "float32" as const });
 * assert(usersOf({ nodes: [n("a", []), n("b", ["a"]), n("c", ["a"])] }).get("a")?.join() === "b,c");
 * ```
 */
export function usersOf(g: Graph): Map<string, string[]> {
  const users = new Map<string, string[]>(g.nodes.map((n) => [n.name, []]));
  for (const n of g.nodes) for (const i of n.inputs) users.get(i)?.push(n.name);
  return users;
}

/**
 * A layered drawing of a directed acyclic graph (Sugiyama style): longest-path layering, dummy
 * points on edges that span several layers, barycenter sweeps that reduce edge crossings, and
 * coordinates that never let two boxes overlap.
 * @module
 */

/**
 * A node to place: its id and box size.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { LayoutNode } from "@hqat/hbdk";
 * const n: LayoutNode = { id: "conv", width: 160, height: 60 };
 * assert(n.width > 0);
 * ```
 */
export interface LayoutNode {
  /** The node id. */
  readonly id: string;
  /** The box width. */
  readonly width: number;
  /** The box height. */
  readonly height: number;
}

/**
 * A placed box: top-left corner, size, layer (0 at the top) and position in its layer.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { LayoutBox } from "@hqat/hbdk";
 * const b: LayoutBox = { id: "a", x: 0, y: 0, width: 10, height: 10, layer: 0, order: 0 };
 * assert(b.layer === 0);
 * ```
 */
export interface LayoutBox extends LayoutNode {
  /** The left edge. */
  readonly x: number;
  /** The top edge. */
  readonly y: number;
  /** The layer, 0 at the top. */
  readonly layer: number;
  /** The position in its layer, from the left. */
  readonly order: number;
}

/**
 * A routed edge: from the bottom center of its source through its dummy points to the top center
 * of its target.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { LayoutEdge } from "@hqat/hbdk";
 * const e: LayoutEdge = { from: "a", to: "b", points: [[5, 10], [5, 40]] };
 * assert(e.points.length === 2);
 * ```
 */
export interface LayoutEdge {
  /** The source node id. */
  readonly from: string;
  /** The target node id. */
  readonly to: string;
  /** The route as `[x, y]` points, from source to target. */
  readonly points: readonly (readonly [number, number])[];
}

/**
 * The drawing: boxes, edges, its size, and the edge crossings left between adjacent layers.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { GraphLayout } from "@hqat/hbdk";
 * const g: GraphLayout = { boxes: [], edges: [], width: 0, height: 0, crossings: 0 };
 * assert(g.crossings === 0);
 * ```
 */
export interface GraphLayout {
  /** The placed boxes. */
  readonly boxes: readonly LayoutBox[];
  /** The routed edges. */
  readonly edges: readonly LayoutEdge[];
  /** The drawing width. */
  readonly width: number;
  /** The drawing height. */
  readonly height: number;
  /** The edge crossings left between adjacent layers. */
  readonly crossings: number;
}

interface Item {
  node?: LayoutNode;
  layer: number;
  up: Item[];
  down: Item[];
  pos: number;
  x: number;
}

/** Crossings between two adjacent layers, counted over every pair of segments. */
function crossingsBetween(upper: readonly Item[]): number {
  const segments = upper.flatMap((u) => u.down.map((d) => [u.pos, d.pos] as const));
  let count = 0;
  for (let i = 0; i < segments.length; i++) {
    for (let j = i + 1; j < segments.length; j++) {
      const [a, b] = segments[i], [c, d] = segments[j];
      if ((a - c) * (b - d) < 0) count++;
    }
  }
  return count;
}

function totalCrossings(layers: readonly Item[][]): number {
  return layers.slice(0, -1).reduce((s, l) => s + crossingsBetween(l), 0);
}

function sweep(layers: Item[][], downward: boolean): void {
  const range = downward ? layers.keys() : [...layers.keys()].reverse();
  for (const l of range) {
    const layer = layers[l];
    const bary = new Map(layer.map((it) => {
      const ns = downward ? it.up : it.down;
      return [it, ns.length ? ns.reduce((s, n) => s + n.pos, 0) / ns.length : it.pos] as const;
    }));
    layer.sort((a, b) => bary.get(a)! - bary.get(b)! || a.pos - b.pos);
    layer.forEach((it, i) => (it.pos = i));
  }
}

/**
 * Lays out `nodes` (in topological order) joined by `edges` (each from an earlier node to a later
 * one): layer of a node = 1 + the largest layer of its sources (longest path); an edge spanning
 * several layers gets a dummy point in each layer it passes; eight rounds of barycenter sweeps
 * (down, then up) order each layer, keeping the order with the fewest crossings; each box is placed
 * at the mean x of its sources when there is room, never closer than `nodeGap` to its left
 * neighbour, and layers are `layerGap` apart, so no two boxes overlap. Throws a `RangeError` for an
 * edge that points backwards or names an unknown node.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { layoutGraph } from "@hqat/hbdk";
 * const box = (id: string) => ({ id, width: 40, height: 20 });
 * const g = layoutGraph([box("a"), box("b"), box("c")], [{ from: "a", to: "b" }, { from: "b", to: "c" }, { from: "a", to: "c" }]);
 * const y = Object.fromEntries(g.boxes.map((b) => [b.id, b.layer]));
 * assert(y.a === 0 && y.b === 1 && y.c === 2 && g.crossings === 0);
 * ```
 */
export function layoutGraph(
  nodes: readonly LayoutNode[],
  edges: readonly { readonly from: string; readonly to: string }[],
  options: { readonly layerGap?: number; readonly nodeGap?: number; readonly margin?: number } = {},
): GraphLayout {
  const layerGap = options.layerGap ?? 36, nodeGap = options.nodeGap ?? 24, margin = options.margin ?? 16;
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const items: Item[] = nodes.map((node) => ({ node, layer: 0, up: [], down: [], pos: 0, x: 0 }));
  for (const e of edges) {
    const [a, b] = [index.get(e.from), index.get(e.to)];
    if (a === undefined || b === undefined || a >= b) {
      throw new RangeError(`layoutGraph: edge ${e.from} → ${e.to} names an unknown node or points backwards`);
    }
  }
  const byTarget = new Map<number, number[]>();
  for (const e of edges) {
    byTarget.set(index.get(e.to)!, [...(byTarget.get(index.get(e.to)!) ?? []), index.get(e.from)!]);
  }
  items.forEach((
    it,
    i,
  ) => (it.layer = Math.max(0, ...(byTarget.get(i) ?? []).map((s) => items[s].layer + 1))));
  const depth = Math.max(0, ...items.map((it) => it.layer)) + 1;
  const layers: Item[][] = Array.from({ length: depth }, () => []);
  for (const it of items) layers[it.layer].push(it);
  const chains = edges.map((e) => {
    const a = items[index.get(e.from)!], b = items[index.get(e.to)!];
    const chain = [a];
    for (let l = a.layer + 1; l < b.layer; l++) {
      const dummy: Item = { layer: l, up: [], down: [], pos: 0, x: 0 };
      layers[l].push(dummy);
      chain.push(dummy);
    }
    chain.push(b);
    for (let k = 0; k + 1 < chain.length; k++) {
      chain[k].down.push(chain[k + 1]);
      chain[k + 1].up.push(chain[k]);
    }
    return { e, chain };
  });
  layers.forEach((l) => l.forEach((it, i) => (it.pos = i)));
  let best = layers.map((l) => [...l]), bestCount = totalCrossings(layers);
  for (let round = 0; round < 8 && bestCount > 0; round++) {
    sweep(layers, round % 2 === 0);
    const count = totalCrossings(layers);
    if (count < bestCount) {
      bestCount = count;
      best = layers.map((l) => [...l]);
    }
  }
  best.forEach((l) => l.forEach((it, i) => (it.pos = i)));
  const widthOf = (it: Item) => it.node?.width ?? 0;
  const heights = best.map((l) => Math.max(0, ...l.map((it) => it.node?.height ?? 0)));
  const tops: number[] = [];
  let y = margin;
  for (const h of heights) {
    tops.push(y);
    y += h + layerGap;
  }
  for (const l of best) {
    let right = -Infinity;
    for (const it of l) {
      const want = it.up.length
        ? it.up.reduce((s, u) => s + u.x, 0) / it.up.length
        : right + nodeGap + widthOf(it) / 2;
      const left = right === -Infinity ? -Infinity : right + nodeGap + widthOf(it) / 2;
      it.x = Math.max(Number.isFinite(want) ? want : 0, left);
      right = it.x + widthOf(it) / 2;
    }
  }
  const minX = Math.min(...items.map((it) => it.x - widthOf(it) / 2), ...best.flat().map((it) => it.x));
  for (const it of best.flat()) it.x += margin - minX;
  const boxes: LayoutBox[] = items.map((it) => ({
    ...it.node!,
    x: it.x - it.node!.width / 2,
    y: tops[it.layer],
    layer: it.layer,
    order: it.pos,
  }));
  const routed: LayoutEdge[] = chains.map(({ e, chain }) => {
    const points: [number, number][] = [[chain[0].x, tops[chain[0].layer] + chain[0].node!.height]];
    for (const d of chain.slice(1, -1)) {
      points.push([d.x, tops[d.layer]], [d.x, tops[d.layer] + heights[d.layer]]);
    }
    const last = chain[chain.length - 1];
    points.push([last.x, tops[last.layer]]);
    return { from: e.from, to: e.to, points };
  });
  const width = Math.max(0, ...best.flat().map((it) => it.x + widthOf(it) / 2)) + margin;
  return { boxes, edges: routed, width, height: y - layerGap + margin, crossings: bestCount };
}

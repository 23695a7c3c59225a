import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { type GraphLayout, layoutGraph } from "@hqat/hbdk";

/** A random DAG: node i may read any earlier node. */
const dag = fc.integer({ min: 1, max: 30 }).chain((n) =>
  fc.tuple(
    fc.array(fc.record({ w: fc.integer({ min: 20, max: 200 }), h: fc.integer({ min: 10, max: 80 }) }), {
      minLength: n,
      maxLength: n,
    }),
    fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 3 * n }),
  ).map(([sizes, pairs]) => {
    const nodes = sizes.map((s, i) => ({ id: `n${i}`, width: s.w, height: s.h }));
    const edges = [
      ...new Set(
        pairs.filter(([a, b]) => a % n !== b % n).map(([a, b]) => {
          const [x, y] = [Math.min(a % n, b % n), Math.max(a % n, b % n)];
          return `${x},${y}`;
        }),
      ),
    ].map((k) => k.split(",").map(Number)).map(([a, b]) => ({ from: `n${a}`, to: `n${b}` }));
    return { nodes, edges };
  })
);

function boxesOverlap(g: GraphLayout): string | undefined {
  for (let i = 0; i < g.boxes.length; i++) {
    for (let j = i + 1; j < g.boxes.length; j++) {
      const a = g.boxes[i], b = g.boxes[j];
      if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) {
        return `${a.id} ${b.id}`;
      }
    }
  }
  return undefined;
}

Deno.test("layoutGraph() never overlaps boxes, layers by longest path, and routes every edge downward", () => {
  fc.assert(
    fc.property(dag, ({ nodes, edges }) => {
      const g = layoutGraph(nodes, edges);
      assertEquals(boxesOverlap(g), undefined);
      const box = new Map(g.boxes.map((b) => [b.id, b]));
      for (const b of g.boxes) {
        const ins = edges.filter((e) => e.to === b.id).map((e) => box.get(e.from)!.layer);
        assertEquals(b.layer, ins.length ? Math.max(...ins) + 1 : 0);
        assert(b.x >= 0 && b.y >= 0 && b.x + b.width <= g.width && b.y + b.height <= g.height);
      }
      for (const e of g.edges) {
        const [from, to] = [box.get(e.from)!, box.get(e.to)!];
        assertEquals(e.points[0], [from.x + from.width / 2, from.y + from.height]);
        assertEquals(e.points.at(-1), [to.x + to.width / 2, to.y]);
        for (let k = 1; k < e.points.length; k++) assert(e.points[k][1] >= e.points[k - 1][1]);
        // Between its ends an edge runs only through the gaps between layers or its dummy slots, never through a box.
        for (const [x, y] of e.points.slice(1, -1)) {
          assert(!g.boxes.some((b) => x > b.x && x < b.x + b.width && y > b.y && y < b.y + b.height));
        }
      }
    }),
    { seed: 42, numRuns: 150 },
  );
});

Deno.test("layoutGraph() orders layers to remove crossings that the input order has", () => {
  // a and b feed d and c crosswise: in input order (c before d) the two edges cross.
  const box = (id: string) => ({ id, width: 50, height: 20 });
  const g = layoutGraph([box("a"), box("b"), box("c"), box("d")], [{ from: "a", to: "d" }, {
    from: "b",
    to: "c",
  }]);
  assertEquals(g.crossings, 0);
  const order = new Map(g.boxes.map((b) => [b.id, b.x]));
  assertEquals(order.get("a")! < order.get("b")!, order.get("d")! < order.get("c")!);
  assertThrows(
    () => layoutGraph([box("a"), box("b")], [{ from: "b", to: "a" }]),
    RangeError,
    "points backwards",
  );
});

import { assert, assertEquals, assertLessOrEqual } from "@std/assert";
import fc from "fast-check";
import { type ConvGeometry, inputRows, searchTiles } from "@hqat/hbdk";

const geometry = fc.record({
  n: fc.integer({ min: 1, max: 8 }),
  c: fc.integer({ min: 1, max: 64 }),
  o: fc.integer({ min: 1, max: 64 }),
  h: fc.integer({ min: 1, max: 96 }),
  k: fc.integer({ min: 1, max: 5 }),
  s: fc.integer({ min: 1, max: 2 }),
  d: fc.integer({ min: 1, max: 2 }),
}).filter((g) => g.h + 2 * Math.floor(g.k / 2) >= g.d * (g.k - 1) + 1).map((g): ConvGeometry => {
  const p = Math.floor(g.k / 2);
  const oh = Math.floor((g.h + 2 * p - g.d * (g.k - 1) - 1) / g.s) + 1;
  return {
    input: [g.n, g.c, g.h, g.h],
    inputDtype: "qint8",
    output: [g.n, g.o, oh, oh],
    outputDtype: "qint8",
    kernel: [g.k, g.k],
    stride: [g.s, g.s],
    dilation: [g.d, g.d],
    padding: [p, p],
    weightBytes: g.o * g.c * g.k * g.k + 8 * g.o,
  };
});

Deno.test("inputRows() counts the image rows inside the input window of a band of output rows", () => {
  fc.assert(
    fc.property(geometry, fc.nat(), fc.nat(), (g, a, b) => {
      const oh = g.output[2];
      const r0 = a % oh, r1 = r0 + 1 + (b % (oh - r0));
      // The band's window runs from the first tap of row r0 to the last tap of row r1 - 1; the rows
      // of it inside the image are loaded (those a dilation skips included).
      const taps = [];
      for (let r = r0; r < r1; r++) {
        for (let k = 0; k < g.kernel[0]; k++) taps.push(r * g.stride[0] - g.padding[0] + k * g.dilation[0]);
      }
      let span = 0;
      for (let y = Math.min(...taps); y <= Math.max(...taps); y++) if (y >= 0 && y < g.input[2]) span++;
      assertEquals(inputRows(g, { from: r0, to: r1 }), span);
    }),
    { seed: 42, numRuns: 300 },
  );
});

Deno.test("searchTiles() picks the feasible tiling that moves the fewest DDR bytes", () => {
  fc.assert(
    fc.property(geometry, fc.integer({ min: 1 << 12, max: 1 << 21 }), (g, sram) => {
      const t = searchTiles(g, { sramBytes: sram });
      const oh = g.output[2];
      assertEquals(t.tiles, Math.ceil(oh / t.tileRows));
      if (t.workingSetBytes > sram) {
        assertEquals(t.tileRows, 1, "infeasible layers fall back to one row per tile");
        return;
      }
      if (t.tiles === 1) assertEquals(t.ddrBytes, 0);
      // No other feasible tile height moves fewer bytes (the documented working set and cost).
      const [n, c, , w] = g.input, [, o, , ow] = g.output;
      for (let rows = 1; rows <= oh; rows++) {
        let ws = 0, loads = 0;
        for (let r0 = 0; r0 < oh; r0 += rows) {
          const r1 = Math.min(oh, r0 + rows);
          ws = Math.max(
            ws,
            n * c * inputRows(g, { from: 0, to: r1 - r0 }) * w + n * o * (r1 - r0) * ow * 5 + g.weightBytes,
          );
          loads += n * c * inputRows(g, { from: r0, to: r1 }) * w;
        }
        if (ws > sram) continue;
        const cost = rows >= oh ? 0 : loads + n * o * oh * ow;
        assert(cost >= t.ddrBytes, `${rows} rows per tile move ${cost} < ${t.ddrBytes} bytes`);
      }
      const bigger = searchTiles(g, { sramBytes: sram * 2 });
      assertLessOrEqual(bigger.ddrBytes, t.ddrBytes);
    }),
    { seed: 42, numRuns: 200 },
  );
});

import { assert, assertEquals, assertLessOrEqual } from "@std/assert";
import fc from "fast-check";
import { planMemory } from "@hqat/hbdk";
import { ARENA_ALIGNMENT, type Lifetime, lifetimes, overlaps } from "@hqat/program";

const buffers = fc.array(
  fc.record({
    size: fc.integer({ min: 1, max: 5000 }),
    def: fc.integer({ min: 0, max: 30 }),
    len: fc.integer({ min: 0, max: 10 }),
  }),
  { minLength: 1, maxLength: 40 },
);

Deno.test("planMemory() never lets two buffers that are live at once share bytes, at any level", () => {
  fc.assert(
    fc.property(buffers, fc.constantFrom("O0", "O1", "O2", "O3" as const), (bs, opt) => {
      const life: Lifetime[] = bs.map((b) => ({ def: b.def, lastUse: b.def + b.len }));
      const sizes = bs.map((b) => b.size);
      const { offsets, arenaBytes } = planMemory(sizes, life, { opt });
      for (let i = 0; i < bs.length; i++) {
        assertEquals(offsets[i] % ARENA_ALIGNMENT, 0);
        assertLessOrEqual(offsets[i] + sizes[i], arenaBytes);
        for (let j = i + 1; j < bs.length; j++) {
          if (!overlaps(life[i], life[j])) continue;
          assert(
            offsets[i] + sizes[i] <= offsets[j] || offsets[j] + sizes[j] <= offsets[i],
            `${i} and ${j} overlap`,
          );
        }
      }
    }),
    { seed: 42, numRuns: 300 },
  );
});

Deno.test("planMemory() from O2 reuses space: the arena never exceeds O1's and reaches the peak of live bytes for a chain", () => {
  fc.assert(
    fc.property(buffers, (bs) => {
      const life = bs.map((b) => ({ def: b.def, lastUse: b.def + b.len }));
      const sizes = bs.map((b) => b.size);
      assertLessOrEqual(
        planMemory(sizes, life, { opt: "O2" }).arenaBytes,
        planMemory(sizes, life, { opt: "O1" }).arenaBytes,
      );
    }),
    { seed: 42, numRuns: 300 },
  );
  // A chain a → b → c → d: two buffers are live at a time.
  const chain = [0, 1, 2, 3].map((i) => ({ def: i, lastUse: i + 1 }));
  assertEquals(planMemory([640, 640, 640, 640], chain, { opt: "O2" }).arenaBytes, 1280);
  assertEquals(planMemory([640, 640, 640, 640], chain, { opt: "O1" }).arenaBytes, 2560);
});

Deno.test("lifetimes() spans from the writer to the last reader, epilogue addends included", () => {
  const l = lifetimes([
    { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [], scale: 1 },
    { op: "move", name: "a", inputs: [0], output: 1, epilogue: [] },
    {
      op: "move",
      name: "b",
      inputs: [1],
      output: 2,
      epilogue: [{ kind: "add", addend: 0, shiftAddend: true, k: 1, t: 1 }],
    },
    { op: "dequantize", name: "d", inputs: [2], output: 3, epilogue: [] },
  ], { bufferCount: 4, live: [3] });
  assertEquals(l, [{ def: 0, lastUse: 2 }, { def: 1, lastUse: 2 }, { def: 2, lastUse: 3 }, {
    def: 3,
    lastUse: 4,
  }]);
});

import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { gatherFrames, padIndex, sliceIndex, transposeIndex } from "@hqat/qtensor";

const shape = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });

/** The coordinates of row-major element `j` of `shape`. */
function coords(j: number, s: readonly number[]): number[] {
  const c = new Array<number>(s.length);
  for (let a = s.length - 1; a >= 0; a--) {
    c[a] = j % s[a];
    j = Math.floor(j / s[a]);
  }
  return c;
}
const offset = (c: readonly number[], s: readonly number[]) => c.reduce((o, v, a) => o * s[a] + v, 0);

Deno.test("transposeIndex() reads input coordinate c[perm⁻¹] for output coordinate c", () => {
  fc.assert(
    fc.property(shape, fc.integer(), (s, seed) => {
      const perm = s.map((_, i) => i).sort((a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13));
      const t = transposeIndex(s, perm);
      assertEquals(t.shape, perm.map((p) => s[p]));
      for (let j = 0; j < t.index.length; j++) {
        const c = coords(j, t.shape), src = new Array<number>(s.length);
        perm.forEach((p, i) => (src[p] = c[i]));
        assertEquals(t.index[j], offset(src, s));
      }
    }),
    { seed: 21, numRuns: 150 },
  );
  assertThrows(() => transposeIndex([2, 3], [0, 0]), RangeError, "not a permutation");
});

Deno.test("sliceIndex() reads starts + c · steps on every axis, negative steps included", () => {
  fc.assert(
    fc.property(
      shape,
      fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: -3, max: 3 })), { minLength: 4 }),
      (s, r) => {
        const spec = { starts: [] as number[], ends: [] as number[], steps: [] as number[] };
        s.forEach((d, a) => {
          const step = r[a][2] === 0 ? 1 : r[a][2];
          const b = r[a][0] % d;
          spec.steps.push(step);
          spec.starts.push(step > 0 ? b : d - 1 - b);
          spec.ends.push(step > 0 ? b + 1 + (r[a][1] % (d - b)) : -1 + (r[a][1] % (d - b)));
        });
        const out = sliceIndex(s, spec);
        out.shape.forEach((d, a) =>
          assertEquals(d, Math.ceil((spec.ends[a] - spec.starts[a]) / spec.steps[a]))
        );
        for (let j = 0; j < out.index.length; j++) {
          const c = coords(j, out.shape).map((v, a) => spec.starts[a] + v * spec.steps[a]);
          assertEquals(out.index[j], offset(c, s));
        }
      },
    ),
    { seed: 22, numRuns: 150 },
  );
  assertThrows(() => sliceIndex([3], { starts: [0], ends: [4], steps: [1] }), RangeError, "out of range");
  assertThrows(() => sliceIndex([3], { starts: [0], ends: [2], steps: [0] }), RangeError);
});

Deno.test("padIndex() fills, repeats or mirrors past the cropped axis as ONNX Pad does", () => {
  fc.assert(
    fc.property(
      shape,
      fc.array(fc.tuple(fc.integer({ min: -2, max: 3 }), fc.integer({ min: -2, max: 3 })), { minLength: 4 }),
      fc.constantFrom("constant" as const, "edge" as const, "reflect" as const),
      (s, p, mode) => {
        const pads = s.map((d, a) => {
          // Crop at most what leaves one cell; reflect pads below the kept length.
          const lo = Math.max(p[a][0], -(d - 1)), hi = Math.max(p[a][1], -(d - 1 - Math.max(0, -lo)));
          const kept = d - Math.max(0, -lo) - Math.max(0, -hi);
          return (mode === "reflect" ? [Math.min(lo, kept - 1), Math.min(hi, kept - 1)] : [lo, hi]) as [
            number,
            number,
          ];
        });
        const out = padIndex(s, pads, mode);
        for (let j = 0; j < out.index.length; j++) {
          const c = coords(j, out.shape);
          let fill = false;
          const src = c.map((v, a) => {
            const crop = Math.max(0, -pads[a][0]), kept = s[a] - crop - Math.max(0, -pads[a][1]);
            let q = v - Math.max(0, pads[a][0]);
            if (q < 0 || q >= kept) {
              if (mode === "constant") fill = true;
              q = mode === "edge" ? Math.min(Math.max(q, 0), kept - 1) : q < 0 ? -q : 2 * kept - 2 - q;
            }
            return q + crop;
          });
          assertEquals(out.index[j], fill ? -1 : offset(src, s));
        }
      },
    ),
    { seed: 23, numRuns: 200 },
  );
  assertThrows(() => padIndex([3], [[3, 0]], "reflect"), RangeError, "below its length");
  assertThrows(() => padIndex([3], [[-2, -1]], "constant"), RangeError, "crops all");
});

Deno.test("gatherFrames() applies the map to every frame, or to one shared frame", () => {
  const x = Int16Array.of(-32768, 5, 32767, 7);
  assertEquals(
    gatherFrames(x, { frames: 2, inFrame: 2, index: Int32Array.of(1, 0, -1), fill: -3 }),
    Int16Array.of(5, -32768, -3, 7, 32767, -3),
  );
  assertEquals(
    gatherFrames(Int8Array.of(4, 5), { frames: 3, inFrame: 0, index: Int32Array.of(1) }),
    Int8Array.of(5, 5, 5),
  );
  assertThrows(() => gatherFrames(x, { frames: 2, inFrame: 2, index: Int32Array.of(2) }), RangeError);
  assertThrows(() => gatherFrames(x, { frames: 3, inFrame: 2, index: Int32Array.of(0) }), RangeError);
});

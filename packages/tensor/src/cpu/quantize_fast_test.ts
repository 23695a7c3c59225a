import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { quantize } from "@hqat/qtensor";
import { quantizeFast } from "./quantize_fast.ts";
import { conv2dForward } from "./conv2d.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";

type Dtype = "qint8" | "qint16";

/** Scales at the edges: subnormal, tiny, powers of two (exact ties), awkward fractions, near the float32 top. */
const EDGE_SCALES = [2 ** -149, 2 ** -126, 1e-30, 1 / 128, 1 / 3, 0.1, 1, 1.5, 255, 2 ** 100, 3.4e38];

const scaleArb = fc.oneof(
  fc.constantFrom(...EDGE_SCALES),
  fc.integer({ min: -140, max: 120 }).map((e) => 2 ** e),
  fc.float({ min: Math.fround(2 ** -149), max: Math.fround(3.4e38), noNaN: true, noDefaultInfinity: true }),
);

/** A value for scale `s`: any float32, ties k + 1/2 (exact for a power-of-two scale), range edges, ±0, subnormals. */
function valueArb(s: number): fc.Arbitrary<number> {
  const near = (v: number) => Math.fround(v * s);
  return fc.oneof(
    fc.float({ noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min: -40000, max: 40000 }).map((k) => near(k + 0.5)),
    fc.constantFrom(-128.5, -128, -127.5, 126.5, 127, 127.5, 128, -32768.5, -32767.5, 32766.5, 32767.5, 32768)
      .map(near),
    fc.constantFrom(0, -0, 2 ** -149, -(2 ** -149), 2 ** -127, 3.4e38, -3.4e38, 0.5, -0.5, 1.5, -2.5),
    fc.integer({ min: -0x7fffff, max: 0x7fffff }).map((m) => m * 2 ** -149),
    fc.double({ min: -1e6, max: 1e6, noNaN: true }).map(near),
  );
}

function check(x: Float32Array, s: number, dtype: Dtype): void {
  const want = quantize(x, s, { dtype });
  const got = quantizeFast(x, s, { dtype });
  assertEquals(got.constructor, want.constructor);
  for (let i = 0; i < x.length; i++) {
    if (got[i] !== want[i]) {
      throw new Error(
        `value ${x[i]} (index ${i}) with scale ${s} (${dtype}): ${got[i]}, the reference ${want[i]}`,
      );
    }
  }
}

const caseArb = scaleArb.chain((s) =>
  fc.record({
    s: fc.constant(s),
    values: fc.array(valueArb(s), { maxLength: 70 }),
    dtype: fc.constantFrom<Dtype>("qint8", "qint16"),
  })
);

Deno.test("quantizeFast equals quantize() of @hqat/qtensor bit for bit on edge values and scales", () => {
  fc.assert(
    fc.property(caseArb, ({ s, values, dtype }) => check(Float32Array.from(values), s, dtype)),
    { numRuns: 1500 },
  );
});

Deno.test("quantizeFast splits large inputs across two threads and still equals the reference", async () => {
  const before = getKernelThreads();
  setKernelThreads(2);
  try {
    conv2dForward(new Float32Array(1), [1, 1, 1, 1], new Float32Array(1), [1, 1, 1, 1], {
      stride: [1, 1],
      padding: [0, 0],
      dilation: [1, 1],
      groups: 1,
    });
    for (let i = 0; i < 500 && readyThreads() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assertEquals(readyThreads(), 2, "the kernel worker should start");
    fc.assert(
      fc.property(
        caseArb,
        fc.integer({ min: 65536, max: 70000 }),
        fc.integer(),
        ({ s, values, dtype }, n, seed) => {
          // A large array built from the case's values (and fresh ones), so that every part sees edges.
          const x = new Float32Array(n);
          let r = seed >>> 0;
          for (let i = 0; i < n; i++) {
            r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
            x[i] = values.length > 0 && (r & 1)
              ? values[r % values.length]
              : ((r >>> 8) - 2 ** 23) * s / 2 ** 14;
          }
          check(x, s, dtype);
        },
      ),
      { numRuns: 12 },
    );
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("quantizeFast writes into a given array, saturates ±Infinity and reports NaN as the reference does", () => {
  const out = new Int16Array(5);
  const q = quantizeFast(Float32Array.of(Infinity, -Infinity, 1e30, -1e30, 2.5), 1, { dtype: "qint16", out });
  assertEquals(q, out);
  assertEquals([...out], [32767, -32768, 32767, -32768, 2]);
  const x = new Float32Array(100).fill(1);
  x[77] = NaN;
  assertThrows(() => quantizeFast(x, 0.5), RangeError, "NaN");
  assertThrows(() => quantizeFast(Float32Array.of(1), 0), RangeError);
  assertThrows(() => quantizeFast(Float32Array.of(1), 1, { out: new Int8Array(2) }), RangeError);
  assertEquals(quantizeFast(new Float32Array(0), 1).length, 0);
});

import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { observedMinMax } from "./observer.ts";
import { minMaxScanner } from "./observer_scan.ts";

const RUNS = { seed: 42, numRuns: 400 };
const available = minMaxScanner(new Float32Array(64)) !== undefined;

function hasWat2wasm(): boolean {
  try {
    return new Deno.Command("wat2wasm", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** Values that stress the scan: zeros of both signs, repeats, subnormals, extremes of float32. */
const valueArb = fc.oneof(
  { arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true }), weight: 3 },
  { arbitrary: fc.constantFrom(0, -0), weight: 3 },
  { arbitrary: fc.float({ min: 0, max: 6, noNaN: true }), weight: 2 },
  { arbitrary: fc.constantFrom(1, -1, 2 ** -149, -(2 ** -149), 3.4028234663852886e38), weight: 1 },
);

/** Data, a shape and a channel axis (or none). */
const caseArb = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 }), fc.nat(), fc.boolean())
  .chain(([shape, a, perTensor]) => {
    const size = shape.reduce((p, d) => p * d, 1) * (perTensor ? 8 : 1);
    return fc.record({
      shape: fc.constant(perTensor ? [...shape, 8] : shape),
      axis: fc.constant(perTensor ? undefined : a % shape.length),
      x: fc.array(valueArb, { minLength: size, maxLength: size }),
    });
  });

/** The float32 bits of each number, so that -0 and +0 differ. */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

Deno.test("observer_scan.ts's module is what wat2wasm makes of the text at its end", {
  ignore: !hasWat2wasm(),
}, async () => {
  const source = await Deno.readTextFile(new URL("./observer_scan.ts", import.meta.url));
  const wat = source.slice(source.indexOf("(module"), source.lastIndexOf("*/"));
  const base64 = [...source.matchAll(/^ {2}"([A-Za-z0-9+/=]+)",$/gm)].map((m) => m[1]).join("");
  const file = await Deno.makeTempFile({ suffix: ".wat" });
  try {
    await Deno.writeTextFile(file, wat);
    const run = await new Deno.Command("wat2wasm", { args: [file, "-o", "/dev/stdout"], stderr: "piped" })
      .output();
    assertEquals(run.success, true, new TextDecoder().decode(run.stderr));
    assertEquals(btoa(String.fromCharCode(...run.stdout)), base64, "reassemble the text into the base64");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test(
  "observedMinMax() on a Float32Array (SIMD scan) equals the sequential scan bit for bit, ±0 included",
  {
    ignore: !available,
  },
  () => {
    fc.assert(
      fc.property(caseArb, ({ shape, axis, x }) => {
        const f = Float32Array.from(x);
        const fast = observedMinMax(f, { name: "m", axis, shape });
        // A plain array takes the sequential scan, the reference.
        const ref = observedMinMax(Array.from(f), { name: "m", axis, shape });
        assertEquals(bits(fast.min), bits(ref.min));
        assertEquals(bits(fast.max), bits(ref.max));
      }),
      RUNS,
    );
  },
);

Deno.test("minMaxScanner() declines runs with a non-finite value or an ambiguous zero extreme", {
  ignore: !available,
}, () => {
  const x = Float32Array.from({ length: 100 }, (_, i) => i + 1);
  x[3] = -0;
  x[50] = 0;
  x[90] = NaN;
  const s = minMaxScanner(x)!;
  assertEquals(s.scan(0, 40), [-0, 40]);
  assertEquals(s.scan(40, 40)?.map((v) => Object.is(v, 0)), [true, false]);
  assertEquals(s.scan(0, 60), undefined, "zeros of both signs at the minimum");
  assertEquals(s.scan(60, 40), undefined, "a NaN");
  x[90] = 91;
  x[50] = 51;
  assertEquals(minMaxScanner(x)!.scan(0, 100), [-0, 100]);
});

Deno.test("observedMinMax() names the first non-finite element of a Float32Array, as the sequential scan does", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.nat(),
      fc.constantFrom(NaN, Infinity, -Infinity),
      (n, k, bad) => {
        const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
        const at = k % n;
        x[at] = bad;
        if (at + 1 < n) x[n - 1] = NaN;
        const e = assertThrows(() => observedMinMax(x, { name: "conv7" }), RangeError);
        assert(e.message.includes(`"conv7"`) && e.message.includes(`(${bad}) at element ${at};`), e.message);
      },
    ),
    { seed: 42, numRuns: 200 },
  );
});

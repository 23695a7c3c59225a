import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { fakeQuantize as fakeQuantizeRef, fakeQuantizeGrad as fakeQuantizeGradRef } from "@hqat/qtensor";
import { fakeQuantize } from "../quant.ts";
import { fromArray } from "../tensor.ts";
import { apply } from "../engine.ts";
import { fakeQuantizeGradWasm, fakeQuantizeWasm, quantKernelsAvailable } from "./quant_wasm.ts";
import { QUANT_KERNELS_BASE64 } from "./quant_wasm_module.ts";

const RUNS = { seed: 42, numRuns: 400 };
const f32 = Math.fround;
const available = quantKernelsAvailable();

function hasWat2wasm(): boolean {
  try {
    return new Deno.Command("wat2wasm", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** The first element whose float32 bits differ, or -1. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  const i = firstBitDifference(actual, expected);
  assert(i < 0, `${what}: element ${i} is ${actual[i]} but the reference gives ${expected[i]}`);
}

const scaleArb = fc.oneof(
  fc.float({ min: f32(2 ** -20), max: 1024, noNaN: true }),
  fc.integer({ min: -20, max: 4 }).map((e) => 2 ** e),
  fc.float({ min: f32(2 ** -149), max: f32(2 ** -100), noNaN: true }).filter((s) => s > 0),
  fc.float({ min: f32(2 ** 100), max: f32(3e38), noNaN: true }),
);
const rangeArb = fc.constantFrom(
  { qmin: -128, qmax: 127 },
  { qmin: -32768, qmax: 32767 },
  { qmin: -8, qmax: 7 },
  { qmin: 0, qmax: 255 },
  { qmin: -(2 ** 24), qmax: 2 ** 24 },
);
/** An element: any float32 (±0, subnormals and ±Infinity included), or `half / 2` scales (ties and near ties). */
const elementArb = fc.oneof(
  fc.float({ noNaN: true }).map((v) => ({ v })),
  fc.float({ min: -300, max: 300, noNaN: true }).map((v) => ({ v })),
  fc.integer({ min: -70000, max: 70000 }).map((half) => ({ half })),
  fc.constantFrom(0, -0, Infinity, -Infinity).map((v) => ({ v })),
);
type Element = { v: number } | { half: number };

/** A shape (last dimensions often not a multiple of 4), an axis, scales along it, data and an upstream gradient. */
const caseArb = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), fc.nat(), fc.boolean())
  .chain(([shape, a, perTensor]) => {
    const axis = perTensor ? -1 : a % shape.length;
    const size = shape.reduce((p, d) => p * d, 1);
    const channels = axis < 0 ? 1 : shape[axis];
    return fc.record({
      shape: fc.constant(shape),
      axis: fc.constant(axis),
      scales: fc.array(scaleArb, { minLength: channels, maxLength: channels }),
      elements: fc.array(elementArb, { minLength: size, maxLength: size }),
      dy: fc.array(fc.float({ noNaN: true }), { minLength: size, maxLength: size }),
      range: rangeArb,
    });
  });

function runsOf(shape: readonly number[], axis: number): { outer: number; channels: number; inner: number } {
  if (axis < 0) return { outer: 1, channels: 1, inner: shape.reduce((p, d) => p * d, 1) };
  return {
    outer: shape.slice(0, axis).reduce((p, d) => p * d, 1),
    channels: shape[axis],
    inner: shape.slice(axis + 1).reduce((p, d) => p * d, 1),
  };
}

/** The data of a case: a `half` element scaled by its channel's scale. */
function dataOf(c: { shape: number[]; axis: number; scales: number[]; elements: Element[] }) {
  const runs = runsOf(c.shape, c.axis);
  return Float32Array.from(
    c.elements,
    (e, i) => "v" in e ? e.v : f32((e.half / 2) * c.scales[Math.floor(i / runs.inner) % runs.channels]),
  );
}

Deno.test("quant_wasm_module.ts is what wat2wasm makes of quant_kernels.wat", {
  ignore: !hasWat2wasm(),
}, async () => {
  const wat = new URL("./quant_kernels.wat", import.meta.url).pathname;
  const run = await new Deno.Command("wat2wasm", { args: [wat, "-o", "/dev/stdout"], stderr: "piped" })
    .output();
  assertEquals(run.success, true, new TextDecoder().decode(run.stderr));
  const committed = Uint8Array.from(atob(QUANT_KERNELS_BASE64), (ch) => ch.charCodeAt(0));
  assertEquals(run.stdout, committed, "reassemble quant_kernels.wat into quant_wasm_module.ts");
});

Deno.test("fakeQuantizeWasm() equals qtensor's fakeQuantize() bit for bit, per tensor and per channel", {
  ignore: !available,
}, () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const x = dataOf(c), scale = Float32Array.from(c.scales);
      const got = fakeQuantizeWasm(x, { scale, ...c.range, ...runsOf(c.shape, c.axis) });
      assert(got !== undefined, "the kernel declined a case it covers");
      const ref = fakeQuantizeRef(x, scale, {
        ...c.range,
        ...(c.axis < 0 ? {} : { axis: c.axis, shape: c.shape }),
      });
      assertSameBits(got, ref, "fakeQuantize");
    }),
    RUNS,
  );
});

Deno.test("fakeQuantizeGradWasm() equals qtensor's fakeQuantizeGrad() bit for bit (-0 in dy kept)", {
  ignore: !available,
}, () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const x = dataOf(c), scale = Float32Array.from(c.scales), dy = Float32Array.from(c.dy);
      const got = fakeQuantizeGradWasm(x, dy, { scale, ...c.range, ...runsOf(c.shape, c.axis) });
      assert(got !== undefined, "the kernel declined a case it covers");
      const layout = c.axis < 0 ? {} : { axis: c.axis, shape: c.shape };
      const ref = fakeQuantizeGradRef(x, scale, { ...c.range, ...layout, dy });
      assertSameBits(got, ref, "fakeQuantizeGrad");
    }),
    RUNS,
  );
});

Deno.test("fakeQuantizeWasm() declines what it cannot compute exactly, and the reference takes it", {
  ignore: !available,
}, () => {
  const runs = { outer: 1, channels: 1, inner: 3 }, int8 = { qmin: -128, qmax: 127 };
  const x = Float32Array.of(1, 2, 3), s = Float32Array.of(0.5);
  const plan = { scale: s, ...int8, ...runs };
  assertEquals(fakeQuantizeWasm(Float32Array.of(1, NaN, 3), plan), undefined);
  assertEquals(fakeQuantizeWasm(x, { ...plan, qmin: -(2 ** 31), qmax: 2 ** 31 - 1 }), undefined);
  assertEquals(fakeQuantizeWasm(x, { ...plan, scale: Float32Array.of(0) }), undefined);
  assertEquals(fakeQuantizeWasm(x, { ...plan, scale: Float32Array.of(Infinity) }), undefined);
  assertEquals(fakeQuantizeWasm(x, { ...plan, inner: 2 }), undefined);
  assertEquals(fakeQuantizeGradWasm(Float32Array.of(1, 2, NaN), x, plan), undefined);
  assertEquals(fakeQuantizeGradWasm(x, Float32Array.of(1, 2), plan), undefined);
  // Through the op: NaN is the reference's error, and a wide range the reference's values.
  assertThrows(
    () => fakeQuantize(fromArray(Float32Array.of(NaN), [1]), fromArray(s, [1]), { qmin: -128, qmax: 127 }),
    RangeError,
    "NaN",
  );
  const big = Float32Array.of(3e9, -1.5, 16777217);
  const wide = { qmin: -(2 ** 31), qmax: 2 ** 31 - 1 };
  const y = fakeQuantize(fromArray(big, [3]), fromArray(Float32Array.of(1), [1]), wide);
  assertSameBits(y.data as Float32Array, fakeQuantizeRef(big, 1, wide), "wide range");
});

Deno.test("fakeQuantize() and fakeQuantizeBackward ops equal the reference on MobileNetV2-sized tensors", () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const cases: [number[], number][] = [[[8, 32, 16, 16], -1], [[96, 1, 3, 3], 0], [[32, 24, 1, 1], 0], [[
    8,
    1280,
  ], -1]];
  for (const [shape, axis] of cases) {
    const size = shape.reduce((p, d) => p * d, 1), channels = axis < 0 ? 1 : shape[axis];
    const x = Float32Array.from({ length: size }, () => f32(rand() * 3));
    const scale = Float32Array.from({ length: channels }, (_, c) => f32((1 + c % 5) / 127.5));
    const dy = Float32Array.from({ length: size }, () => f32(rand()));
    const opts = { qmin: -128, qmax: 127, axis };
    const xt = fromArray(x, shape), st = fromArray(scale, [channels]);
    const layout = axis < 0 ? {} : { axis, shape };
    const y = fakeQuantize(xt, st, opts);
    assertSameBits(
      y.data as Float32Array,
      fakeQuantizeRef(x, scale, { qmin: -128, qmax: 127, ...layout }),
      `forward ${shape}`,
    );
    const [dx] = apply("fakeQuantizeBackward", [fromArray(dy, shape), xt, st], { ...opts, scaleGrad: false });
    const ref = fakeQuantizeGradRef(x, scale, { qmin: -128, qmax: 127, ...layout, dy });
    assertSameBits(dx.data as Float32Array, ref, `gradient ${shape}`);
  }
});

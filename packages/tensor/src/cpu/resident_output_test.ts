/**
 * The kernels write an int8/int16 output that lies in the resident memory (as the executor's arena
 * buffers do) straight into it: every route must write exactly [out, out + count · bytes) — the bytes
 * around it are other live buffers — and give the reference's integers. Each case places its inputs and
 * its output in the resident region, the output between canary bytes at a random misalignment, and checks
 * the canaries, the integers and that the output was written in place (not copied).
 */
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { quantize } from "@hqat/qtensor";
import { type Conv2dGeometry, convDims } from "./conv2d_shapes.ts";
import { intConv2dRequantFast, intLinearRequantFast } from "./int_conv.ts";
import { intConv2dAccumulateReference, intLinearAccumulateReference } from "./int_conv_reference.ts";
import {
  intAddRequantFast,
  intRequantFast,
  type IntRequantParams,
  intRequantReference,
} from "./int_requant.ts";
import { quantizeFast } from "./quantize_fast.ts";
import { residentBytes } from "./resident.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";
import { kernelRuntime } from "./wasm_runtime.ts";

type Ints = Int8Array | Int16Array | Int32Array | Uint8Array;
/** Canary bytes on each side of the output. */
const CANARY = 48;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

/** `count` integers in [lo, hi] (uniform, or from its ends and zero with `extreme`). */
function ints<T extends Ints>(out: T, lo: number, hi: number, seed: number, extreme = false): T {
  const next = lcg(seed);
  for (let i = 0; i < out.length; i++) {
    const r = next();
    out[i] = extreme ? [lo, hi, 0, lo][r >>> 30] : lo + (r % (hi - lo + 1));
  }
  return out;
}

/** Requantization parameters: M in [2^14, 2^15), n mostly under the 32-bit rule, clamps at the ends or inside. */
interface RqCase {
  bytes: 1 | 2;
  perChannel: boolean;
  shifts: number[];
  clamp: 0 | 1 | 2;
  seed: number;
}

const rqArb = fc.record({
  bytes: fc.constantFrom(1 as const, 2 as const),
  perChannel: fc.boolean(),
  shifts: fc.array(fc.oneof(fc.integer({ min: 16, max: 31 }), fc.integer({ min: 0, max: 40 })), {
    minLength: 1,
    maxLength: 6,
  }),
  clamp: fc.constantFrom(0 as const, 1 as const, 2 as const),
  seed: fc.nat(),
});

function params(c: RqCase, channels: number): IntRequantParams {
  const k = c.perChannel ? channels : 1, next = lcg(c.seed);
  const max = c.bytes === 1 ? 127 : 32767;
  const lo = c.clamp === 0 ? -max - 1 : c.clamp === 1 ? 0 : -(next() % max);
  return {
    multiplier: Int32Array.from({ length: k }, () => 16384 + next() % 16384),
    shift: Uint8Array.from({ length: k }, (_, i) => c.shifts[i % c.shifts.length]),
    lo,
    hi: Array.from({ length: k }, () => c.clamp === 0 ? max : lo + next() % (max - lo + 1)),
    bytes: c.bytes,
  };
}

/** How many outputs the runtime handed to a kernel in place since `watch()`, and the kernels that ran. */
let inPlace = 0;
const kernels = new Set<string>();
function watch(): void {
  kernels.clear();
  const rt = kernelRuntime();
  if (!rt || (rt as { watched?: boolean }).watched) return;
  const outputBytes = rt.outputBytes, run = rt.run;
  rt.run = (name, parts, scratch) => {
    kernels.add(name);
    run(name, parts, scratch);
  };
  rt.outputBytes = (out, count, bytes) => {
    const ptr = outputBytes(out, count, bytes);
    if (out && ptr === out.byteOffset) inPlace++;
    return ptr;
  };
  (rt as { watched?: boolean }).watched = true;
}

/**
 * Copies `inputs` into the resident region, then places a `count`-element output of `bytes` bytes
 * `misalign` elements past a 64-byte boundary between canaries; `run` writes it, and the canaries, the
 * integers (against `want`) and the in-place write are checked.
 */
function checkResident<T extends Ints[]>(
  inputs: T,
  count: number,
  bytes: 1 | 2,
  misalign: number,
  run: (inputs: T, out: Int8Array | Int16Array) => Int8Array | Int16Array,
  want: ArrayLike<number>,
): void {
  const sizes = inputs.map((a) => Math.ceil(a.byteLength / 64) * 64 + 64);
  const at = sizes.reduce((a, b) => a + b, 0) + CANARY + misalign * bytes;
  const region = residentBytes(at + count * bytes + CANARY + 64);
  if (!region) return;
  const buffer = region.buffer as ArrayBuffer;
  let offset = region.byteOffset;
  const placed = inputs.map((a, i) => {
    const v = new (a.constructor as Int8ArrayConstructor)(buffer, offset, a.length) as unknown as Ints;
    v.set(a as Int8Array);
    offset += sizes[i];
    return v;
  }) as T;
  const start = region.byteOffset + at, end = start + count * bytes;
  const guard = new Uint8Array(buffer, start - CANARY, count * bytes + 2 * CANARY);
  ints(guard, 0, 255, count * 31 + misalign);
  const before = guard.slice();
  const out = bytes === 1 ? new Int8Array(buffer, start, count) : new Int16Array(buffer, start, count);
  const was = inPlace;
  const y = run(placed, out);
  assert(y === out, "the result is the output array");
  assertEquals(Array.from(y), Array.from(want));
  for (let i = 0; i < CANARY; i++) {
    assertEquals(guard[i], before[i], `canary byte ${CANARY - i} before the output`);
    assertEquals(
      guard[end - start + CANARY + i],
      before[end - start + CANARY + i],
      `canary byte ${i} after it`,
    );
  }
  assert(inPlace > was, "written in place");
}

/** A convolution route: shapes that reach it. */
const convArb = (
  route: "pointwise" | "im2col" | "rows" | "lanes" | "small" | "depthwise16" | "stem",
) => {
  const dw = route === "rows" || route === "lanes" || route === "small" || route === "depthwise16";
  const plane = route === "rows"
    ? fc.record({ h: fc.integer({ min: 3, max: 18 }), w: fc.integer({ min: 5, max: 18 }) })
    : route === "lanes"
    ? fc.constantFrom({ h: 1, w: 1 }, { h: 2, w: 2 }, { h: 1, w: 4 })
    : route === "small"
    ? fc.record({ h: fc.integer({ min: 1, max: 4 }), w: fc.integer({ min: 1, max: 4 }) })
    : fc.oneof(
      fc.constantFrom({ h: 1, w: 1 }, { h: 2, w: 2 }),
      fc.record({ h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }) }),
    );
  return fc.record({
    n: fc.integer({ min: 1, max: 12 }),
    c: route === "stem" ? fc.integer({ min: 1, max: 3 }) : fc.integer({ min: 1, max: dw ? 40 : 20 }),
    co: fc.integer({ min: 1, max: 24 }),
    plane,
    k: route === "pointwise"
      ? fc.constant(1)
      : route === "rows"
      ? fc.constant(3)
      : fc.integer({ min: 1, max: 3 }),
    s: route === "pointwise"
      ? fc.constant(1)
      : route === "stem"
      ? fc.constant(2)
      : fc.integer({ min: 1, max: 2 }),
    pad: route === "pointwise"
      ? fc.constant(0)
      : route === "rows"
      ? fc.constant(1)
      : fc.integer({ min: 0, max: 1 }),
    groups2: fc.boolean(),
    int16: route === "depthwise16"
      ? fc.constant(true)
      : dw || route === "stem"
      ? fc.constant(false)
      : fc.boolean(),
    relu: fc.boolean(),
    extreme: fc.boolean(),
    bias: fc.boolean(),
    misalign: fc.integer({ min: 0, max: 15 }),
    rq: rqArb,
    seed: fc.nat(),
  }).map((c) => ({ ...c, route, dw }));
};

type ConvCase = ReturnType<typeof convArb> extends fc.Arbitrary<infer T> ? T : never;

function checkConv(c: ConvCase): void {
  const { h, w } = c.plane, k = Math.min(c.k, h + 2 * c.pad, w + 2 * c.pad);
  const groups = c.dw ? c.c : c.groups2 && c.c % 2 === 0 && c.co % 2 === 0 && c.route !== "stem" ? 2 : 1;
  const co = c.dw ? c.c : c.co;
  const kw = c.route === "stem" ? Math.min(3, w + 2 * c.pad) : k;
  const geo: Conv2dGeometry = {
    stride: [c.s, c.s],
    padding: [c.pad, c.pad],
    dilation: [1, 1],
    groups,
  };
  const xShape = [c.n, c.c, h, w], wShape = [co, c.c / groups, k, kw];
  const d = convDims(xShape, wShape, geo, "test");
  const count = c.n * co * d.ho * d.wo;
  if (count === 0) return;
  const xc = c.n * c.c * h * w, xMax = c.int16 ? 32767 : 127;
  const x = ints(
    c.int16 ? new Int16Array(xc) : new Int8Array(xc),
    c.relu ? 0 : -xMax - 1,
    xMax,
    c.seed,
    c.extreme,
  );
  const wt = ints(new Int8Array(co * (c.c / groups) * k * kw), -128, 127, c.seed + 1, c.extreme);
  const bias = ints(new Int32Array(co), -(2 ** 20), 2 ** 20, c.seed + 2);
  const p = params(c.rq, co);
  const acc = intConv2dAccumulateReference(x, wt, d, c.bias ? bias : undefined);
  const want = intRequantReference(acc, co, d.ho * d.wo, p);
  const operands: Ints[] = c.bias ? [x, wt, bias] : [x, wt];
  checkResident(
    operands,
    count,
    p.bytes,
    c.misalign,
    ([xr, wr, br], out) =>
      intConv2dRequantFast(
        { data: xr as Int8Array, shape: xShape },
        { data: wr as Int8Array, shape: wShape },
        {
          geometry: geo,
          requant: p,
          bias: br as Int32Array | undefined,
          out,
        },
      ),
    want,
  );
}

/** The kernel each route's cases must reach (the depthwise kernel on int16 requantizes in int_requant_run). */
const KERNEL = {
  pointwise: "int_gemm_run",
  im2col: "int_im2col",
  rows: "int_depthwise_rows_forward",
  lanes: "int_depthwise_lanes_forward",
  small: "int_depthwise_small_forward",
  depthwise16: "int_depthwise_forward",
  stem: "int_conv_s2_forward",
} as const;

/** Asserts that the kernels ran `names` (where they run at all). */
function reached(...names: string[]): void {
  if (kernelRuntime()) { for (const name of names) assert(kernels.has(name), `no case reached ${name}`); }
}

for (const route of ["pointwise", "im2col", "rows", "lanes", "small", "depthwise16", "stem"] as const) {
  Deno.test(`intConv2dRequantFast() writes a resident output exactly in place: ${route}`, () => {
    watch();
    fc.assert(fc.property(convArb(route), checkConv), { seed: 3, numRuns: 150 });
    reached(KERNEL[route], ...(route === "small" || route === "depthwise16" ? ["int_requant_run"] : []));
  });
}

Deno.test("intLinearRequantFast() writes a resident output exactly in place", () => {
  watch();
  const arb = fc.record({
    rows: fc.integer({ min: 1, max: 40 }),
    k: fc.integer({ min: 1, max: 50 }),
    o: fc.integer({ min: 1, max: 30 }),
    int16: fc.boolean(),
    relu: fc.boolean(),
    misalign: fc.integer({ min: 0, max: 15 }),
    rq: rqArb,
    seed: fc.nat(),
  });
  fc.assert(
    fc.property(arb, (c) => {
      const xMax = c.int16 ? 32767 : 127, n = c.rows * c.k;
      const x = ints(c.int16 ? new Int16Array(n) : new Int8Array(n), c.relu ? 0 : -xMax - 1, xMax, c.seed);
      const w = ints(new Int8Array(c.o * c.k), -128, 127, c.seed + 1);
      const bias = ints(new Int32Array(c.o), -(2 ** 20), 2 ** 20, c.seed + 2), p = params(c.rq, c.o);
      const want = intRequantReference(intLinearAccumulateReference(x, w, c, bias), c.o, 1, p);
      checkResident(
        [x, w, bias],
        c.rows * c.o,
        p.bytes,
        c.misalign,
        ([xr, wr, br], out) =>
          intLinearRequantFast({ data: xr as Int8Array, shape: [c.rows, c.k] }, {
            data: wr as Int8Array,
            shape: [c.o, c.k],
          }, { requant: p, bias: br as Int32Array, out }),
        want,
      );
    }),
    { seed: 4, numRuns: 200 },
  );
  reached("int_gemm_run");
});

Deno.test("intRequantFast(), intAddRequantFast() and quantizeFast() write a resident output exactly in place", () => {
  watch();
  const arb = fc.record({
    outer: fc.integer({ min: 1, max: 6 }),
    channels: fc.integer({ min: 1, max: 12 }),
    inner: fc.integer({ min: 1, max: 40 }),
    int16: fc.boolean(),
    k: fc.integer({ min: 0, max: 7 }),
    t: fc.integer({ min: -300, max: 300 }),
    misalign: fc.integer({ min: 0, max: 15 }),
    rq: rqArb,
    seed: fc.nat(),
  });
  fc.assert(
    fc.property(arb, (c) => {
      const count = c.outer * c.channels * c.inner, p = params(c.rq, c.channels);
      const acc = ints(new Int32Array(count), -(2 ** 24), 2 ** 24, c.seed);
      const want = intRequantReference(acc, c.channels, c.inner, p);
      checkResident(
        [acc],
        count,
        p.bytes,
        c.misalign,
        ([a], out) => intRequantFast(a as Int32Array, { layout: c, requant: p, out }),
        want,
      );
      const one = params({ ...c.rq, perChannel: false }, 1), xMax = c.int16 ? 32767 : 127;
      const x = ints(c.int16 ? new Int16Array(count) : new Int8Array(count), -xMax - 1, xMax, c.seed + 1);
      const y = ints(new Int8Array(count), -128, 127, c.seed + 2);
      const sum = Int32Array.from(x, (v, i) => v * 2 ** c.k + y[i] * c.t);
      checkResident(
        [x, y],
        count,
        one.bytes,
        c.misalign,
        ([xr, yr], out) =>
          intAddRequantFast(xr as Int8Array, yr as Int8Array, { k: c.k, t: c.t, requant: one, out }),
        intRequantReference(sum, 1, count, one),
      );
      const f = Float32Array.from(acc, (v) => v / 2 ** 17);
      const dtype = c.int16 ? "qint16" as const : "qint8" as const;
      checkResident(
        [],
        count,
        c.int16 ? 2 : 1,
        c.misalign,
        (_, out) => quantizeFast(f, 0.37, { dtype, out }),
        quantize(f, Math.fround(0.37), { dtype }) as Int8Array,
      );
    }),
    { seed: 6, numRuns: 200 },
  );
  reached("int_requant_run", "int_add_requant_run", "quantize_run");
});

Deno.test("on two threads, larger layers write a resident output exactly in place", async () => {
  watch();
  const before = getKernelThreads();
  try {
    setKernelThreads(2);
    for (let i = 0; i < 50 && readyThreads() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const big = (route: "pointwise" | "im2col" | "rows" | "lanes") =>
      convArb(route).map((c) => ({ ...c, n: 40 + c.n * 7, c: c.c + 8, co: c.co + 24 }));
    for (const route of ["pointwise", "im2col", "rows", "lanes"] as const) {
      fc.assert(fc.property(big(route), checkConv), { seed: 8, numRuns: 8 });
    }
    reached(...Object.values(KERNEL).slice(0, 4), "int_gemm_pack");
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("an output that overlaps an input is not written in place", () => {
  const region = residentBytes(256), rt = kernelRuntime();
  if (!region || !rt) return;
  const x = new Int8Array(region.buffer as ArrayBuffer, region.byteOffset, 64).fill(3);
  const requant = {
    multiplier: Int32Array.of(16384),
    shift: Uint8Array.of(14),
    lo: -128,
    hi: [127],
    bytes: 1,
  } as const;
  // y = x + x in place over x, and over y = x shifted by one element.
  assertEquals(Array.from(intAddRequantFast(x, x, { k: 0, t: 1, requant, out: x })), new Array(64).fill(6));
  const shifted = new Int8Array(region.buffer as ArrayBuffer, region.byteOffset + 1, 64);
  const y = intAddRequantFast(x, x, { k: 0, t: 1, requant, out: shifted });
  assertEquals(Array.from(y), new Array(64).fill(12));
});

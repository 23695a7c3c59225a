import { assert, assertAlmostEquals, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { foldIn, type RandomKey, randomKey, type Shape, type Tensor } from "@hqat/tensor";
import {
  calculateGain,
  defaultConvInit,
  defaultLinearInit,
  fanInOut,
  kaimingNormal,
  kaimingUniform,
  type Nonlinearity,
  normal,
  onesInit,
  uniform,
  xavierNormal,
  xavierUniform,
  zerosInit,
} from "./init.ts";

interface GoldenInit {
  gains: { nonlinearity: Nonlinearity; param: number | null; gain: number }[];
  cases: {
    init: "kaimingUniform" | "kaimingNormal" | "xavierUniform" | "xavierNormal";
    shape: number[];
    // deno-lint-ignore no-explicit-any
    options: any;
    fanIn: number;
    fanOut: number;
    bound?: number;
    std?: number;
  }[];
  defaultLayers: { shape: number[]; weightBound: number; biasBound: number }[];
}

const golden: { init: GoldenInit } = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/optim_golden.json", import.meta.url)),
);

/** At least `min` values: draws of `make` under keys folded from one seed, concatenated. */
function sample(make: (key: RandomKey) => Tensor, min = 20000): Float64Array {
  const parts: Tensor[] = [];
  let n = 0;
  for (let i = 0; n < min; i++) {
    const t = make(foldIn(randomKey(7), i));
    parts.push(t);
    n += t.size;
  }
  const out = new Float64Array(n);
  let at = 0;
  for (const t of parts) {
    out.set(t.data, at);
    at += t.size;
  }
  return out;
}

function moments(x: Float64Array): { mean: number; std: number; absMax: number } {
  let s = 0, absMax = 0;
  for (const v of x) {
    s += v;
    absMax = Math.max(absMax, Math.abs(v));
  }
  const mean = s / x.length;
  let q = 0;
  for (const v of x) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / x.length), absMax };
}

/** Checks that `x` is a sample of U(−bound, bound). */
function assertUniform(x: Float64Array, bound: number, what: string): void {
  const { mean, std, absMax } = moments(x);
  const n = x.length;
  assert(absMax <= bound, `${what}: |x| reaches ${absMax} above the bound ${bound}`);
  assert(absMax > bound * (1 - 20 / n), `${what}: max |x| ${absMax} falls short of the bound ${bound}`);
  assert(Math.abs(mean) < 5 * bound / Math.sqrt(3 * n), `${what}: mean ${mean}`);
  assertAlmostEquals(std / (bound / Math.sqrt(3)), 1, 0.04, `${what}: std ${std} for bound ${bound}`);
}

/** Checks that `x` is a sample of N(mean, std²) (moments and tail fractions). */
function assertNormal(x: Float64Array, mean: number, std: number, what: string): void {
  const m = moments(x);
  const n = x.length;
  assert(Math.abs(m.mean - mean) < 5 * std / Math.sqrt(n), `${what}: mean ${m.mean}, expected ${mean}`);
  assertAlmostEquals(m.std / std, 1, 0.03, `${what}: std ${m.std}, expected ${std}`);
  let beyond1 = 0, beyond2 = 0;
  for (const v of x) {
    const z = Math.abs(v - mean) / std;
    if (z > 1) beyond1++;
    if (z > 2) beyond2++;
  }
  assertAlmostEquals(beyond1 / n, 0.3173, 0.02, `${what}: fraction beyond 1 std`);
  assertAlmostEquals(beyond2 / n, 0.0455, 0.008, `${what}: fraction beyond 2 std`);
}

Deno.test("calculateGain() equals torch.nn.init.calculate_gain", () => {
  for (const { nonlinearity, param, gain } of golden.init.gains) {
    assertAlmostEquals(calculateGain(nonlinearity, param ?? undefined), gain, 1e-15, nonlinearity);
  }
  assertThrows(() => calculateGain("swish" as Nonlinearity), RangeError, "unsupported nonlinearity");
});

Deno.test("fanInOut() equals PyTorch's fans and needs two dimensions", () => {
  for (const c of golden.init.cases) assertEquals(fanInOut(c.shape), { fanIn: c.fanIn, fanOut: c.fanOut });
  assertEquals(fanInOut([5, 0]), { fanIn: 0, fanOut: 5 });
  assertThrows(() => fanInOut([7]), RangeError, "at least 2 dimensions, got [7]");
});

const INITS = { kaimingUniform, kaimingNormal, xavierUniform, xavierNormal };

for (const c of golden.init.cases) {
  Deno.test(`${c.init}() draws PyTorch's distribution for [${c.shape}] ${JSON.stringify(c.options)}`, () => {
    const x = sample((key) => INITS[c.init](key, c.shape, c.options));
    if (c.bound !== undefined) assertUniform(x, c.bound, c.init);
    else assertNormal(x, 0, c.std!, c.init);
  });
}

Deno.test("normal() and uniform() draw N(mean, std²) and U(min, max)", () => {
  assertNormal(sample((key) => normal(key, [100, 100], { mean: 3, std: 0.5 })), 3, 0.5, "normal");
  const u = sample((key) => uniform(key, [20000], { min: 1, max: 5 }));
  assertUniform(u.map((v) => v - 3), 2, "uniform");
  assertNormal(sample((key) => normal(key, [20000])), 0, 1, "standard normal");
  assertThrows(() => uniform(randomKey(0), [2], { min: 1, max: 0 }), RangeError, "min ≤ max");
  assertThrows(() => normal(randomKey(0), [2], { std: -1 }), RangeError, "std ≥ 0");
});

Deno.test("initializers are deterministic under a key and differ across keys", () => {
  const shape: Shape = [8, 4, 3, 3];
  for (const init of [kaimingUniform, kaimingNormal, xavierUniform, xavierNormal, normal, uniform]) {
    assertEquals(init(randomKey(3), shape).toArray(), init(randomKey(3), shape).toArray());
    assertNotEquals(init(randomKey(3), shape).toArray(), init(randomKey(4), shape).toArray());
    assertEquals(init(randomKey(3), shape).shape, shape);
  }
  assertEquals(zerosInit(randomKey(0), [2, 2]).toArray(), [0, 0, 0, 0]);
  assertEquals(onesInit(randomKey(0), [3]).toArray(), [1, 1, 1]);
  assertEquals(onesInit(randomKey(0), [3]).dtype, "float32");
});

Deno.test("kaiming initializers reject bad modes and empty fans", () => {
  assertThrows(() => kaimingUniform(randomKey(0), [4, 0, 3]), RangeError, "fan_in of shape [4,0,3] is 0");
  assertThrows(
    () => kaimingNormal(randomKey(0), [4, 2], { mode: "fan_avg" as "fan_in" }),
    RangeError,
    `mode must be "fan_in" or "fan_out"`,
  );
  assertThrows(() => xavierUniform(randomKey(0), [3]), RangeError, "at least 2 dimensions");
});

Deno.test("defaultConvInit() and defaultLinearInit() draw PyTorch's default layer distributions", () => {
  for (const { shape, weightBound, biasBound } of golden.init.defaultLayers) {
    const init = shape.length === 2 ? defaultLinearInit : defaultConvInit;
    assertUniform(sample((key) => init(key, shape).weight), weightBound, `weight [${shape}]`);
    assertUniform(sample((key) => init(key, shape).bias!, 5000), biasBound, `bias [${shape}]`);
    const { weight, bias } = init(randomKey(1), shape);
    assertEquals(bias!.shape, [shape[0]]);
    // Independent keys: the bias is not the start of the weight's stream.
    assertNotEquals(bias!.toArray(), weight.toArray().slice(0, shape[0]));
    assertEquals(init(randomKey(1), shape, { bias: false }).bias, undefined);
  }
  assertThrows(() => defaultConvInit(randomKey(0), [4, 3]), RangeError, "3 to 5 dimensions");
  assertThrows(() => defaultLinearInit(randomKey(0), [4, 3, 1]), RangeError, "2 dimensions");
});

import { assert, assertAlmostEquals, assertEquals, assertGreater, assertThrows } from "@std/assert";
import fc from "fast-check";
import { clearMarch, March, setMarch } from "@hqat/march-bayes";
import { compileProgram, estimatePerformance, type PerformanceEstimate } from "@hqat/hbdk";
import { type IntModel, OPT_LEVELS, type OptLevel } from "@hqat/program";
import { prng, ProgramBuilder } from "../../program/testdata/build.ts";
import { mobileNetV2IntModel } from "../testdata/mobilenet_v2.ts";

const quiet = { log: () => {} };
const within = (actual: number, expected: number, fraction: number, what: string) =>
  assert(
    Math.abs(actual / expected - 1) <= fraction,
    `${what}: ${actual} is not within ${fraction * 100} % of ${expected}`,
  );

/** The estimate of `model` compiled at `opt` for `batch` frames. */
function estimate(
  model: IntModel,
  o: { opt?: OptLevel; batch?: number; inputSource?: "ddr" | "pyramid"; pyramidFormat?: "nv12" | "yuv444" } =
    {},
): PerformanceEstimate {
  const shape = [o.batch ?? 1, ...model.inputShape.slice(1)];
  const { program } = compileProgram(model, [{ shape }], {
    opt: o.opt ?? "O1",
    inputSource: o.inputSource,
    ...quiet,
  });
  return estimatePerformance(program, { pyramidFormat: o.pyramidFormat });
}

Deno.test("estimatePerformance() meets the published MobileNetV2 batch-1 anchor (O1, pyramid)", () => {
  const e = estimate(mobileNetV2IntModel(), { inputSource: "pyramid" });
  within(e.fps, 2655.57, 0.25, "FPS");
  within(e.latencyUs, 376.6, 0.25, "latency µs");
  within(e.ddrBytesPerFrame, 2481312, 0.10, "DDR bytes per frame");
  assertEquals(e.framesPerRun, 1);
});

Deno.test("estimatePerformance() meets the published MobileNetV2 batch-256 anchor (O1, pyramid)", () => {
  const e = estimate(mobileNetV2IntModel(), { inputSource: "pyramid", batch: 256 });
  within(e.fps, 5723, 0.25, "FPS");
  within(e.latencyMs, 44.73, 0.25, "latency ms");
  within(e.ddrBytesPerFrame, 1403592, 0.10, "DDR bytes per frame");
  within(e.loadedBytesPerFrame, 707232, 0.10, "loaded bytes per frame");
  within(e.storedBytesPerFrame, 696360, 0.10, "stored bytes per frame");
  assertEquals(e.framesPerRun, 256);
  assertAlmostEquals(e.fps, 256 / (e.latencyUs * 1e-6), 1e-6);
});

Deno.test("estimatePerformance() counts 2 ops per MAC, 221,184 MACs per frame in the first conv", () => {
  const e = estimate(mobileNetV2IntModel(), { batch: 4 });
  assertEquals(e.layers[0].name, "features.0.0");
  assertEquals(e.layers[0].macs, 221184 * 4);
  assertEquals(e.layers[0].ops, 2 * 221184 * 4);
  assertEquals(e.macsPerFrame, 6124928);
  assertEquals(e.opsPerFrame, 2 * e.macsPerFrame);
});

Deno.test("estimatePerformance() totals are the sums of its steps", () => {
  const e = estimate(mobileNetV2IntModel(), { batch: 8, opt: "O2" });
  const sum = (f: (l: PerformanceEstimate["layers"][number]) => number) =>
    e.layers.reduce((s, l) => s + f(l), 0);
  assertAlmostEquals(sum((l) => l.latencyUs) + e.runOverheadUs, e.latencyUs, 1e-6);
  assertEquals(sum((l) => l.loadBytes + l.storeBytes), e.ddrBytesPerRun);
  assertEquals(e.ddrBytesPerFrame, e.loadedBytesPerFrame + e.storedBytesPerFrame);
  assertAlmostEquals(e.ddrBytesPerSecond, e.ddrBytesPerRun / (e.latencyUs * 1e-6), 1e-3);
  for (const l of e.layers) {
    assertAlmostEquals(l.latencyUs, Math.max(l.computeCostUs, l.loadStoreCostUs) + l.overheadUs, 1e-9);
  }
});

Deno.test("estimatePerformance() loads weights once per run and reads the pyramid image as NV12", () => {
  const model = mobileNetV2IntModel();
  const one = estimate(model, { batch: 1 });
  const many = estimate(model, { batch: 64 });
  assertEquals(one.weightBytesPerRun, many.weightBytesPerRun);
  const ddr = estimate(model, { inputSource: "ddr" });
  const pyramid = estimate(model, { inputSource: "pyramid" });
  const yuv444 = estimate(model, { inputSource: "pyramid", pyramidFormat: "yuv444" });
  assertEquals(ddr.loadedBytesPerFrame - pyramid.loadedBytesPerFrame, 3072 - 1536);
  assertEquals(yuv444.loadedBytesPerFrame - pyramid.loadedBytesPerFrame, 3072 - 1536);
  assertEquals(pyramid.storedBytesPerFrame, 64);
});

Deno.test("estimatePerformance() never gets slower or moves more DDR at a higher opt level, and O3 beats O0", () => {
  for (const batch of [1, 16, 256]) {
    const runs = OPT_LEVELS.map((opt) =>
      estimate(mobileNetV2IntModel(), { opt, batch, inputSource: "pyramid" })
    );
    for (let i = 1; i < runs.length; i++) {
      assert(runs[i].latencyUs <= runs[i - 1].latencyUs, `${OPT_LEVELS[i]} latency at batch ${batch}`);
      assert(runs[i].ddrBytesPerRun <= runs[i - 1].ddrBytesPerRun, `${OPT_LEVELS[i]} DDR at batch ${batch}`);
    }
    assertGreater(runs[0].latencyUs, runs[3].latencyUs);
    assertGreater(runs[0].ddrBytesPerRun, runs[3].ddrBytesPerRun);
  }
});

Deno.test("estimatePerformance() costs the steps of the compiled program: one per instruction but the transfers", () => {
  const { program } = compileProgram(mobileNetV2IntModel(), [{ shape: [1, 3, 32, 32] }], {
    opt: "O1",
    ...quiet,
  });
  const e = estimatePerformance(program);
  assertEquals(e.layers.length, program.instructions.length - 2);
  assertEquals(e.layers.map((l) => l.name), program.instructions.slice(1, -1).map((i) => i.name));
  // The residual adds and the global pool ride the convolutions that produce them.
  assertEquals(e.layers.filter((l) => l.merged.length > 0).length, 11);
});

Deno.test("estimatePerformance() uses the program's march, else the one set with setMarch(), and rejects bad options", () => {
  const { program } = compileProgram(mobileNetV2IntModel(), [{ shape: [1, 3, 32, 32] }], quiet);
  assertEquals(estimatePerformance(program).march, "bayes");
  clearMarch();
  const unknown = { ...program, march: "nope" };
  assertThrows(() => estimatePerformance(unknown), RangeError, "estimatePerformance: unknown march");
  setMarch(March.BAYES);
  assertThrows(
    () => estimatePerformance(program, { march: March.BERNOULLI2 }),
    RangeError,
    'march "bayes" only',
  );
  assertThrows(
    () => estimatePerformance(program, { inputSource: "usb" as "ddr" }),
    RangeError,
    'unknown inputSource "usb"',
  );
});

/** A chain of convolutions (regular or depthwise) ending in a global pool and a linear layer. */
interface Spec {
  readonly c: number;
  readonly hw: number;
  readonly blocks: readonly {
    readonly dw: boolean;
    readonly cout: number;
    readonly k: number;
    readonly s: number;
    readonly relu: boolean;
    readonly residual: boolean;
  }[];
  readonly classes: number;
}

/** The spec as an int model: conv blocks (a ReLU or a residual add), a global pool, a 32-bit linear layer. */
function build(spec: Spec): IntModel {
  const b = new ProgramBuilder(prng(spec.c * 131 + spec.hw), [1, spec.c, spec.hw, spec.hw]);
  let x = b.quantize("quant", 1 / 128);
  spec.blocks.forEach((blk, i) => {
    const [, c, h] = b.buffer(x).shape;
    const cout = blk.dw ? c : blk.cout;
    const p = Math.floor(blk.k / 2);
    const y = b.conv(`b${i}`, x, { cout, k: blk.k, s: blk.s, p, g: blk.dw ? c : 1 }, {
      dtype: "qint8",
      scale: 0.05,
    });
    const residual = blk.residual && cout === c && b.buffer(y).shape[2] === h && blk.s === 1 && i > 0;
    x = residual
      ? b.add(`b${i}.add`, y, x, { dtype: "qint8", scale: 0.06 })
      : blk.relu
      ? b.activation(`b${i}.relu`, y, "relu")
      : y;
  });
  const pool = b.globalAvgPool("pool", x, { dtype: "qint8", scale: 0.03 });
  const fc = b.linear("fc", b.move("flatten", pool, [1, b.buffer(pool).shape[1]]), { cout: spec.classes }, {
    dtype: "qint32",
  });
  b.dequantize("dequant", fc);
  return b.build();
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  c: fc.integer({ min: 1, max: 16 }),
  hw: fc.integer({ min: 1, max: 48 }),
  blocks: fc.array(
    fc.record({
      dw: fc.boolean(),
      cout: fc.integer({ min: 1, max: 320 }),
      k: fc.constantFrom(1, 3, 5),
      s: fc.constantFrom(1, 1, 2),
      relu: fc.boolean(),
      residual: fc.boolean(),
    }),
    { minLength: 1, maxLength: 8 },
  ),
  classes: fc.integer({ min: 1, max: 100 }),
});

Deno.test("estimatePerformance() latency and DDR never decrease when a layer's channels grow", () => {
  fc.assert(
    fc.property(
      specArb,
      fc.nat(),
      fc.integer({ min: 1, max: 256 }),
      fc.constantFrom(...OPT_LEVELS),
      fc.integer({ min: 1, max: 64 }),
      (spec, pick, grow, opt, batch) => {
        const i = pick % spec.blocks.length;
        // Residual adds only join equal shapes; keep the structure fixed while channels grow.
        const base: Spec = {
          ...spec,
          blocks: spec.blocks.map((b) => ({ ...b, dw: false, residual: false })),
        };
        const grown: Spec = {
          ...base,
          blocks: base.blocks.map((b, j) => (j === i ? { ...b, cout: b.cout + grow } : b)),
        };
        const a = estimate(build(base), { opt, batch });
        const b = estimate(build(grown), { opt, batch });
        return b.latencyUs >= a.latencyUs && b.ddrBytesPerRun >= a.ddrBytesPerRun;
      },
    ),
    { seed: 42, numRuns: 60 },
  );
});

Deno.test("estimatePerformance() latency and DDR never increase with the opt level", () => {
  fc.assert(
    fc.property(specArb, fc.integer({ min: 1, max: 64 }), (spec, batch) => {
      const model = build(spec);
      const runs = OPT_LEVELS.map((opt) => estimate(model, { opt, batch }));
      return runs.every((r, i) =>
        i === 0 || (r.latencyUs <= runs[i - 1].latencyUs && r.ddrBytesPerRun <= runs[i - 1].ddrBytesPerRun)
      );
    }),
    { seed: 42, numRuns: 60 },
  );
});

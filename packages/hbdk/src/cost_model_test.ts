import { assert, assertAlmostEquals, assertEquals, assertGreater, assertThrows } from "@std/assert";
import fc from "fast-check";
import { clearMarch, type LayerDesc, March, mobileNetV2Layers, setMarch } from "@hqat/march-bayes";
import { estimatePerformance, type PerformanceEstimate } from "./cost_model.ts";
import { OPT_LEVELS, type OptLevel } from "./schedule.ts";

const BAYES = { march: March.BAYES } as const;
const within = (actual: number, expected: number, fraction: number, what: string) =>
  assert(
    Math.abs(actual / expected - 1) <= fraction,
    `${what}: ${actual} is not within ${fraction * 100} % of ${expected}`,
  );

Deno.test("estimatePerformance() meets the published MobileNetV2 batch-1 anchor (O1, pyramid)", () => {
  const e = estimatePerformance(mobileNetV2Layers(), { ...BAYES, opt: "O1", inputSource: "pyramid" });
  within(e.fps, 2655.57, 0.25, "FPS");
  within(e.latencyUs, 376.6, 0.25, "latency µs");
  within(e.ddrBytesPerFrame, 2481312, 0.10, "DDR bytes per frame");
  assertEquals(e.framesPerRun, 1);
});

Deno.test("estimatePerformance() meets the published MobileNetV2 batch-256 anchor (O1, pyramid)", () => {
  const e = estimatePerformance(mobileNetV2Layers(), {
    ...BAYES,
    opt: "O1",
    inputSource: "pyramid",
    batch: 256,
  });
  within(e.fps, 5723, 0.25, "FPS");
  within(e.latencyMs, 44.73, 0.25, "latency ms");
  within(e.ddrBytesPerFrame, 1403592, 0.10, "DDR bytes per frame");
  within(e.loadedBytesPerFrame, 707232, 0.10, "loaded bytes per frame");
  within(e.storedBytesPerFrame, 696360, 0.10, "stored bytes per frame");
  assertEquals(e.framesPerRun, 256);
  assertAlmostEquals(e.fps, 256 / (e.latencyUs * 1e-6), 1e-6);
});

Deno.test("estimatePerformance() counts 2 ops per MAC, 221,184 MACs per frame in the first conv", () => {
  const e = estimatePerformance(mobileNetV2Layers(), { ...BAYES, batch: 4 });
  assertEquals(e.layers[0].name, "features.0.0");
  assertEquals(e.layers[0].macs, 221184 * 4);
  assertEquals(e.layers[0].ops, 2 * 221184 * 4);
  assertEquals(e.macsPerFrame, 6124928);
  assertEquals(e.opsPerFrame, 2 * e.macsPerFrame);
});

Deno.test("estimatePerformance() totals are the sums of its steps", () => {
  const e = estimatePerformance(mobileNetV2Layers(), { ...BAYES, batch: 8, opt: "O2" });
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
  const layers = mobileNetV2Layers();
  const one = estimatePerformance(layers, { ...BAYES, batch: 1 });
  const many = estimatePerformance(layers, { ...BAYES, batch: 64 });
  assertEquals(one.weightBytesPerRun, many.weightBytesPerRun);
  const ddr = estimatePerformance(layers, { ...BAYES, inputSource: "ddr" });
  const pyramid = estimatePerformance(layers, { ...BAYES, inputSource: "pyramid" });
  const yuv444 = estimatePerformance(layers, { ...BAYES, inputSource: "pyramid", pyramidFormat: "yuv444" });
  assertEquals(ddr.loadedBytesPerFrame - pyramid.loadedBytesPerFrame, 3072 - 1536);
  assertEquals(yuv444.loadedBytesPerFrame - pyramid.loadedBytesPerFrame, 3072 - 1536);
  assertEquals(pyramid.storedBytesPerFrame, 64);
});

Deno.test("estimatePerformance() never gets slower or moves more DDR at a higher opt level, and O3 beats O0", () => {
  for (const fused of [true, false]) {
    for (const batch of [1, 16, 256]) {
      const runs = OPT_LEVELS.map((opt) =>
        estimatePerformance(mobileNetV2Layers({ fused }), { ...BAYES, opt, batch, inputSource: "pyramid" })
      );
      for (let i = 1; i < runs.length; i++) {
        assert(runs[i].latencyUs <= runs[i - 1].latencyUs, `${OPT_LEVELS[i]} latency at batch ${batch}`);
        assert(
          runs[i].ddrBytesPerRun <= runs[i - 1].ddrBytesPerRun,
          `${OPT_LEVELS[i]} DDR at batch ${batch}`,
        );
      }
      assertGreater(runs[0].latencyUs, runs[3].latencyUs);
      assertGreater(runs[0].ddrBytesPerRun, runs[3].ddrBytesPerRun);
    }
  }
});

Deno.test("estimatePerformance() gives the same estimate for fused and unfused layer lists from O1 on", () => {
  for (const opt of ["O1", "O2", "O3"] as const) {
    const a = estimatePerformance(mobileNetV2Layers(), { ...BAYES, opt, batch: 32 });
    const b = estimatePerformance(mobileNetV2Layers({ fused: false }), { ...BAYES, opt, batch: 32 });
    assertAlmostEquals(a.latencyUs, b.latencyUs, 1e-9);
    assertEquals(a.ddrBytesPerRun, b.ddrBytesPerRun);
  }
});

Deno.test("estimatePerformance() uses the march set with setMarch() and rejects bad options", () => {
  const layers = mobileNetV2Layers();
  clearMarch();
  assertThrows(
    () => estimatePerformance(layers),
    RangeError,
    "estimatePerformance: no march given and none set",
  );
  setMarch(March.BAYES);
  assertEquals(estimatePerformance(layers).march, "bayes");
  clearMarch();
  assertThrows(
    () => estimatePerformance(layers, { march: March.BERNOULLI2 }),
    RangeError,
    'march "bayes" only',
  );
  assertThrows(
    () => estimatePerformance(layers, { ...BAYES, opt: "O4" as OptLevel }),
    RangeError,
    'unknown opt "O4"',
  );
  assertThrows(
    () => estimatePerformance(layers, { ...BAYES, batch: 0 }),
    RangeError,
    "batch must be a positive integer",
  );
  assertThrows(() => estimatePerformance([], BAYES), RangeError, "the model has no layers");
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

function build(spec: Spec, fused: boolean): LayerDesc[] {
  const layers: LayerDesc[] = [];
  let c = spec.c, h = spec.hw, prev = "";
  const from = (name: string) => (name ? { from: name } : {});
  spec.blocks.forEach((b, i) => {
    const cout = b.dw ? c : b.cout;
    const oh = Math.floor((h + 2 * Math.floor(b.k / 2) - b.k) / b.s) + 1;
    const input = { shape: [1, c, h, h], dtype: "qint8" as const, ...from(prev) };
    const residual = b.residual && cout === c && oh === h && b.s === 1 && prev !== "";
    const name = `b${i}`;
    layers.push({
      name,
      op: "conv2d",
      inputs: residual && fused ? [input, { ...input }] : [input],
      output: { shape: [1, cout, oh, oh], dtype: "qint8" },
      attrs: {
        kernel: [b.k, b.k],
        stride: [b.s, b.s],
        padding: [Math.floor(b.k / 2), Math.floor(b.k / 2)],
        groups: b.dw ? c : 1,
        ...(residual && fused ? { fusedAdd: true } : {}),
        ...(b.relu && fused && !residual ? { fusedRelu: "relu" as const } : {}),
      },
    });
    let out = name;
    const t = { shape: [1, cout, oh, oh], dtype: "qint8" as const };
    if (residual && !fused) {
      layers.push({
        name: `${name}.add`,
        op: "add",
        inputs: [{ ...t, from: out }, { ...input }],
        output: t,
        attrs: {},
      });
      out = `${name}.add`;
    }
    if (b.relu && !fused && !residual) {
      layers.push({ name: `${name}.relu`, op: "relu", inputs: [{ ...t, from: out }], output: t, attrs: {} });
      out = `${name}.relu`;
    }
    prev = out;
    c = cout;
    h = oh;
  });
  const pooled = { shape: [1, c, 1, 1], dtype: "qint8" as const };
  layers.push({
    name: "pool",
    op: "adaptive_avg_pool2d",
    inputs: [{ shape: [1, c, h, h], dtype: "qint8", from: prev }],
    output: pooled,
    attrs: {},
  });
  layers.push({
    name: "drop",
    op: "dropout",
    inputs: [{ ...pooled, from: "pool" }],
    output: pooled,
    attrs: {},
  });
  layers.push({
    name: "fc",
    op: "linear",
    inputs: [{ shape: [1, c], dtype: "qint8", from: "drop" }],
    output: { shape: [1, spec.classes], dtype: "qint32" },
    attrs: { inFeatures: c, outFeatures: spec.classes, output32: true, isModelOutput: true },
  });
  return layers;
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
      fc.integer({ min: 1, max: 128 }),
      (spec, pick, grow, opt, batch) => {
        const i = pick % spec.blocks.length;
        // Residual adds only join equal shapes; keep the structure fixed while channels grow.
        const base: Spec = {
          ...spec,
          blocks: spec.blocks.map((b) => ({ ...b, dw: b.dw && false, residual: false })),
        };
        const grown: Spec = {
          ...base,
          blocks: base.blocks.map((b, j) => (j === i ? { ...b, cout: b.cout + grow } : b)),
        };
        const options = { ...BAYES, opt, batch };
        const a = estimatePerformance(build(base, true), options);
        const b = estimatePerformance(build(grown, true), options);
        return b.latencyUs >= a.latencyUs && b.ddrBytesPerRun >= a.ddrBytesPerRun;
      },
    ),
    { seed: 42, numRuns: 200 },
  );
});

Deno.test("estimatePerformance() latency and DDR never increase with the opt level", () => {
  fc.assert(
    fc.property(specArb, fc.boolean(), fc.integer({ min: 1, max: 256 }), (spec, fused, batch) => {
      const layers = build(spec, fused);
      const runs = OPT_LEVELS.map((opt) => estimatePerformance(layers, { ...BAYES, opt, batch }));
      return runs.every((r, i) =>
        i === 0 || (r.latencyUs <= runs[i - 1].latencyUs && r.ddrBytesPerRun <= runs[i - 1].ddrBytesPerRun)
      );
    }),
    { seed: 42, numRuns: 200 },
  );
});

import { assertEquals, assertRejects } from "@std/assert";
import fc from "fast-check";
import {
  type BatchLayout,
  type BatchStats,
  type BatchStatsPlan,
  createObserver,
  observeBatchStats,
  type ObserverConfig,
} from "@hqat/qtensor";
import { GPU_TEST, testDevice } from "./gpu_test_util.ts";
import { releaseTensor, uploadTensor } from "./gpu_tensor.ts";
import { batchStatsResident, readBatchStats } from "./observer_stats_resident.ts";

const f32 = Math.fround;

/** Bits of a float64 array, so that -0 and +0 differ in comparisons. */
const bits = (a: Float32Array | Float64Array) =>
  Array.from(new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4));

/** The float32 `d` steps (-1, 0 or 1) up from `v`. */
function nextUp(v: number, d: number): number {
  if (v === 0 && d < 0) return -(2 ** -149);
  const b = Float32Array.of(v), u = new Uint32Array(b.buffer);
  u[0] += v >= 0 ? d : -d;
  return b[0];
}

/**
 * Batches with the values that matter: zeros of both signs, the extremes ±A, bin edges `j · A / bins`
 * and their float32 neighbours, subnormals, and values anywhere in [-A, A]; all of one sign (so that an
 * extreme may be a zero of either sign) or a constant batch.
 */
const batch = (maxLength: number) =>
  fc.record({
    scale: fc.constantFrom(1, 3, 1e-3, 7e20, 1e-40),
    constant: fc.boolean(),
    sign: fc.constantFrom(0, 1, -1),
    parts: fc.array(
      fc.oneof(
        fc.constantFrom(0, -0, 1, -1),
        fc.record({
          j: fc.integer({ min: 0, max: 2048 }),
          bins: fc.constantFrom(2048, 8, 100),
          d: fc.integer({ min: -1, max: 1 }),
        }).map(({ j, bins, d }) => nextUp(f32(j / bins), d)),
        fc.float({ min: -1, max: 1, noNaN: true }),
      ),
      { minLength: 1, maxLength },
    ),
  }).map(({ scale, constant, sign, parts }) => {
    // One sign keeps the zeros' signs: -0 stays -0 in a non-negative batch and +0 in a non-positive one.
    const signed = parts.map((v) => (sign > 0 && v < 0) || (sign < 0 && v > 0) ? -v : v);
    return Float32Array.from(constant ? signed.map(() => signed[0] * scale) : signed.map((v) => v * scale));
  });

async function bothStats(x: Float32Array, plan: BatchStatsPlan, o: { axis?: number; shape: number[] }) {
  const cpu = observeBatchStats(x, plan, { name: "t", axis: o.axis, shape: o.shape });
  const dev = await testDevice();
  const t = uploadTensor(dev, x, o.shape);
  const layout: BatchLayout = o.axis === undefined ? { outer: 1, channels: 1, inner: x.length } : {
    outer: o.shape.slice(0, o.axis).reduce((a, b) => a * b, 1),
    channels: o.shape[o.axis],
    inner: o.shape.slice(o.axis + 1).reduce((a, b) => a * b, 1),
  };
  const gpu = await readBatchStats(dev, batchStatsResident(dev, t, plan, layout), "t");
  releaseTensor(dev, t);
  return { cpu, gpu };
}

function assertSameStats(gpu: BatchStats, cpu: BatchStats, what: string) {
  assertEquals(gpu.count, cpu.count, what);
  assertEquals(bits(gpu.min), bits(cpu.min), `${what}: min ${gpu.min} vs ${cpu.min}`);
  assertEquals(bits(gpu.max), bits(cpu.max), `${what}: max ${gpu.max} vs ${cpu.max}`);
  assertEquals(Array.from(gpu.hist), Array.from(cpu.hist), `${what}: histogram`);
  assertEquals(bits(gpu.errors), bits(cpu.errors), `${what}: errors ${gpu.errors} vs ${cpu.errors}`);
}

/** The plan an observer makes for a batch (the qconfigs' observers, at both dtypes). */
function planOf(config: ObserverConfig, dtype: "qint8" | "qint16", count: number): BatchStatsPlan {
  return createObserver(config, { dtype }).statsPlan!(count);
}

Deno.test({
  name: "batchStatsResident() gives the percentile observer's min, max and 2048-bin histogram bit for bit",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(batch(600), async (x) => {
        const plan = planOf({ kind: "percentile" }, "qint8", x.length);
        const { cpu, gpu } = await bothStats(x, plan, { shape: [x.length] });
        assertSameStats(gpu, cpu, "percentile");
      }),
      { seed: 7, numRuns: 40 },
    );
  },
});

Deno.test({
  name: "batchStatsResident() gives per-channel histograms bit for bit, in workgroup memory or not (KL)",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        batch(3000),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(0, 1),
        fc.constantFrom(0, 1, 7, 300, 2048, 3000),
        async (x, ch, axis, bins) => {
          const n = x.length - (x.length % ch);
          if (n === 0) return;
          const shape = axis === 0 ? [ch, n / ch] : [1, ch, n / ch];
          const { cpu, gpu } = await bothStats(x.subarray(0, n), { kind: "histogram", bins }, {
            axis,
            shape,
          });
          assertSameStats(gpu, cpu, `histogram [${shape}] ${bins}`);
        },
      ),
      { seed: 8, numRuns: 30 },
    );
    // The KL observer's own plan: 2048 bins for 40,000 values, none for a sparse batch.
    for (const n of [40000, 1000]) {
      const x = Float32Array.from({ length: n }, (_, i) => -Math.log(((i * 0.6180339887) % 1) + 1e-9));
      const plan = planOf({ kind: "kl" }, "qint8", n);
      const { cpu, gpu } = await bothStats(x, plan, { shape: [n] });
      assertSameStats(gpu, cpu, `kl ${n}`);
    }
  },
});

Deno.test({
  name:
    "batchStatsResident() gives the MSE observer's candidate errors bit for bit (qint8, qint16, both roundings)",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        batch(700),
        fc.constantFrom("qint8" as const, "qint16" as const),
        fc.constantFrom("halfToEven" as const, "bpu" as const),
        fc.constantFrom(1, 5),
        async (x, dtype, rounding, stride) => {
          const plan = planOf({ kind: "mse", rounding, stride }, dtype, x.length);
          const { cpu, gpu } = await bothStats(x, plan, { shape: [x.length] });
          assertSameStats(gpu, cpu, `mse ${dtype} ${rounding}`);
        },
      ),
      { seed: 9, numRuns: 25 },
    );
  },
});

Deno.test({
  name: "batchStatsResident() sums the MSE errors over three levels of blocks as the CPU does",
  ...GPU_TEST,
  async fn() {
    const n = 256 * 256 + 300;
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * (i % 97 === 0 ? 40 : 1));
    const plan = planOf({ kind: "mse", stride: 47 }, "qint8", n);
    const { cpu, gpu } = await bothStats(x, plan, { shape: [4, n / 4] });
    assertSameStats(gpu, cpu, "mse, 3 levels");
  },
});

Deno.test({
  name: "readBatchStats() names the module and the first non-finite element, as the CPU observer does",
  ...GPU_TEST,
  async fn() {
    const x = Float32Array.from({ length: 3000 }, (_, i) => i);
    x[2500] = -Infinity;
    x[1700] = NaN;
    const dev = await testDevice();
    const t = uploadTensor(dev, x, [3000]);
    const run = batchStatsResident(dev, t, { kind: "histogram", bins: 16 }, {
      outer: 1,
      channels: 1,
      inner: 3000,
    });
    await assertRejects(
      () => readBatchStats(dev, run, "layer3"),
      RangeError,
      '"layer3" saw a non-finite value (NaN) at element 1700',
    );
    releaseTensor(dev, t);
  },
});

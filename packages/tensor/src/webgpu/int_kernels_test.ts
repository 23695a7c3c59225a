import fc from "fast-check";
import { assertEquals, assertThrows } from "@std/assert";
import {
  computeMultiplier,
  type FusedActivation,
  intAdaptiveAvgPool2d,
  intAdd,
  intAvgPool2d,
  intConv2d,
  intLinear,
  intMaxPool2d,
  type IntOutput,
  type QTensor,
  qtensor,
  requantize,
} from "@hqat/qtensor";
import { assertExact, GPU_FC, GPU_TEST, rng, testDevice } from "./gpu_test_util.ts";
import { intAddGpu, intConv2dGpu, intLinearGpu, requantizeGpu } from "./int_kernels.ts";
import { intAdaptiveAvgPool2dGpu, intAvgPool2dGpu, intMaxPool2dGpu } from "./int_pool_kernels.ts";

function q(
  dtype: "qint8" | "qint16",
  shape: number[],
  seed: number,
  scale: number | number[] = 0.05,
  axis?: number,
): QTensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const [lo, span] = dtype === "qint8" ? [-128, 256] : [-32768, 65536];
  const data = dtype === "qint8" ? new Int8Array(n) : new Int16Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + Math.floor(r() * span);
  return qtensor(data, { shape, scale, axis });
}

/** Asserts two QTensors are equal: data bit for bit, and the same dtype, shape, scales and axis. */
function assertSameQ(gpu: QTensor, cpu: QTensor, what: string): void {
  assertExact(gpu.data, cpu.data, what);
  assertEquals([gpu.dtype, gpu.shape, Array.from(gpu.scale), gpu.axis], [
    cpu.dtype,
    cpu.shape,
    Array.from(cpu.scale),
    cpu.axis,
  ], what);
}

const outputs = fc.constantFrom<IntOutput>(
  { dtype: "qint8", scale: 0.05 },
  { dtype: "qint16", scale: 0.0003 },
  { dtype: "qint32" },
);
const activations = fc.constantFrom<FusedActivation | undefined>(undefined, "relu", "relu6");

Deno.test({
  name: "intConv2dGpu() equals intConv2d() bit for bit (int8/int16 input, groups, bias, every output)",
  ...GPU_TEST,
  async fn() {
    const device = await testDevice();
    await fc.assert(
      fc.asyncProperty(
        outputs,
        activations,
        fc.constantFrom("qint8" as const, "qint16" as const),
        fc.constantFrom(1, 3),
        fc.constantFrom(1, 8),
        fc.nat(),
        async (
          output,
          activation,
          dtype,
          groups,
          cog,
          seed,
        ) => {
          const co = cog * groups;
          const x = q(dtype, [2, 2 * groups, 6, 5], seed, dtype === "qint8" ? 0.02 : 0.0001);
          const sw = Array.from({ length: co }, (_, c) => 0.001 * (1 + ((c * 7 + seed) % 5)));
          const w = q("qint8", [co, 2, 3, 3], seed + 1, sw, 0);
          const bias = Array.from({ length: co }, (_, c) => ((c * 13 + seed) % 9) - 4);
          const opts = {
            stride: [1, 2] as const,
            padding: 1,
            dilation: [2, 1] as const,
            groups,
            bias,
            output,
            activation,
          };
          assertSameQ(await intConv2dGpu(x, w, { ...opts, device }), intConv2d(x, w, opts), "intConv2d");
        },
      ),
      { ...GPU_FC, numRuns: 6 },
    );
  },
});

Deno.test({
  name: "intLinearGpu() equals intLinear() bit for bit",
  ...GPU_TEST,
  async fn() {
    const device = await testDevice();
    await fc.assert(
      fc.asyncProperty(
        outputs,
        activations,
        fc.constantFrom("qint8" as const, "qint16" as const),
        fc.nat(),
        async (output, activation, dtype, seed) => {
          const x = q(dtype, [3, 2, 70], seed, dtype === "qint8" ? 0.02 : 0.0001);
          const w = q("qint8", [9, 70], seed + 1, Array.from({ length: 9 }, (_, c) => 0.002 * (c + 1)), 0);
          const opts = { bias: Array.from({ length: 9 }, (_, c) => c - 4), output, activation };
          assertSameQ(await intLinearGpu(x, w, { ...opts, device }), intLinear(x, w, opts), "intLinear");
        },
      ),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "intAddGpu() equals intAdd() bit for bit for either scale order and mixed dtypes",
  ...GPU_TEST,
  async fn() {
    const device = await testDevice();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("qint8" as const, "qint16" as const),
        fc.constantFrom("qint8" as const, "qint16" as const),
        activations,
        fc.nat(),
        async (da, db, activation, seed) => {
          const r = rng(seed);
          const x = q(da, [4, 9], seed, Math.fround(2 ** (-8 + 4 * r())));
          const y = q(db, [4, 9], seed + 1, Math.fround(2 ** (-8 + 4 * r())));
          const opts = {
            output: { dtype: "qint8" as const, scale: Math.fround(2 ** (-6 + 4 * r())) },
            activation,
          };
          assertSameQ(await intAddGpu(x, y, { ...opts, device }), intAdd(x, y, opts), "intAdd");
        },
      ),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "intAvgPool2dGpu(), intAdaptiveAvgPool2dGpu() and intMaxPool2dGpu() equal the CPU pools",
  ...GPU_TEST,
  async fn() {
    const device = await testDevice();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        activations,
        fc.nat(),
        async (k, s, pad, activation, seed) => {
          const x = q(seed % 2 ? "qint8" : "qint16", [2, 3, 7, 6], seed, 0.03);
          const geo = {
            kernelSize: [k, k + 1] as const,
            stride: s,
            padding: pad ? [Math.floor(k / 2), 0] as const : 0,
          };
          const output = { dtype: "qint8" as const, scale: 0.02 };
          assertSameQ(
            await intAvgPool2dGpu(x, { ...geo, output, activation, device }),
            intAvgPool2d(x, { ...geo, output, activation }),
            "avg",
          );
          assertSameQ(
            await intAdaptiveAvgPool2dGpu(x, { output, device }),
            intAdaptiveAvgPool2d(x, { output }),
            "adaptive",
          );
          const mp = { ...geo, dilation: [1 + (seed % 2), 1] as const };
          assertSameQ(await intMaxPool2dGpu(x, { ...mp, device }), intMaxPool2d(x, mp), "max");
        },
      ),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "requantizeGpu() equals requantize() for per-tensor and per-channel multipliers",
  ...GPU_TEST,
  async fn() {
    const device = await testDevice();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 6, maxLength: 6 }),
        fc.double({ min: 1e-9, max: 3e4, noNaN: true }),
        activations,
        async (acc, m, activation) => {
          const a = Int32Array.from(acc);
          const single = { dtype: "qint16" as const, activation, scale: 0.01 };
          assertExact(
            await requantizeGpu(a, computeMultiplier(m), { ...single, device }),
            requantize(a, computeMultiplier(m), single),
            "per tensor",
          );
          const mults = [computeMultiplier(m), computeMultiplier(m / 3), computeMultiplier(m * 7)];
          const perChannel = {
            dtype: "qint8" as const,
            axis: 0,
            shape: [3, 2],
            activation,
            scale: [0.01, 0.02, 0.5],
          };
          assertExact(
            await requantizeGpu(a, mults, { ...perChannel, device }),
            requantize(a, mults, perChannel),
            "per channel",
          );
        },
      ),
      { seed: 42, numRuns: 20 },
    );
  },
});

Deno.test({
  name: "intConv2dGpu() and intLinearGpu() reject what the CPU kernels reject, before touching the GPU",
  ...GPU_TEST,
  async fn() {
    const device = await testDevice();
    const x = q("qint8", [1, 3, 4, 4], 1);
    const w = q("qint8", [2, 2, 3, 3], 2, [0.1, 0.1], 0);
    assertThrows(
      () => intConv2dGpu(x, w, { output: { dtype: "qint8", scale: 1 }, device }),
      RangeError,
      "do not fit 1 groups",
    );
    const x16 = q("qint16", [1, 70000], 3);
    const wide = qtensor(new Int8Array(70000).fill(-128), { shape: [1, 70000], scale: 1 });
    assertThrows(
      () => intLinearGpu(x16, wide, { output: { dtype: "qint32" }, device }),
      RangeError,
      "outside int32",
    );
    const pooled = await intMaxPool2dGpu(q("qint8", [1, 1, 3, 3], 4), { kernelSize: 3, device });
    assertEquals(pooled.shape, [1, 1, 1, 1]);
  },
});

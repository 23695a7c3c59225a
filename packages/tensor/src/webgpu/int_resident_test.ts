import fc from "fast-check";
import { assertEquals, assertThrows } from "@std/assert";
import {
  type FusedActivation,
  intAdd,
  intAvgPool2d,
  intCat,
  intConv2d,
  intLinear,
  intMaxPool2d,
  intRelu6,
  type QTensor,
  qtensor,
  quantStub,
  requantize,
} from "@hqat/qtensor";
import { assertExact, GPU_FC, GPU_TEST, rng, testDevice } from "./gpu_test_util.ts";
import { readTensor, releaseTensor, uploadTensor } from "./gpu_tensor.ts";
import { requantPlan } from "./requant_kernel.ts";
import {
  addPlan,
  addSumResident,
  catResident,
  convAccResident,
  linearAccResident,
  maxPoolResident,
  quantizeResident,
  requantResident,
  uploadRequant,
  windowSumResident,
} from "./int_resident.ts";

function q(
  dtype: "qint8" | "qint16",
  shape: number[],
  seed: number,
  scale: number | number[] = 0.05,
): QTensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const [lo, span] = dtype === "qint8" ? [-128, 256] : [-32768, 65536];
  const data = dtype === "qint8" ? new Int8Array(n) : new Int16Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + Math.floor(r() * span);
  return qtensor(data, { shape, scale, axis: typeof scale === "number" ? undefined : 0 });
}

const activations = fc.constantFrom<FusedActivation | undefined>(undefined, "relu", "relu6");

Deno.test({
  name: "requantResident() equals requantize() on int8, int16 and int32 inputs, per channel, with a bias",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("int8" as const, "int16" as const, "int32" as const),
        fc.constantFrom("qint8" as const, "qint16" as const, "qint32" as const),
        activations,
        fc.nat(),
        async (inDtype, outDtype, activation, seed) => {
          const r = rng(seed);
          const shape = [2, 3, 5];
          const n = 30, span = inDtype === "int8" ? 256 : inDtype === "int16" ? 65536 : 2 ** 31;
          const data = inDtype === "int8"
            ? new Int8Array(n)
            : inDtype === "int16"
            ? new Int16Array(n)
            : new Int32Array(n);
          for (let i = 0; i < n; i++) data[i] = Math.floor((r() - 0.5) * span);
          const bias = Int32Array.of(7, -300, 12345);
          const numerator = [0.002, 0.0005, 0.03].map((v) => v * (0.5 + r()));
          const output = outDtype === "qint32"
            ? { dtype: outDtype }
            : { dtype: outDtype, scale: 0.01 * (1 + r()) };
          const plan = requantPlan({ numerator, divisor: 1 }, output, activation);
          // The CPU reference: the int32 sum with the bias, then requantize per channel along axis 1.
          const acc = Int32Array.from(data, (v, i) => v + bias[Math.floor(i / 5) % 3]);
          const want = requantize(acc, plan.mult, {
            dtype: outDtype,
            axis: 1,
            shape,
            activation,
            scale: plan.scale.length === 1 ? plan.scale[0] : plan.scale,
          });
          const requant = uploadRequant(dev, plan);
          const x = uploadTensor(dev, data, shape), b = uploadTensor(dev, bias, [3]);
          const out = { qint8: "int8", qint16: "int16", qint32: "int32" }[outDtype] as "int8";
          const y = requantResident(dev, x, { requant, inner: 5, out, bias: { tensor: b, inner: 5 } });
          assertExact(await readTensor(dev, y), want, `${inDtype} to ${outDtype} ${activation}`);
          for (const t of [x, b, y, requant.params]) releaseTensor(dev, t);
        },
      ),
      { ...GPU_FC, numRuns: 8 },
    );
  },
});

Deno.test({
  name: "requantResident() with M = 1, n = 0 clamps like intRelu6() per channel",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    const x = qtensor(Int32Array.from({ length: 12 }, (_, i) => i * 37 - 200), {
      shape: [1, 3, 2, 2],
      scale: [0.1, 0.05, 2],
      axis: 1,
    });
    const want = intRelu6(x);
    const hi = [60, 120, 3];
    const requant = uploadRequant(dev, { mult: hi.map(() => ({ M: 1, n: 0 })), lo: 0, hi, scale: [1] });
    const t = uploadTensor(dev, x.data, x.shape);
    assertExact(
      await readTensor(dev, requantResident(dev, t, { requant, inner: 4, out: "int32" })),
      want.data,
    );
    assertThrows(() => requantResident(dev, t, { requant, inner: 4, out: "float32" }), TypeError, "int8");
  },
});

Deno.test({
  name: "convAccResident(), linearAccResident() and requantResident() give intConv2d() and intLinear()",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("qint8" as const, "qint16" as const),
        fc.constantFrom(1, 4),
        activations,
        fc.nat(),
        async (dtype, groups, activation, seed) => {
          const x = q(dtype, [2, 4, 6, 5], seed, dtype === "qint8" ? 0.02 : 0.0001);
          const co = 8, sw = Array.from({ length: co }, (_, c) => 0.001 * (1 + ((c + seed) % 5)));
          const w = q("qint8", [co, 4 / groups, 3, 3], seed + 1, sw);
          const quantizedBias = Int32Array.from({ length: co }, (_, c) => ((c * 13 + seed) % 9) - 4);
          const geometry = { stride: [2, 1], padding: [1, 1], dilation: [1, 2], groups } as const;
          const output = { dtype: "qint8" as const, scale: 0.05 };
          const want = intConv2d(x, w, { ...geometry, quantizedBias, output, activation });
          const accScale = sw.map((s) => Math.fround(x.scale[0]) * Math.fround(s));
          const requant = uploadRequant(
            dev,
            requantPlan({ numerator: accScale, divisor: 1 }, output, activation),
          );
          const xt = uploadTensor(dev, x.data, x.shape), wt = uploadTensor(dev, w.data, w.shape);
          const bt = uploadTensor(dev, quantizedBias, [co]);
          const acc = convAccResident(dev, xt, { weight: wt, geometry });
          const inner = acc.shape[2] * acc.shape[3];
          const y = requantResident(dev, acc, { requant, inner, out: "int8", bias: { tensor: bt, inner } });
          assertEquals(y.shape, want.shape);
          assertExact(await readTensor(dev, y), want.data, "conv");

          const lx = q(dtype, [3, 40], seed + 2, 0.01), lw = q("qint8", [5, 40], seed + 3, 0.02);
          const lin = intLinear(lx, lw, { output: { dtype: "qint32" } });
          const la = linearAccResident(dev, uploadTensor(dev, lx.data, lx.shape), {
            weight: uploadTensor(dev, lw.data, lw.shape),
          });
          assertExact(await readTensor(dev, la), lin.data, "linear");
        },
      ),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "addSumResident() and addPlan() give intAdd() in either scale order",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    for (
      const [sa, sb, da, db] of [[0.1, 0.03, "qint8", "qint16"], [0.01, 0.2, "qint16", "qint8"]] as const
    ) {
      const a = q(da, [2, 3, 4], 5, sa), b = q(db, [2, 3, 4], 6, sb);
      const output = { dtype: "qint8" as const, scale: 0.1 };
      const want = intAdd(a, b, { output, activation: "relu" });
      const p = addPlan({ scale: a.scale[0], dtype: da }, { scale: b.scale[0], dtype: db });
      const at = uploadTensor(dev, a.data, a.shape), bt = uploadTensor(dev, b.data, b.shape);
      const sum = addSumResident(dev, p.swap ? [bt, at] : [at, bt], p);
      const requant = uploadRequant(
        dev,
        requantPlan({ numerator: [p.shiftedScale], divisor: 2 ** p.k }, output, "relu"),
      );
      assertExact(
        await readTensor(dev, requantResident(dev, sum, { requant, inner: 1, out: "int8" })),
        want.data,
      );
      assertThrows(
        () => addSumResident(dev, [at, uploadTensor(dev, new Int8Array(4), [4])], p),
        RangeError,
        "differ",
      );
    }
  },
});

Deno.test({
  name: "windowSumResident(), maxPoolResident() and catResident() give the CPU pools and intCat()",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    const x = q("qint8", [2, 3, 7, 6], 9, 0.03);
    const g = { kernel: [3, 2], stride: [2, 1], padding: [1, 1] } as const;
    const output = { dtype: "qint16" as const, scale: 0.001 };
    const avg = intAvgPool2d(x, { kernelSize: g.kernel, stride: g.stride, padding: g.padding, output });
    const xt = uploadTensor(dev, x.data, x.shape);
    const sums = windowSumResident(dev, xt, g);
    const requant = uploadRequant(dev, requantPlan({ numerator: [x.scale[0]], divisor: 6 }, output));
    assertExact(
      await readTensor(dev, requantResident(dev, sums, { requant, inner: 1, out: "int16" })),
      avg.data,
    );
    const max = intMaxPool2d(x, {
      kernelSize: g.kernel,
      stride: g.stride,
      padding: g.padding,
      dilation: [1, 2],
    });
    assertExact(await readTensor(dev, maxPoolResident(dev, xt, { ...g, dilation: [1, 2] })), max.data, "max");
    assertThrows(
      () => windowSumResident(dev, xt, { ...g, padding: [2, 0] }),
      RangeError,
      "exceeds half",
    );

    const a = q("qint8", [2, 2, 3], 1, 0.1), b = q("qint8", [2, 1, 3], 2, 0.1);
    const cat = intCat([a, b], { axis: 1, output: { dtype: "qint8", scale: 0.1 } });
    const parts = [a, b].map((t) => uploadTensor(dev, t.data, t.shape));
    assertExact(await readTensor(dev, catResident(dev, parts, { axis: -2 })), cat.data, "cat");
    assertThrows(() => catResident(dev, [parts[0], xt], { axis: 1 }), RangeError, "off axis");
  },
});

Deno.test({
  name: "quantizeResident() equals quantStub() on ties, saturation and both dtypes",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    const r = rng(3);
    const xs = Float32Array.from({ length: 257 }, (_, i) => i < 8 ? (i - 4) / 256 : (r() - 0.5) * 5);
    for (const dtype of ["qint8", "qint16"] as const) {
      const scale = dtype === "qint8" ? 1 / 128 : 1e-4;
      const want = quantStub(xs, { shape: [257], scale, dtype });
      const s = uploadTensor(dev, Float32Array.of(scale), [1]);
      const y = quantizeResident(dev, uploadTensor(dev, xs, [257]), { scale: s, dtype });
      assertExact(await readTensor(dev, y), want.data, dtype);
    }
  },
});

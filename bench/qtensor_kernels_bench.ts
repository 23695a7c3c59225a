import { qtensor } from "../packages/qtensor/src/dtypes.ts";
import { lsqFakeQuantizeGrad } from "../packages/qtensor/src/fake_quant_grad.ts";
import { intConv2d } from "../packages/qtensor/src/int_conv.ts";
import { fakeQuantize, quantize } from "../packages/qtensor/src/quantize.ts";
import { computeMultiplier, requantize } from "../packages/qtensor/src/requantize.ts";

const N = 1 << 20;
const x = Float32Array.from({ length: N }, (_, i) => Math.sin(i) * 3);
const acc = Int32Array.from({ length: N }, (_, i) => (i * 7919) % 200000 - 100000);
const perChannel = { axis: 1, shape: [16, 64, 32, 32] };
const scales = Float32Array.from({ length: 64 }, (_, c) => 0.01 + c * 1e-4);

Deno.bench("fakeQuantize() 1M float32, per tensor", { group: "fq" }, () => {
  fakeQuantize(x, 0.0234);
});
Deno.bench("fakeQuantize() 1M float32, per channel (64)", { group: "fq" }, () => {
  fakeQuantize(x, scales, perChannel);
});
Deno.bench("quantize() 1M float32", { group: "fq" }, () => {
  quantize(x, 0.0234);
});
Deno.bench("lsqFakeQuantizeGrad() 1M float32", { group: "fq" }, () => {
  lsqFakeQuantizeGrad(x, 0.0234, { dy: x });
});
const mult = computeMultiplier(0.00123);
Deno.bench("requantize() 1M int32", () => {
  requantize(acc, mult, { dtype: "qint8" });
});

function convBench(C: number, O: number, HW: number, groups: number, k: number, stride: number) {
  const xq = qtensor(Int8Array.from({ length: C * HW * HW }, (_, i) => (i * 31) % 255 - 127), {
    shape: [1, C, HW, HW],
    scale: 0.05,
  });
  const w = qtensor(Int8Array.from({ length: O * (C / groups) * k * k }, (_, i) => (i * 17) % 255 - 127), {
    shape: [O, C / groups, k, k],
    scale: Float32Array.from({ length: O }, () => 0.01),
    axis: 0,
  });
  const macs = O * (C / groups) * k * k * (HW / stride) ** 2;
  Deno.bench(
    `intConv2d() ${C}→${O} ${k}x${k}/${stride} g${groups} on ${HW}x${HW} (${(macs / 1e6).toFixed(2)} M MACs)`,
    {
      group: "conv",
    },
    () => {
      intConv2d(xq, w, { padding: (k - 1) / 2, stride, groups, output: { dtype: "qint8", scale: 0.1 } });
    },
  );
}
convBench(96, 96, 16, 96, 3, 1); // MobileNetV2 depthwise
convBench(96, 24, 16, 1, 1, 1); // pointwise
convBench(32, 32, 32, 1, 3, 1); // dense 3x3

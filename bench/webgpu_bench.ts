/**
 * Speed of the WebGPU kernels against the CPU backend: matmul GFLOP/s at a few square sizes, and one
 * 3×3 convolution layer (forward, input gradient, weight gradient, and the integer forward). GPU
 * timings are device-resident (operands uploaded once; each iteration records the kernels and waits
 * for the queue), plus one end-to-end `runOpOnGpu` (upload, kernel, read back). Sizes are smaller on a
 * software adapter. Besides `deno bench`'s table, a summary in GFLOP/s is printed at the end.
 *
 *     XDG_RUNTIME_DIR=/tmp deno bench --allow-read --allow-env packages/tensor/src/webgpu/webgpu_bench.ts
 * @module
 */
import { intConv2d, qtensor } from "@hqat/qtensor";
import type { ConvAttrs } from "../packages/tensor/src/ops.ts";
import { CPU_KERNELS } from "../packages/tensor/src/cpu/backend.ts";
import { fromArray, type Tensor } from "../packages/tensor/src/tensor.ts";
import { WebGpuDevice } from "../packages/tensor/src/webgpu/device.ts";
import { type GpuTensor, releaseTensor, uploadTensor } from "../packages/tensor/src/webgpu/gpu_tensor.ts";
import { convAccResident } from "../packages/tensor/src/webgpu/int_resident.ts";
import { GPU_KERNELS, runOpOnGpu } from "../packages/tensor/src/webgpu/kernels.ts";
import { probeWebGpu } from "../packages/tensor/src/webgpu/probe.ts";
import { lcgFloats } from "../packages/tensor/src/cpu/lcg_test_util.ts";

const probe = await probeWebGpu();
const dev = probe.available ? await WebGpuDevice.create() : null;
const software = probe.software;
const gpuName = probe.adapterInfo?.description || probe.adapterInfo?.device || "none";

const timings = new Map<string, { seconds: number[]; flops: number }>();

function timed(name: string, flops: number, fn: () => unknown): () => Promise<void> {
  return async () => {
    const t0 = performance.now();
    await fn();
    const entry = timings.get(name) ?? { seconds: [], flops };
    entry.seconds.push((performance.now() - t0) / 1000);
    timings.set(name, entry);
  };
}

/** Records `kernel` on resident operands, waits for the queue, frees the outputs. */
function resident(run: () => GpuTensor[]): () => Promise<void> {
  return async () => {
    const outs = run();
    await dev!.idle();
    outs.forEach((t) => releaseTensor(dev!, t));
  };
}

const upload = (t: Tensor) => uploadTensor(dev!, t.data, t.shape);
const gpuOpts = (n: number) => ({ ignore: !dev, warmup: software ? 1 : 5, n });

for (const size of software ? [128, 256, 512] : [512, 1024, 2048, 4096]) {
  const a = fromArray(lcgFloats(size * size, 1), [size, size]),
    b = fromArray(lcgFloats(size * size, 2), [size, size]);
  const attrs = { transA: false, transB: false };
  const info = [{ shape: [size, size], dtype: "float32" as const }];
  const flops = 2 * size ** 3;
  const group = `matmul ${size}`;
  const [ga, gb] = dev ? [upload(a), upload(b)] : [];
  Deno.bench({
    name: `matmul ${size}³, WebGPU resident`,
    group,
    baseline: true,
    ...gpuOpts(software ? 3 : 20),
    fn: timed(`matmul ${size} gpu`, flops, resident(() => GPU_KERNELS.matmul(dev!, [ga!, gb!], attrs, info))),
  });
  Deno.bench({
    name: `matmul ${size}³, WebGPU with upload and read back`,
    group,
    ...gpuOpts(software ? 3 : 10),
    fn: timed(`matmul ${size} gpu end-to-end`, flops, () => runOpOnGpu(dev!, "matmul", [a, b], attrs, info)),
  });
  Deno.bench({
    name: `matmul ${size}³, CPU backend`,
    group,
    warmup: 1,
    n: software || size <= 1024 ? 3 : 1,
    fn: timed(`matmul ${size} cpu`, flops, () => CPU_KERNELS.matmul([a, b], attrs, info)),
  });
}

const [n, c, hw, co] = software ? [4, 32, 16, 64] : [64, 64, 32, 64];
const conv: ConvAttrs = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
const x = fromArray(lcgFloats(n * c * hw * hw, 3), [n, c, hw, hw]);
const w = fromArray(lcgFloats(co * c * 9, 4), [co, c, 3, 3]);
const dy = fromArray(lcgFloats(n * co * hw * hw, 5), [n, co, hw, hw]);
const convFlops = 2 * n * co * hw * hw * c * 9;
const layer = `${n}×${c}×${hw}×${hw} by ${co}×${c}×3×3`;
const yInfo = [{ shape: [n, co, hw, hw], dtype: "float32" as const }];
const dxAttrs = { ...conv, xShape: x.shape }, dwAttrs = { ...conv, wShape: w.shape };
const [gx, gw, gdy] = dev ? [upload(x), upload(w), upload(dy)] : [];
const convCases: [string, () => GpuTensor[], () => unknown][] = [
  [
    "forward",
    () => GPU_KERNELS.conv2d(dev!, [gx!, gw!], conv, yInfo),
    () => CPU_KERNELS.conv2d([x, w], conv, yInfo),
  ],
  [
    "input gradient",
    () => GPU_KERNELS.conv2dBackwardInput(dev!, [gdy!, gw!], dxAttrs, []),
    () => CPU_KERNELS.conv2dBackwardInput([dy, w], dxAttrs, []),
  ],
  [
    "weight gradient",
    () => GPU_KERNELS.conv2dBackwardWeight(dev!, [gdy!, gx!], dwAttrs, []),
    () => CPU_KERNELS.conv2dBackwardWeight([dy, x], dwAttrs, []),
  ],
];
for (const [what, gpu, cpu] of convCases) {
  Deno.bench({
    name: `conv ${what} ${layer}, WebGPU resident`,
    group: `conv ${what}`,
    baseline: true,
    ...gpuOpts(software ? 3 : 20),
    fn: timed(`conv ${what} gpu`, convFlops, resident(gpu)),
  });
  Deno.bench({
    name: `conv ${what} ${layer}, CPU backend`,
    group: `conv ${what}`,
    warmup: 1,
    n: 3,
    fn: timed(`conv ${what} cpu`, convFlops, cpu),
  });
}

const qx = qtensor(Int8Array.from(x.data, (v) => Math.round(v * 127)), { shape: x.shape, scale: 0.01 });
const qw = qtensor(Int8Array.from(w.data, (v) => Math.round(v * 127)), {
  shape: w.shape,
  scale: Array.from({ length: co }, () => 0.001),
  axis: 0,
});
const intOpts = { padding: 1, output: { dtype: "qint8", scale: 0.05 }, activation: "relu" } as const;
const gqx = dev && uploadTensor(dev, qx.data, qx.shape), gqw = dev && uploadTensor(dev, qw.data, qw.shape);
const intGeometry = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;
Deno.bench({
  name: `int8 conv ${layer} accumulator, WebGPU (resident operands)`,
  group: "int8 conv",
  baseline: true,
  ...gpuOpts(3),
  fn: timed(
    "int8 conv gpu accumulator",
    convFlops,
    resident(() => [convAccResident(dev!, gqx!, { weight: gqw!, geometry: intGeometry })]),
  ),
});
Deno.bench({
  name: `int8 conv ${layer} + requantize, @hqat/qtensor reference`,
  group: "int8 conv",
  warmup: 0,
  n: 1,
  fn: timed("int8 conv qtensor reference", convFlops, () => intConv2d(qx, qw, intOpts)),
});

globalThis.addEventListener("unload", () => {
  const rows = [...timings].map(([name, t]) => {
    const sorted = [...t.seconds].sort((p, q) => p - q);
    const s = sorted[Math.floor(sorted.length / 2)];
    return { name, "ms (median)": +(s * 1000).toFixed(2), "GFLOP/s": +(t.flops / s / 1e9).toFixed(2) };
  });
  console.log(`WebGPU adapter: ${gpuName}${software ? " (software)" : ""}`);
  console.table(rows);
  dev?.destroy();
});

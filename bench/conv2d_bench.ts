/**
 * Speed of the convolution and GEMM kernels on torchvision's MobileNetV2 (width 1.0, input N×3×32×32):
 * the forward pass of all its convolutions, and all their backward kernels (input + weight), at batch
 * 64 and 256, on the WebAssembly kernels (all threads and one thread) and on the plain-TypeScript
 * reference; plus GEMM GFLOP/s for a few shapes. Besides `deno bench`'s own table, a summary in
 * images/s and GFLOP/s is printed at the end.
 *
 *     deno bench --allow-read packages/tensor/src/cpu/conv2d_bench.ts
 * @module
 */
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
} from "../packages/tensor/src/cpu/conv2d.ts";
import {
  conv2dBackwardInputReference,
  conv2dBackwardWeightReference,
  conv2dForwardReference,
} from "../packages/tensor/src/cpu/conv2d_reference.ts";
import { type Conv2dGeometry, convDims } from "../packages/tensor/src/cpu/conv2d_shapes.ts";
import { matmul } from "../packages/tensor/src/cpu/matmul.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "../packages/tensor/src/cpu/thread_pool.ts";
import { lcgFloats } from "../packages/tensor/src/cpu/lcg_test_util.ts";

interface Layer {
  /** Per-image input [C, H, W]. */
  x: [number, number, number];
  w: [number, number, number, number];
  geo: Conv2dGeometry;
}

function geometry(stride: number, padding: number, groups: number): Conv2dGeometry {
  return { stride: [stride, stride], padding: [padding, padding], dilation: [1, 1], groups };
}

/** The convolutions of MobileNetV2 for a 32×32 input. */
function mobilenetV2Convs(): Layer[] {
  const layers: Layer[] = [{ x: [3, 32, 32], w: [32, 3, 3, 3], geo: geometry(2, 1, 1) }];
  let c = 32, s = 16;
  const settings = [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [
      6,
      320,
      1,
      1,
    ],
  ];
  for (const [t, out, n, stride] of settings) {
    for (let i = 0; i < n; i++) {
      const st = i === 0 ? stride : 1, hidden = c * t;
      if (t !== 1) layers.push({ x: [c, s, s], w: [hidden, c, 1, 1], geo: geometry(1, 0, 1) });
      layers.push({ x: [hidden, s, s], w: [hidden, 1, 3, 3], geo: geometry(st, 1, hidden) });
      s = Math.floor((s + 2 - 3) / st) + 1;
      layers.push({ x: [hidden, s, s], w: [out, hidden, 1, 1], geo: geometry(1, 0, 1) });
      c = out;
    }
  }
  layers.push({ x: [320, 1, 1], w: [1280, 320, 1, 1], geo: geometry(1, 0, 1) });
  return layers;
}

interface Prepared {
  layer: Layer;
  xShape: number[];
  yShape: number[];
  x: Float32Array;
  w: Float32Array;
  dy: Float32Array;
}

function prepare(batch: number): Prepared[] {
  return mobilenetV2Convs().map((layer, i) => {
    const xShape = [batch, ...layer.x];
    const d = convDims(xShape, layer.w, layer.geo, "bench");
    const yShape = [batch, d.co, d.ho, d.wo];
    const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
    return {
      layer,
      xShape,
      yShape,
      x: lcgFloats(size(xShape), 3 * i + 1),
      w: lcgFloats(size(layer.w), 3 * i + 2),
      dy: lcgFloats(size(yShape), 3 * i + 3),
    };
  });
}

const macsPerImage = mobilenetV2Convs().reduce((sum, l) => {
  const d = convDims([1, ...l.x], l.w, l.geo, "bench");
  return sum + d.co * d.ho * d.wo * d.cg * d.kh * d.kw;
}, 0);

const timings = new Map<string, { seconds: number[]; images: number; flops: number }>();

function timed(name: string, images: number, flops: number, fn: () => void): () => void {
  return () => {
    const t0 = performance.now();
    fn();
    const entry = timings.get(name) ?? { seconds: [], images, flops };
    entry.seconds.push((performance.now() - t0) / 1000);
    timings.set(name, entry);
  };
}

function forward(layers: Prepared[], fast: boolean): void {
  for (const p of layers) {
    if (fast) conv2dForward(p.x, p.xShape, p.w, p.layer.w, p.layer.geo);
    else conv2dForwardReference(p.x, p.w, convDims(p.xShape, p.layer.w, p.layer.geo, "bench"));
  }
}

function backward(layers: Prepared[], fast: boolean): void {
  for (const p of layers) {
    if (fast) {
      conv2dBackwardInput(p.dy, p.yShape, p.w, p.layer.w, { ...p.layer.geo, xShape: p.xShape });
      conv2dBackwardWeight(p.dy, p.yShape, p.x, p.xShape, { ...p.layer.geo, wShape: p.layer.w });
    } else {
      const d = convDims(p.xShape, p.layer.w, p.layer.geo, "bench");
      conv2dBackwardInputReference(p.dy, p.w, d);
      conv2dBackwardWeightReference(p.dy, p.x, d);
    }
  }
}

const threads = getKernelThreads();
/** Waits (up to a second) for the kernel workers to start. */
async function workersReady(): Promise<void> {
  setKernelThreads(threads);
  forward(prepare(1), true);
  for (let i = 0; i < 100 && readyThreads() < threads; i++) await new Promise((r) => setTimeout(r, 10));
}
await workersReady();

for (const batch of [64, 256]) {
  const layers = prepare(batch);
  const flops = 2 * macsPerImage * batch;
  for (const [label, count] of [[`${threads} threads`, threads], ["1 thread", 1]] as const) {
    const use = (fn: () => void) => () => {
      setKernelThreads(count);
      fn();
    };
    Deno.bench({
      name: `forward, all convs, batch ${batch}, wasm ${label}`,
      group: `forward ${batch}`,
      baseline: count === threads,
      warmup: 2,
      n: 5,
      fn: use(timed(`forward b${batch} wasm ${label}`, batch, flops, () => forward(layers, true))),
    });
    Deno.bench({
      name: `backward (input + weight), all convs, batch ${batch}, wasm ${label}`,
      group: `backward ${batch}`,
      baseline: count === threads,
      warmup: 2,
      n: 5,
      fn: use(timed(`backward b${batch} wasm ${label}`, batch, 2 * flops, () => backward(layers, true))),
    });
  }
  Deno.bench({
    name: `forward, all convs, batch ${batch}, plain TypeScript`,
    group: `forward ${batch}`,
    warmup: 0,
    n: 1,
    fn: timed(`forward b${batch} plain TS`, batch, flops, () => forward(layers, false)),
  });
  Deno.bench({
    name: `backward (input + weight), all convs, batch ${batch}, plain TypeScript`,
    group: `backward ${batch}`,
    warmup: 0,
    n: 1,
    fn: timed(`backward b${batch} plain TS`, batch, 2 * flops, () => backward(layers, false)),
  });
}

const gemmShapes: [number, number, number][] = [
  [512, 512, 512],
  [96, 16384, 16],
  [144, 16384, 24],
  [
    960,
    256,
    160,
  ],
  [1280, 256, 320],
  [256, 10, 1280],
];
for (const [m, n, k] of gemmShapes) {
  const a = lcgFloats(m * k, 7), b = lcgFloats(k * n, 8);
  Deno.bench({
    name: `gemm ${m}x${k} · ${k}x${n}, wasm`,
    group: "gemm",
    warmup: 3,
    n: 20,
    fn: () => {
      setKernelThreads(threads);
      timed(`gemm ${m}x${n}x${k} wasm`, 0, 2 * m * n * k, () => matmul(a, b, { batch: 1, m, k, n }))();
    },
  });
}

globalThis.addEventListener("unload", () => {
  setKernelThreads(threads);
  const rows = [...timings].map(([name, t]) => {
    const sorted = [...t.seconds].sort((a, b) => a - b);
    const s = sorted[Math.floor(sorted.length / 2)];
    return {
      name,
      "ms (median)": +(s * 1000).toFixed(2),
      "images/s": t.images ? Math.round(t.images / s) : "",
      "GFLOP/s": +(t.flops / s / 1e9).toFixed(2),
    };
  });
  console.log(
    `MobileNetV2 convolutions: ${(macsPerImage / 1e6).toFixed(2)} M multiply-adds per image (forward)`,
  );
  console.table(rows);
});

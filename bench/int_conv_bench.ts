/**
 * Speed of the exact integer accumulators against `@hqat/qtensor`'s reference kernels: every
 * convolution of torchvision's MobileNetV2 (input N×3×32×32, int8 activations and weights) and its
 * classifier at batch 256, in G multiply-adds/s per layer shape; and the whole fixed-point MobileNetV2
 * (`runIntModel`) in images/s at batch 256, on the fast kernels (all threads and one) and on the
 * reference kernels. Besides `deno bench`'s own table, per-layer and summary tables are printed at the end.
 *
 *     deno bench --allow-read --allow-env packages/tensor/src/cpu/int_conv_bench.ts
 * @module
 */
import { convertFx, prepareQatFx, qatStateFromFloat, runIntModel, setFakeQuantize } from "@hqat/fx";
import { March, setMarch } from "@hqat/march-bayes";
import { forward, initState, mobilenetV2 } from "@hqat/nn";
import {
  default_calib_8bit_fake_quant_qconfig as c8,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig as c32,
  FakeQuantState,
  intConv2dAccumulate,
  intLinear,
  qtensor,
} from "@hqat/qtensor";
import { randomKey, randomUniform } from "@hqat/tensor";
import { type Conv2dGeometry, convDims } from "../packages/tensor/src/cpu/conv2d_shapes.ts";
import { intConv2dAccumulateFast, intLinearAccumulateFast } from "../packages/tensor/src/cpu/int_conv.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "../packages/tensor/src/cpu/thread_pool.ts";

const BATCH = 256;

interface Layer {
  name: string;
  xShape: number[];
  wShape: number[];
  geo: Conv2dGeometry;
  macs: number;
  x: Int8Array;
  w: Int8Array;
  bias: Int32Array;
}

function geometry(stride: number, padding: number, groups: number): Conv2dGeometry {
  return { stride: [stride, stride], padding: [padding, padding], dilation: [1, 1], groups };
}

function randomInts<T extends Int8Array | Int32Array>(out: T, range: number, seed: number): T {
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s % (2 * range)) - range;
  }
  return out;
}

/** MobileNetV2's convolutions for a 32×32 input at batch `n`: [per-image x, weight, geometry]. */
function mobilenetV2Convs(n: number): Layer[] {
  const shapes: [number[], number[], Conv2dGeometry][] = [[[3, 32, 32], [32, 3, 3, 3], geometry(2, 1, 1)]];
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
  for (const [t, out, count, stride] of settings) {
    for (let i = 0; i < count; i++) {
      const st = i === 0 ? stride : 1, hidden = c * t;
      if (t !== 1) shapes.push([[c, s, s], [hidden, c, 1, 1], geometry(1, 0, 1)]);
      shapes.push([[hidden, s, s], [hidden, 1, 3, 3], geometry(st, 1, hidden)]);
      s = Math.floor((s + 2 - 3) / st) + 1;
      shapes.push([[hidden, s, s], [out, hidden, 1, 1], geometry(1, 0, 1)]);
      c = out;
    }
  }
  shapes.push([[320, 1, 1], [1280, 320, 1, 1], geometry(1, 0, 1)]);
  return shapes.map(([x, w, geo], i) => {
    const xShape = [n, ...x];
    const d = convDims(xShape, w, geo, "bench");
    const kind = d.groups > 1 ? "depthwise 3x3" : d.kh === 1 ? "1x1" : "3x3";
    return {
      name: `${kind} ${x.join("x")} -> ${d.co}x${d.ho}x${d.wo}${d.sh > 1 ? " /2" : ""}`,
      xShape,
      wShape: w,
      geo,
      macs: n * d.co * d.ho * d.wo * d.cg * d.kh * d.kw,
      x: randomInts(new Int8Array(xShape.reduce((a, b) => a * b, 1)), 128, 3 * i + 1),
      w: randomInts(new Int8Array(w.reduce((a, b) => a * b, 1)), 128, 3 * i + 2),
      bias: randomInts(new Int32Array(w[0]), 1 << 20, 3 * i + 3),
    };
  });
}

const layers = mobilenetV2Convs(BATCH);
const fc = {
  x: randomInts(new Int8Array(BATCH * 1280), 128, 1),
  w: randomInts(new Int8Array(10 * 1280), 128, 2),
  bias: randomInts(new Int32Array(10), 1 << 20, 3),
};
const convMacs = layers.reduce((a, l) => a + l.macs, 0);
const fcMacs = BATCH * 1280 * 10;

/** Seconds per layer name (summed over layers of the same shape) for each variant. */
const layerSeconds = new Map<string, Map<string, number>>();
const runs = new Map<string, { seconds: number[]; images: number; macs: number }>();

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

function allLayers(variant: string, fast: boolean): void {
  const perLayer = new Map<string, number>();
  const total = time(() => {
    for (const l of layers) {
      const t = time(() => {
        if (fast) intConv2dAccumulateFast(l.x, l.xShape, l.w, l.wShape, l.geo, l.bias);
        else {
          const { stride, padding, dilation, groups } = l.geo;
          intConv2dAccumulate(
            qtensor(l.x, { shape: l.xShape, scale: 1 }),
            qtensor(l.w, { shape: l.wShape, scale: 1 }),
            {
              stride,
              padding,
              dilation,
              groups,
              quantizedBias: l.bias,
            },
          );
        }
      });
      perLayer.set(l.name, (perLayer.get(l.name) ?? 0) + t);
    }
    const fcName = "linear 1280 -> 10";
    perLayer.set(
      fcName,
      time(() => {
        if (fast) intLinearAccumulateFast(fc.x, [BATCH, 1280], fc.w, [10, 1280], fc.bias);
        else {
          intLinear(
            qtensor(fc.x, { shape: [BATCH, 1280], scale: 1 }),
            qtensor(fc.w, { shape: [10, 1280], scale: 1 }),
            {
              quantizedBias: fc.bias,
              output: { dtype: "qint32" },
            },
          );
        }
      }),
    );
  });
  layerSeconds.set(variant, perLayer);
  const entry = runs.get(`layers, ${variant}`) ?? { seconds: [], images: BATCH, macs: convMacs + fcMacs };
  entry.seconds.push(total);
  runs.set(`layers, ${variant}`, entry);
}

// The fixed-point MobileNetV2 (random weights, calibrated on random data).
setMarch(March.BAYES);
const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
const calib = prepareQatFx(float, { "": c8, moduleName: { classifier: c32 } });
let state = qatStateFromFloat(calib, initState(float, randomKey(0)));
const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
for (let i = 0; i < 2; i++) {
  state = forward(cm, state, randomUniform(randomKey(10 + i), [8, 3, 32, 32], { min: -1, max: 1 })).state;
}
const intModel = convertFx(setFakeQuantize(calib, FakeQuantState.VALIDATION), state);
const images = randomUniform(randomKey(20), [BATCH, 3, 32, 32], { min: -1, max: 1 });

function model(variant: string, reference: boolean): void {
  const t = time(() => runIntModel(intModel, images.data as Float32Array, images.shape, { reference }));
  const entry = runs.get(`model, ${variant}`) ?? { seconds: [], images: BATCH, macs: 0 };
  entry.seconds.push(t);
  runs.set(`model, ${variant}`, entry);
}

const threads = getKernelThreads();
setKernelThreads(threads);
intLinearAccumulateFast(new Int8Array(1), [1, 1], new Int8Array(1), [1, 1]);
for (let i = 0; i < 100 && readyThreads() < threads; i++) await new Promise((r) => setTimeout(r, 10));

for (const [label, count] of [[`fast, ${threads} threads`, threads], ["fast, 1 thread", 1]] as const) {
  const use = (fn: () => void) => () => {
    setKernelThreads(count);
    fn();
  };
  Deno.bench({
    name: `MobileNetV2 int accumulators, batch ${BATCH}, ${label}`,
    group: "layers",
    baseline: count === threads,
    warmup: 1,
    n: 3,
    fn: use(() => allLayers(label, true)),
  });
  Deno.bench({
    name: `runIntModel MobileNetV2, batch ${BATCH}, ${label}`,
    group: "model",
    baseline: count === threads,
    warmup: 1,
    n: 3,
    fn: use(() => model(label, false)),
  });
}
Deno.bench({
  name: `MobileNetV2 int accumulators, batch ${BATCH}, qtensor reference`,
  group: "layers",
  warmup: 0,
  n: 1,
  fn: () => allLayers("reference", false),
});
Deno.bench({
  name: `runIntModel MobileNetV2, batch ${BATCH}, reference kernels`,
  group: "model",
  warmup: 0,
  n: 1,
  fn: () => model("reference", true),
});

globalThis.addEventListener("unload", () => {
  setKernelThreads(threads);
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const macsOf = new Map<string, number>([["linear 1280 -> 10", fcMacs]]);
  for (const l of layers) macsOf.set(l.name, (macsOf.get(l.name) ?? 0) + l.macs);
  const variants = [...layerSeconds.keys()];
  const perLayer = [...macsOf].map(([name, macs]) => {
    const row: Record<string, string | number> = {
      "layer (batch 256, all of this shape)": name,
      "M MACs": macs / 1e6,
    };
    for (const v of variants) {
      row[`G MAC/s ${v}`] = +(macs / layerSeconds.get(v)!.get(name)! / 1e9).toFixed(2);
    }
    return row;
  });
  console.table(perLayer);
  console.table([...runs].map(([name, r]) => {
    const s = median(r.seconds);
    return {
      name,
      "ms (median)": Math.round(s * 1000),
      "images/s": Math.round(r.images / s),
      "G MAC/s": r.macs ? +(r.macs / s / 1e9).toFixed(2) : "",
    };
  }));
});

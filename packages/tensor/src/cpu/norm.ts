/**
 * CPU kernels for batch normalization (training statistics) and log-softmax. Batch normalization runs on
 * the WebAssembly kernels (channels split across the kernel threads) where it can, and on the
 * plain-TypeScript loops (`batchNormTrainReference`, `batchNormTrainBackwardReference`) elsewhere; both keep
 * the per-channel sums in float64.
 * @module
 */
import type { TypedArray } from "../dtype.ts";
import { normalizeAxis, type Shape, sizeOf } from "../shape.ts";
import { clampBackwardKernel, clampKernel } from "./elementwise.ts";
import { KernelMemoryError, type KernelRuntime, kernelRuntime } from "./wasm_runtime.ts";

/** Elements below which batch normalization stays in plain TypeScript (the copies would cost more). */
const WASM_ELEMENTS = 4096;
/** Elements per channel part below which the channels are not split across threads. */
const PARALLEL_ELEMENTS = 1 << 16;

/** Runs `fast` on the kernel runtime for float32 inputs of `size` elements or more, else `slow`. */
function withKernels<T>(size: number, floats: boolean, fast: (rt: KernelRuntime) => T, slow: () => T): T {
  const rt = size >= WASM_ELEMENTS && floats ? kernelRuntime() : undefined;
  if (!rt) return slow();
  try {
    rt.reset();
    return fast(rt);
  } catch (e) {
    if (e instanceof KernelMemoryError) return slow();
    throw e;
  } finally {
    rt.reset();
  }
}

/** Channel ranges [c0, c1): about four per ready thread when the tensor is large, else one. */
function channelParts(rt: KernelRuntime, c: number, size: number): [number, number][] {
  const threads = size >= PARALLEL_ELEMENTS ? rt.threads() : 1;
  const step = Math.max(1, Math.ceil(c / (4 * threads)));
  const out: [number, number][] = [];
  for (let c0 = 0; c0 < c; c0 += step) out.push([c0, Math.min(c, c0 + step)]);
  return out;
}

const f32 = (a: TypedArray): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));

function dims(shape: Shape): [number, number, number] {
  return [shape[0], shape[1], shape.length === 4 ? shape[2] * shape[3] : 1];
}

/**
 * y = (x - mean) / sqrt(var + eps) * gamma + beta with batch statistics over N, H, W, then clamped to
 * [0, clampMax] when that is given (as the clamp kernel does); returns [y, mean, var].
 */
export function batchNormTrainKernel(
  x: TypedArray,
  shape: Shape,
  gamma: TypedArray,
  beta: TypedArray,
  eps: number,
  clampMax?: number,
): [Float32Array, Float32Array, Float32Array] {
  const [n, c, hw] = dims(shape);
  const slow = (): [Float32Array, Float32Array, Float32Array] => {
    const [y, m, v] = batchNormTrainReference(x, shape, gamma, beta, eps);
    return [clampMax === undefined ? y : clampKernel(y, 0, clampMax, "float32") as Float32Array, m, v];
  };
  return withKernels(x.length, x instanceof Float32Array, (rt) => {
    const xp = rt.put(x as Float32Array), yp = rt.alloc(x.length);
    const g = rt.put(f32(gamma)), b = rt.put(f32(beta)), mp = rt.alloc(c), vp = rt.alloc(c);
    const e = rt.put(Float32Array.of(eps));
    const cl = rt.put(
      clampMax === undefined ? Float32Array.of(-Infinity, Infinity) : Float32Array.of(0, clampMax),
    );
    rt.run(
      "batch_norm_train",
      channelParts(rt, c, x.length).map(([c0, c1]) => [xp, yp, n, c, hw, g, b, e, cl, mp, vp, c0, c1]),
    );
    return [rt.take(yp, x.length), rt.take(mp, c), rt.take(vp, c)];
  }, slow);
}

/** {@linkcode batchNormTrainKernel} in plain TypeScript. */
export function batchNormTrainReference(
  x: TypedArray,
  shape: Shape,
  gamma: TypedArray,
  beta: TypedArray,
  eps: number,
): [Float32Array, Float32Array, Float32Array] {
  const [n, c, hw] = dims(shape);
  const count = n * hw;
  const mean = new Float32Array(c), variance = new Float32Array(c);
  const y = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) s += x[base + i];
    }
    const m = s / count;
    let v = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const d = x[base + i] - m;
        v += d * d;
      }
    }
    v /= count;
    mean[ch] = m;
    variance[ch] = v;
    const scale = gamma[ch] / Math.sqrt(v + eps), shift = beta[ch] - m * scale;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) y[base + i] = x[base + i] * scale + shift;
    }
  }
  return [y, mean, variance];
}

/**
 * Gradient of {@linkcode batchNormTrainKernel} for cotangents (dy, dmean, dvar); returns [dx, dgamma, dbeta].
 * With `clamp` (the output y of a batch norm with a fused clamp to [0, max]), dy is first masked as
 * `clampBackwardKernel(dy, y, 0, max, true)` masks it, in the same pass that reads it.
 */
export function batchNormTrainBackwardKernel(
  dy: TypedArray,
  dmean: TypedArray,
  dvar: TypedArray,
  x: TypedArray,
  shape: Shape,
  gamma: TypedArray,
  mean: TypedArray,
  variance: TypedArray,
  eps: number,
  clamp?: { y: TypedArray; max: number },
): [Float32Array, Float32Array, Float32Array] {
  const [n, c, hw] = dims(shape);
  const slow = () => {
    const g = clamp ? clampBackwardKernel(dy, clamp.y, 0, clamp.max, true) : dy;
    return batchNormTrainBackwardReference(g, dmean, dvar, x, shape, gamma, mean, variance, eps);
  };
  const floats = x instanceof Float32Array && dy instanceof Float32Array &&
    (!clamp || clamp.y instanceof Float32Array);
  return withKernels(x.length, floats, (rt) => {
    const dyp = rt.put(dy as Float32Array), xp = rt.put(x as Float32Array);
    const dm = rt.put(f32(dmean)), dv = rt.put(f32(dvar)), g = rt.put(f32(gamma));
    const mp = rt.put(f32(mean)), vp = rt.put(f32(variance));
    const dxp = rt.alloc(x.length), dg = rt.alloc(c), db = rt.alloc(c), e = rt.put(Float32Array.of(eps));
    const yp = clamp ? rt.put(clamp.y as Float32Array) : 0,
      hi = clamp ? rt.put(Float32Array.of(clamp.max)) : 0;
    rt.run(
      "batch_norm_train_backward",
      channelParts(rt, c, x.length).map((
        [c0, c1],
      ) => [dyp, dm, dv, xp, n, c, hw, g, mp, vp, e, dxp, dg, db, yp, hi, c0, c1]),
    );
    return [rt.take(dxp, x.length), rt.take(dg, c), rt.take(db, c)];
  }, slow);
}

/** {@linkcode batchNormTrainBackwardKernel} in plain TypeScript. */
export function batchNormTrainBackwardReference(
  dy: TypedArray,
  dmean: TypedArray,
  dvar: TypedArray,
  x: TypedArray,
  shape: Shape,
  gamma: TypedArray,
  mean: TypedArray,
  variance: TypedArray,
  eps: number,
): [Float32Array, Float32Array, Float32Array] {
  const [n, c, hw] = dims(shape);
  const count = n * hw;
  const dx = new Float32Array(x.length), dgamma = new Float32Array(c), dbeta = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch], invstd = 1 / Math.sqrt(variance[ch] + eps), g = gamma[ch];
    let sdy = 0, sdyxh = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const d = dy[base + i];
        sdy += d;
        sdyxh += d * (x[base + i] - m);
      }
    }
    sdyxh *= invstd;
    dbeta[ch] = sdy;
    dgamma[ch] = sdyxh;
    // dx = g*invstd/count * (count*dy - sum(dy) - xhat*sum(dy*xhat)) + dmean/count + dvar*2(x-m)/count
    const k = g * invstd / count;
    const a1 = dmean[ch] / count, a2 = 2 * dvar[ch] / count;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const xm = x[base + i] - m;
        const xhat = xm * invstd;
        dx[base + i] = k * (count * dy[base + i] - sdy - xhat * sdyxh) + a1 + a2 * xm;
      }
    }
  }
  return [dx, dgamma, dbeta];
}

/**
 * y = x · scale[c] + shift[c] over [N, C, ...] in one pass, in float32 arithmetic: the product rounded to
 * float32, then the sum (a float64 sum of two float32 values rounded to float32 is the float32 sum), as the
 * fused convolution's epilogue computes it.
 */
export function channelAffineKernel(
  x: TypedArray,
  shape: Shape,
  scale: TypedArray,
  shift: TypedArray,
): Float32Array {
  const n = shape[0], c = shape[1], inner = x.length / Math.max(1, n * c);
  const y = new Float32Array(x.length);
  for (let b = 0, i = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const s = scale[ch], t = shift[ch], end = i + inner;
      for (; i < end; i++) y[i] = Math.fround(x[i] * s) + t;
    }
  }
  return y;
}

/** log(softmax(x)) along an axis, computed stably. */
export function logSoftmaxKernel(x: TypedArray, shape: Shape, axis: number): Float32Array {
  const a = normalizeAxis(axis, shape.length);
  const outer = sizeOf(shape.slice(0, a)), n = shape[a], inner = sizeOf(shape.slice(a + 1));
  const out = new Float32Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let mx = -Infinity;
      for (let k = 0; k < n; k++) mx = Math.max(mx, x[base + k * inner]);
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(x[base + k * inner] - mx);
      const lse = mx + Math.log(s);
      for (let k = 0; k < n; k++) out[base + k * inner] = x[base + k * inner] - lse;
    }
  }
  return out;
}

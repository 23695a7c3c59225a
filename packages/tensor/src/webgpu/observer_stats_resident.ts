/**
 * The batch statistics of the calibration observers (`@hqat/qtensor`'s `observeBatchStats`) computed
 * on the device where the batch lives: per channel the float32 min and max exactly as the CPU's scan
 * finds them (the first zero's sign where an extreme is zero) and the first non-finite element, then
 * either the |x| histogram (each value in the exact bin `floor(|x| · bins / absmax)`, by integer long
 * division) or the candidates' squared errors (`sq_error_resident.ts`). Everything lands in one buffer
 * of a few kilobytes; {@linkcode readBatchStats} reads it back and decodes it into the CPU's numbers.
 * @module
 */
import { type BatchLayout, type BatchStats, type BatchStatsPlan, nonFiniteObservation } from "@hqat/qtensor";
import { grid, type WebGpuDevice } from "./device.ts";
import type { GpuTensor } from "./gpu_tensor.ts";
import type { WgslFn } from "./kernel_spec.ts";
import { squaredErrorsResident } from "./sq_error_resident.ts";
import { DIV_RN, MUL_U32 } from "./wgsl_lib.ts";
import { U64 } from "./wgsl_exact.ts";

/** Threads per workgroup of the statistics kernels. */
const WG = 256;
/** Histograms of at most this many bins are gathered in workgroup memory first. */
const LOCAL_BINS = 2048;
const NONE = 0xffffffff;

/** Statistics recorded on the device, not yet read: one buffer of `words` 32-bit words. */
export interface ResidentBatchStats {
  /** The buffer (the caller's until {@linkcode readBatchStats} releases it). */
  readonly buffer: GPUBuffer;
  /** Its length in words. */
  readonly words: number;
  /** What was computed. */
  readonly plan: BatchStatsPlan;
  /** The batch's layout. */
  readonly layout: BatchLayout;
}

/**
 * Words before the payload: per channel the min key, max key, first +0 and first −0 (positions in the
 * channel's scan order), then the first non-finite element and its bits.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { statsHeaderWords } from "./observer_stats_resident.ts";
 * assert(statsHeaderWords(1) === 6);
 * ```
 */
export function statsHeaderWords(channels: number): number {
  return 4 * channels + 2;
}

/** The channel-slice addressing shared by the kernels: element `r` of channel `c`'s scan order. */
const SLICE: WgslFn = {
  code: `
fn slice_index(c: u32, r: u32) -> u32 {
  return (r / u_inner()) * u_channels() * u_inner() + c * u_inner() + (r % u_inner());
}
fn key_bits(k: u32) -> u32 { return select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u); }`,
};

const LAYOUT_UNIFORMS = [
  { name: "channels", type: "u32" },
  { name: "inner", type: "u32" },
  { name: "count", type: "u32" },
  { name: "chunk", type: "u32" },
  { name: "groups", type: "u32" },
] as const;

/** Workgroups per channel and values per workgroup for `count` values per channel. */
function chunking(count: number): { groups: number; chunk: number } {
  const groups = Math.max(1, Math.min(1024, Math.ceil(count / (WG * 8))));
  return { groups, chunk: Math.ceil(count / groups) };
}

function layoutValues(layout: BatchLayout) {
  const count = layout.outer * layout.inner;
  return { channels: layout.channels, inner: layout.inner, count, ...chunking(count) };
}

function minMaxKernel(dev: WebGpuDevice, x: GpuTensor, st: GPUBuffer, layout: BatchLayout): void {
  const u = layoutValues(layout);
  dev.dispatch({
    name: "observer_min_max",
    inputs: [{ name: "x", type: "f32" }],
    outputs: [{ name: "st", type: "u32", atomic: true }],
    uniforms: [...LAYOUT_UNIFORMS],
    workgroupSize: [WG, 1, 1],
    shared: [
      "wmin: atomic<u32>",
      "wmax: atomic<u32>",
      "wpos: atomic<u32>",
      "wneg: atomic<u32>",
      "wbad: atomic<u32>",
    ],
    functions: [SLICE],
    body: `
  if (lidx == 0u) {
    atomicStore(&wmin, ${NONE}u); atomicStore(&wmax, 0u); atomicStore(&wpos, ${NONE}u);
    atomicStore(&wneg, ${NONE}u); atomicStore(&wbad, ${NONE}u);
  }
  workgroupBarrier();
  let g = wid.y * nwg.x + wid.x;
  let c = g / u_groups();
  let valid = c < u_channels();
  if (valid) {
    let start = (g % u_groups()) * u_chunk();
    let end = min(u_count(), start + u_chunk());
    var lmin = ${NONE}u; var lmax = 0u; var lpos = ${NONE}u; var lneg = ${NONE}u; var lbad = ${NONE}u;
    for (var r = start + lidx; r < end; r += ${WG}u) {
      let i = slice_index(c, r);
      let b = bitcast<u32>(x[i]);
      if ((b & 0x7fffffffu) >= 0x7f800000u) { lbad = min(lbad, i); continue; }
      let key = select(~b, b | 0x80000000u, (b >> 31u) == 0u);
      lmin = min(lmin, key); lmax = max(lmax, key);
      if (b == 0u) { lpos = min(lpos, r); }
      if (b == 0x80000000u) { lneg = min(lneg, r); }
    }
    atomicMin(&wmin, lmin); atomicMax(&wmax, lmax); atomicMin(&wpos, lpos);
    atomicMin(&wneg, lneg); atomicMin(&wbad, lbad);
  }
  workgroupBarrier();
  if (valid && lidx == 0u) {
    atomicMin(&st[4u * c], atomicLoad(&wmin)); atomicMax(&st[4u * c + 1u], atomicLoad(&wmax));
    atomicMin(&st[4u * c + 2u], atomicLoad(&wpos)); atomicMin(&st[4u * c + 3u], atomicLoad(&wneg));
    atomicMin(&st[4u * u_channels()], atomicLoad(&wbad));
  }`,
  }, { inputs: [x.buffer], outputs: [st], uniforms: u, workgroups: grid(u.channels * u.groups) });
  // The bits of the first non-finite value, for the error message.
  dev.dispatch({
    name: "observer_bad_value",
    inputs: [{ name: "x", type: "u32" }],
    outputs: [{ name: "st", type: "u32" }],
    uniforms: [{ name: "channels", type: "u32" }],
    workgroupSize: [1, 1, 1],
    body: `
  let bad = st[4u * u_channels()];
  if (bad != ${NONE}u) { st[4u * u_channels() + 1u] = x[bad]; }`,
  }, { inputs: [x.buffer], outputs: [st], uniforms: { channels: u.channels }, workgroups: [1, 1, 1] });
}

/** `floor(ax · bins / am)` (at most bins − 1) for float32 bits `ax ≤ am`, by long division of the significands. */
const HIST_BIN: WgslFn = {
  code: `
fn hist_bin(ax: u32, pm: vec2<i32>, bins: u32) -> u32 {
  if (ax == 0u) { return 0u; }
  let px = f32_sig_exp(ax);
  let k = pm.y - px.y;
  if (k > 25) { return 0u; }
  let n = mul_u32(u32(px.x), bins);
  let d = u32(pm.x);
  var q = 0u; var r = 0u;
  for (var i = 0u; i < 6u; i++) {
    let t = (r << 8u) | (shr64u(n, 40u - 8u * i).x & 0xffu);
    q = (q << 8u) | (t / d);
    r = t % d;
  }
  return min(q >> u32(k), bins - 1u);
}`,
  deps: [MUL_U32, U64, DIV_RN],
};

function histogramKernel(
  dev: WebGpuDevice,
  x: GpuTensor,
  st: GPUBuffer,
  layout: BatchLayout,
  bins: number,
): void {
  const u = { ...layoutValues(layout), bins, head: statsHeaderWords(layout.channels) };
  const local = bins <= LOCAL_BINS;
  dev.dispatch({
    name: `observer_histogram_${local ? "local" : "global"}`,
    inputs: [{ name: "x", type: "f32" }],
    outputs: [{ name: "st", type: "u32", atomic: true }],
    uniforms: [...LAYOUT_UNIFORMS, { name: "bins", type: "u32" }, { name: "head", type: "u32" }],
    workgroupSize: [WG, 1, 1],
    shared: local ? [`lh: array<atomic<u32>, ${LOCAL_BINS}>`] : [],
    functions: [SLICE, HIST_BIN],
    body: `
  let g = wid.y * nwg.x + wid.x;
  let c = min(g / u_groups(), u_channels() - 1u);
  let valid = g / u_groups() < u_channels();
  let am = max(key_bits(atomicLoad(&st[4u * c])) & 0x7fffffffu, key_bits(atomicLoad(&st[4u * c + 1u])) & 0x7fffffffu);
  let ok = valid && am != 0u && am < 0x7f800000u && atomicLoad(&st[4u * u_channels()]) == ${NONE}u;
  let base = u_head() + c * u_bins();
${
      local
        ? `  for (var i = lidx; i < u_bins(); i += ${WG}u) { atomicStore(&lh[i], 0u); }
  workgroupBarrier();`
        : ""
    }
  if (ok) {
    let pm = f32_sig_exp(am);
    let start = (g % u_groups()) * u_chunk();
    let end = min(u_count(), start + u_chunk());
    for (var r = start + lidx; r < end; r += ${WG}u) {
      let b = hist_bin(bitcast<u32>(x[slice_index(c, r)]) & 0x7fffffffu, pm, u_bins());
      ${local ? "atomicAdd(&lh[b], 1u);" : "atomicAdd(&st[base + b], 1u);"}
    }
  }
${
      local
        ? `  workgroupBarrier();
  if (ok) {
    for (var i = lidx; i < u_bins(); i += ${WG}u) {
      let n = atomicLoad(&lh[i]);
      if (n != 0u) { atomicAdd(&st[base + i], n); }
    }
  }`
        : ""
    }`,
  }, { inputs: [x.buffer], outputs: [st], uniforms: u, workgroups: grid(u.channels * u.groups) });
}

/**
 * Records the kernels computing `plan`'s statistics of the float32 batch `x` laid out as `layout` (see
 * the module doc); nothing is read back. The MSE plan takes integer ranges up to qint16's.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * import { uploadTensor } from "./gpu_tensor.ts";
 * import { batchStatsResident, readBatchStats } from "./observer_stats_resident.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const x = uploadTensor(dev, Float32Array.of(-1, 0.1, 0.6), [3]);
 *   const run = batchStatsResident(dev, x, { kind: "histogram", bins: 2 }, { outer: 1, channels: 1, inner: 3 });
 *   const s = await readBatchStats(dev, run, "act");
 *   assert(s.min[0] === -1 && s.max[0] === Math.fround(0.6) && s.hist.join() === "1,2");
 *   dev.destroy();
 * }
 * ```
 */
export function batchStatsResident(
  dev: WebGpuDevice,
  x: GpuTensor,
  plan: BatchStatsPlan,
  layout: BatchLayout,
): ResidentBatchStats {
  if (x.dtype !== "float32") {
    throw new TypeError(`batchStatsResident(): the batch must be float32, not ${x.dtype}`);
  }
  const n = layout.outer * layout.channels * layout.inner;
  if (x.shape.reduce((a, b) => a * b, 1) !== n) {
    throw new RangeError(`batchStatsResident(): [${x.shape}] does not hold the layout's ${n} values`);
  }
  if (n >= 2 ** 32 - 1) throw new RangeError(`batchStatsResident(): ${n} values are more than 2^32 - 2`);
  const head = statsHeaderWords(layout.channels);
  const payload = plan.kind === "histogram"
    ? layout.channels * plan.bins
    : 2 * layout.channels * plan.factors.length;
  const init = new Uint32Array(head + payload);
  for (let c = 0; c < layout.channels; c++) init.set([NONE, 0, NONE, NONE], 4 * c);
  init[4 * layout.channels] = NONE;
  const buffer = dev.upload(init);
  if (n > 0) {
    minMaxKernel(dev, x, buffer, layout);
    if (plan.kind === "histogram" && plan.bins > 0) histogramKernel(dev, x, buffer, layout, plan.bins);
    if (plan.kind === "squaredError") squaredErrorsResident(dev, x, buffer, { plan, layout, head });
  }
  return { buffer, words: init.length, plan, layout };
}

/** A float32 extreme from its key, the first zero's sign where it is a zero (the CPU's strict scan). */
function extreme(key: number, firstPos: number, firstNeg: number): number {
  let bits = (key & 0x80000000) !== 0 ? key & 0x7fffffff : ~key >>> 0;
  if ((bits & 0x7fffffff) === 0) bits = firstNeg < firstPos ? 0x80000000 : 0;
  return new Float32Array(Uint32Array.of(bits).buffer)[0];
}

/**
 * Reads statistics recorded by {@linkcode batchStatsResident} and releases their buffer: the batch's
 * `BatchStats`, equal bit for bit to what `observeBatchStats` finds on the CPU. A non-finite value
 * throws the CPU observer's RangeError, naming `name` and the first such element.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { readBatchStats } from "./observer_stats_resident.ts";
 * assert(typeof readBatchStats === "function");
 * ```
 */
export async function readBatchStats(
  dev: WebGpuDevice,
  run: ResidentBatchStats,
  name: string,
): Promise<BatchStats> {
  let words: Uint32Array;
  try {
    words = new Uint32Array(await dev.read(run.buffer, run.words * 4));
  } finally {
    dev.release(run.buffer);
  }
  const { channels, outer, inner } = run.layout;
  const bad = words[4 * channels];
  if (bad !== NONE) {
    throw nonFiniteObservation(name, new Float32Array(words.buffer, 4 * (4 * channels + 1), 1)[0], bad);
  }
  const min = new Float32Array(channels), max = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const [kmin, kmax, pos, neg] = words.subarray(4 * c, 4 * c + 4);
    min[c] = extreme(kmin, pos, neg);
    max[c] = extreme(kmax, pos, neg);
  }
  const head = statsHeaderWords(channels), count = outer * inner;
  if (run.plan.kind === "histogram") {
    const hist = Float64Array.from(words.subarray(head, head + channels * run.plan.bins));
    return { count, min, max, hist, errors: new Float64Array(0) };
  }
  const errors = new Float64Array(
    words.buffer.slice(4 * head, 4 * (head + 2 * channels * run.plan.factors.length)),
  );
  return { count, min, max, hist: new Float64Array(0), errors };
}

/**
 * The MSE observer's candidate errors on the device (`@hqat/qtensor`'s `candidateErrors`), bit for bit:
 * each candidate's scale from the batch's min and max (`float32(float64(min · f))`, then the SPEC scale
 * rule with a correctly rounded division), each value's trial fake quantization, the exact float64
 * square of its error, and the float64 sums in the CPU's order — blocks of `SQUARED_ERROR_BLOCK`
 * values left to right (one thread per block), then the block sums the same way — all with float64
 * emulated exactly in 32-bit integers (`wgsl_f64.ts`).
 * @module
 */
import { type BatchLayout, type BatchStatsPlan, SQUARED_ERROR_BLOCK } from "@hqat/qtensor";
import { grid, type WebGpuDevice } from "./device.ts";
import type { GpuTensor } from "./gpu_tensor.ts";
import type { WgslFn } from "./kernel_spec.ts";
import { DEQUANT_EXACT } from "./wgsl_exact.ts";
import { F64_ADD, MUL_F32_F64, SQ_DIFF } from "./wgsl_f64.ts";
import { DIV_RN } from "./wgsl_lib.ts";

const WG = 256;
const B = SQUARED_ERROR_BLOCK;

/** The trial fake quantization `float32(clamp(round(float32(v / s))) · s)` of the MSE observer. */
const TRIAL: WgslFn = {
  code: `
fn trial_fq(v: f32, s: f32) -> f32 {
  let t = div_rn(v, s);
  var r = round(t);
  if (u_bpu() == 1u) { let fl = floor(t); r = select(fl, fl + 1.0, t - fl >= 0.5); }
  return dequant_f64r(i32(clamp(r, f32(u_qmin()), f32(u_qmax()))), s);
}
fn slice_index(c: u32, r: u32) -> u32 {
  return (r / u_inner()) * u_channels() * u_inner() + c * u_inner() + (r % u_inner());
}`,
  deps: [DIV_RN, DEQUANT_EXACT],
};

function candidateScales(
  dev: WebGpuDevice,
  st: GPUBuffer,
  plan: Extract<BatchStatsPlan, { kind: "squaredError" }>,
  channels: number,
): GPUBuffer {
  const k = plan.factors.length;
  const scales = dev.acquire(4 * channels * k);
  const factorWords = Array.from(new Uint32Array(plan.factors.buffer, plan.factors.byteOffset, 2 * k));
  dev.dispatch({
    name: `mse_candidates_k${k}`,
    inputs: [{ name: "st", type: "u32" }],
    outputs: [{ name: "sc", type: "f32" }],
    uniforms: [
      { name: "n", type: "u32" },
      { name: "k", type: "u32" },
      { name: "half", type: "f32" },
      { name: "f", type: "u32", length: 2 * k },
    ],
    workgroupSize: [64, 1, 1],
    functions: [MUL_F32_F64],
    body: `
  let i = gid.x;
  if (i >= u_n()) { return; }
  let c = i / u_k(); let j = i % u_k();
  let f = vec2<u32>(u_f(2u * j), u_f(2u * j + 1u));
  let kl = st[4u * c]; let kh = st[4u * c + 1u];
  let lo = mul_f32_f64(bitcast<f32>(select(~kl, kl & 0x7fffffffu, (kl & 0x80000000u) != 0u)), f);
  let hi = mul_f32_f64(bitcast<f32>(select(~kh, kh & 0x7fffffffu, (kh & 0x80000000u) != 0u)), f);
  let am = max(bitcast<u32>(lo) & 0x7fffffffu, bitcast<u32>(hi) & 0x7fffffffu);
  var s = div_rn(bitcast<f32>(am), u_half());
  if (bitcast<u32>(s) < 0x34000000u) { s = bitcast<f32>(0x34000000u); }
  sc[i] = s;`,
  }, {
    inputs: [st],
    outputs: [scales],
    uniforms: { n: channels * k, k, half: (plan.qmax - plan.qmin) / 2, f: factorWords },
    workgroups: [Math.ceil((channels * k) / 64), 1, 1],
  });
  return scales;
}

function reduceBlocks(
  dev: WebGpuDevice,
  input: GPUBuffer,
  to: { buffer: GPUBuffer; base: number },
  rows: number,
  m: number,
): void {
  const groups = Math.ceil(m / B);
  dev.dispatch({
    name: "mse_block_sums",
    inputs: [{ name: "p", type: "u32" }],
    outputs: [{ name: "out", type: "u32" }],
    uniforms: [
      { name: "n", type: "u32" },
      { name: "m", type: "u32" },
      { name: "groups", type: "u32" },
      { name: "base", type: "u32" },
    ],
    workgroupSize: [WG, 1, 1],
    functions: [F64_ADD],
    body: `
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lidx;
  if (i >= u_n()) { return; }
  let row = i / u_groups(); let g = i % u_groups();
  var acc = f64_zero();
  for (var j = g * ${B}u; j < min(u_m(), g * ${B}u + ${B}u); j++) {
    let w = 2u * (row * u_m() + j);
    acc = f64_add(acc, f64_unpack(vec2<u32>(p[w], p[w + 1u])));
  }
  let o = f64_pack(acc);
  out[u_base() + 2u * i] = o.x; out[u_base() + 2u * i + 1u] = o.y;`,
  }, {
    inputs: [input],
    outputs: [to.buffer],
    uniforms: { n: rows * groups, m, groups, base: to.base },
    workgroups: grid(Math.ceil((rows * groups) / WG)),
  });
}

/**
 * Records the kernels that write the candidates' squared errors (float64 bits, channel after channel)
 * into `st` from word `head` on, reading the batch's min and max keys at the start of `st` (see
 * `observer_stats_resident.ts`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { squaredErrorsResident } from "./sq_error_resident.ts";
 * assert(typeof squaredErrorsResident === "function");
 * ```
 */
export function squaredErrorsResident(
  dev: WebGpuDevice,
  x: GpuTensor,
  st: GPUBuffer,
  o: { plan: Extract<BatchStatsPlan, { kind: "squaredError" }>; layout: BatchLayout; head: number },
): void {
  const { plan, layout, head } = o;
  if (plan.qmax - plan.qmin > 65535) {
    throw new RangeError(
      `squaredErrorsResident(): the range [${plan.qmin}, ${plan.qmax}] is wider than qint16's; observe it on the CPU`,
    );
  }
  const k = plan.factors.length, rows = layout.channels * k;
  const count = layout.outer * layout.inner, nblocks = Math.ceil(count / B);
  const scales = candidateScales(dev, st, plan, layout.channels);
  const partial = nblocks === 1 ? null : dev.acquire(8 * rows * nblocks);
  dev.dispatch({
    name: "mse_block_errors",
    inputs: [{ name: "x", type: "f32" }, { name: "sc", type: "f32" }],
    outputs: [{ name: "out", type: "u32" }],
    uniforms: [
      { name: "n", type: "u32" },
      { name: "nblocks", type: "u32" },
      { name: "k", type: "u32" },
      { name: "count", type: "u32" },
      { name: "channels", type: "u32" },
      { name: "inner", type: "u32" },
      { name: "qmin", type: "i32" },
      { name: "qmax", type: "i32" },
      { name: "bpu", type: "u32" },
      { name: "base", type: "u32" },
    ],
    workgroupSize: [WG, 1, 1],
    functions: [TRIAL, SQ_DIFF],
    body: `
  let i = (wid.y * nwg.x + wid.x) * ${WG}u + lidx;
  if (i >= u_n()) { return; }
  let blk = i % u_nblocks(); let row = i / u_nblocks(); let c = row / u_k();
  let s = sc[row];
  var acc = f64_zero();
  for (var r = blk * ${B}u; r < min(u_count(), blk * ${B}u + ${B}u); r++) {
    let v = x[slice_index(c, r)];
    acc = f64_add(acc, sq_diff(trial_fq(v, s), v));
  }
  let p = f64_pack(acc);
  out[u_base() + 2u * i] = p.x; out[u_base() + 2u * i + 1u] = p.y;`,
  }, {
    inputs: [x.buffer, scales],
    outputs: [partial ?? st],
    uniforms: {
      n: rows * nblocks,
      nblocks,
      k,
      count,
      channels: layout.channels,
      inner: layout.inner,
      qmin: plan.qmin,
      qmax: plan.qmax,
      bpu: plan.rounding === "bpu" ? 1 : 0,
      base: partial ? 0 : head,
    },
    workgroups: grid(Math.ceil((rows * nblocks) / WG)),
  });
  dev.release(scales);
  let cur = partial, m = nblocks;
  while (cur) {
    const groups = Math.ceil(m / B);
    const next = groups === 1 ? null : dev.acquire(8 * rows * groups);
    reduceBlocks(dev, cur, next ? { buffer: next, base: 0 } : { buffer: st, base: head }, rows, m);
    dev.release(cur);
    cur = next;
    m = groups;
  }
}

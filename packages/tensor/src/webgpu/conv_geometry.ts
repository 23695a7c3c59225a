/**
 * What the convolution kernels share: the sizes of a convolution as uniforms, and WGSL snippets that
 * decode GEMM indices into channels, taps and positions.
 * @module
 */
import type { ConvDims } from "../cpu/conv2d_shapes.ts";
import type { UniformDecl } from "./kernel_spec.ts";

const DIMS = [
  "n",
  "c",
  "h",
  "w",
  "co",
  "kh",
  "kw",
  "ho",
  "wo",
  "sh",
  "sw",
  "ph",
  "pw",
  "dh",
  "dw",
  "cg",
  "cog",
] as const;
/** Uniform name of each size (`n` is taken by element kernels for the output size). */
const uname = (k: string) => (k === "n" ? "nb" : k);
const DIM_UNIFORMS: UniformDecl[] = DIMS.map((k) => ({ name: uname(k), type: "u32" }));
const dimValues = (d: ConvDims) => Object.fromEntries(DIMS.map((k) => [uname(k), d[k]]));

/** Groups narrower than this run as direct loops instead of GEMM tiles. */
const NARROW = 8;

/** Decodes `k` (a (ci|o, ky, kx) index) and `n` (a (b, y, x) index) in WGSL. */
const KIDX =
  "let khw = u_kh() * u_kw(); let kc = k / khw; let kr = k % khw; let ky = kr / u_kw(); let kx = kr % u_kw();";
const OUT_POS =
  "let ohw = u_ho() * u_wo(); let b = n / ohw; let p = n % ohw; let oy = p / u_wo(); let ox = p % u_wo();";

/** The input element feeding output (b, oy, ox) through tap (ky, kx) of channel `ch`, or zero. */
function tapX(zero: string): string {
  return `let iy = i32(oy * u_sh() + ky * u_dh()) - i32(u_ph()); let ix = i32(ox * u_sw() + kx * u_dw()) - i32(u_pw());
  if (iy < 0 || ix < 0 || iy >= i32(u_h()) || ix >= i32(u_w())) { return ${zero}; }
  return ld_x(((b * u_c() + ch) * u_h() + u32(iy)) * u_w() + u32(ix));`;
}

/**
 * The uniforms and WGSL snippets of the convolution kernels: `uniforms` / `values(d)` carry every size
 * (`u_nb()` is the batch); `kIndex` decodes `k` into a channel `kc` and tap (`ky`, `kx`); `outPos` decodes
 * `n` into an image `b` and output position (`oy`, `ox`); `tapX(zero)` returns the input under a tap.
 * Groups narrower than `narrow` channels run as direct loops instead of GEMM tiles.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { convDims } from "../cpu/conv2d_shapes.ts";
 * import { CONV_WGSL } from "./conv_geometry.ts";
 * const d = convDims([2, 3, 8, 8], [4, 3, 3, 3], { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 }, "x");
 * assert(CONV_WGSL.values(d).nb === 2 && CONV_WGSL.uniforms.some((u) => u.name === "cog"));
 * ```
 */
export const CONV_WGSL = {
  uniforms: DIM_UNIFORMS,
  values: dimValues,
  narrow: NARROW,
  kIndex: KIDX,
  outPos: OUT_POS,
  tapX,
} as const;

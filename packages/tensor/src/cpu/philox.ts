/**
 * Philox-2x32-10, a counter-based random generator: the same (key, counter) always gives the same
 * bits, so random tensors are reproducible and independent of evaluation order.
 * @module
 */

const M = 0xd256d193;
const W = 0x9e3779b9;

function mulhi(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const lo = a0 * b0;
  const mid1 = a1 * b0, mid2 = a0 * b1;
  const carry = ((lo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (a1 * b1 + (mid1 >>> 16) + (mid2 >>> 16) + carry) >>> 0;
}

/** Writes the two 32-bit outputs for counter (c0, c1) and key k into out[0..1]. */
export function philox(c0: number, c1: number, k: number, out: Uint32Array): void {
  let x0 = c0 >>> 0, x1 = c1 >>> 0, key = k >>> 0;
  for (let r = 0; r < 10; r++) {
    const hi = mulhi(M, x0);
    const lo = Math.imul(M, x0) >>> 0;
    x0 = (hi ^ key ^ x1) >>> 0;
    x1 = lo;
    key = (key + W) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
}

/** Uniform [0, 1) float32 values for counters 0..n-1 under key (k0, k1). */
export function uniformKernel(n: number, k0: number, k1: number): Float32Array {
  const out = new Float32Array(n);
  const r = new Uint32Array(2);
  for (let i = 0; i < n; i += 2) {
    philox(i >>> 1, k1, k0, r);
    out[i] = (r[0] >>> 8) * 5.960464477539063e-8;
    if (i + 1 < n) out[i + 1] = (r[1] >>> 8) * 5.960464477539063e-8;
  }
  return out;
}

/** Standard normal float32 values (Box–Muller) for counters 0..n-1 under key (k0, k1). */
export function normalKernel(n: number, k0: number, k1: number): Float32Array {
  const out = new Float32Array(n);
  const r = new Uint32Array(2);
  for (let i = 0; i < n; i += 2) {
    philox(i >>> 1, k1 ^ 0x6a09e667, k0, r);
    const u1 = ((r[0] >>> 8) + 1) * 5.960464477539063e-8; // (0, 1]
    const u2 = (r[1] >>> 8) * 5.960464477539063e-8;
    const rad = Math.sqrt(-2 * Math.log(u1));
    out[i] = rad * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = rad * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

import { assert, assertEquals } from "@std/assert";
import {
  batchNormTrainBackwardKernel,
  batchNormTrainBackwardReference,
  batchNormTrainKernel,
  batchNormTrainReference,
} from "./norm.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";

function lcgFloats(n: number, seed: number, offset = 0, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = offset + scale * (s / 2 ** 32 - 0.5);
  }
  return out;
}

/** Every element within `tol` of the reference, relative to the reference's largest magnitude. */
function assertClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  assertEquals(got.length, want.length, what);
  let top = 0;
  for (const v of want) top = Math.max(top, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    assert(
      Math.abs(got[i] - want[i]) <= tol * Math.max(top, 1e-30),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

const SHAPES: number[][] = [[64, 32, 16, 16], [3, 7, 5, 5], [256, 24, 2, 2], [16, 40], [2, 96, 9, 3]];

function checkShapes(seed: number): void {
  for (const shape of SHAPES) {
    const size = shape.reduce((a, b) => a * b, 1), c = shape[1];
    // An offset mean (as conv outputs have) and a spread: the sums must not lose the small variations.
    const x = lcgFloats(size, seed, 3, 2), gamma = lcgFloats(c, seed + 1, 1), beta = lcgFloats(c, seed + 2);
    const [y, mean, variance] = batchNormTrainKernel(x, shape, gamma, beta, 1e-5);
    const [ry, rmean, rvar] = batchNormTrainReference(x, shape, gamma, beta, 1e-5);
    assertClose(mean, rmean, 1e-7, `mean [${shape}]`);
    assertClose(variance, rvar, 1e-6, `var [${shape}]`);
    assertClose(y, ry, 2e-6, `y [${shape}]`);
    const dy = lcgFloats(size, seed + 3), dmean = lcgFloats(c, seed + 4), dvar = lcgFloats(c, seed + 5);
    const got = batchNormTrainBackwardKernel(dy, dmean, dvar, x, shape, gamma, rmean, rvar, 1e-5);
    const want = batchNormTrainBackwardReference(dy, dmean, dvar, x, shape, gamma, rmean, rvar, 1e-5);
    assertClose(got[0], want[0], 2e-6, `dx [${shape}]`);
    assertClose(got[1], want[1], 1e-6, `dgamma [${shape}]`);
    assertClose(got[2], want[2], 1e-6, `dbeta [${shape}]`);
  }
}

Deno.test("batchNormTrainKernel() and its backward equal the plain-TypeScript kernels on one and two threads", async () => {
  const before = getKernelThreads();
  try {
    setKernelThreads(1);
    checkShapes(1);
    setKernelThreads(2);
    for (let i = 0; i < 100 && readyThreads() < 2; i++) await new Promise((r) => setTimeout(r, 10));
    checkShapes(2);
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("batchNormTrainKernel() keeps int inputs and small tensors on the plain-TypeScript kernels", () => {
  const x = Int32Array.of(1, 2, 3, 4), gamma = Float32Array.of(1, 1), beta = Float32Array.of(0, 0);
  const [y, mean] = batchNormTrainKernel(x, [2, 2], gamma, beta, 0);
  assertEquals(Array.from(mean), [2, 3]);
  assertEquals(Array.from(y), [-1, -1, 1, 1]);
});

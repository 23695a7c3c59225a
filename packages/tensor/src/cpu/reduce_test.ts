import { assertEquals } from "@std/assert";
import { sumKernel } from "./reduce.ts";

function floats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 8 + (s & 1 ? 0.25 : -3);
  });
}

Deno.test("sumKernel() sums per channel over the batch and the planes as row by row", () => {
  for (const shape of [[4, 6, 3, 3], [3, 7, 1, 1], [2, 5, 2, 2]]) {
    const size = shape.reduce((x, y) => x * y, 1), inner = shape[2] * shape[3];
    const x = floats(size, size);
    const want = new Float64Array(shape[1]);
    for (let b = 0; b < shape[0]; b++) {
      for (let c = 0; c < shape[1]; c++) {
        let s = 0;
        for (let i = 0; i < inner; i++) s += x[(b * shape[1] + c) * inner + i];
        want[c] += s;
      }
    }
    assertEquals(sumKernel(x, shape, [0, 2, 3], "float32"), Float32Array.from(want), `[${shape}]`);
  }
});

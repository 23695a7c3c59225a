import { assertEquals } from "@std/assert";
import type { BinaryOp } from "../ops.ts";
import { binaryKernel } from "./elementwise.ts";

function floats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 8 + (s & 1 ? 0.25 : -3);
  });
}

/** out[i] = op(a[i], b[channel of i]) element by element, as the definition reads. */
function perChannel(
  op: BinaryOp,
  a: Float32Array,
  b: Float32Array,
  shape: number[],
  flip: boolean,
): Float32Array {
  const c = shape[1], inner = shape.slice(2).reduce((x, y) => x * y, 1);
  const f = { add: (x: number, y: number) => x + y, sub: (x: number, y: number) => x - y } as Record<
    string,
    (x: number, y: number) => number
  >;
  f.mul = (x, y) => x * y;
  f.div = (x, y) => x / y;
  return a.map((v, i) => {
    const w = b[Math.floor(i / inner) % c];
    return flip ? f[op](w, v) : f[op](v, w);
  });
}

Deno.test("binaryKernel() gives per-channel arithmetic element by element, either operand broadcast", () => {
  for (const shape of [[4, 6, 3, 3], [2, 5, 2, 2], [3, 7, 1, 1], [1, 9, 4, 1], [5, 3]]) {
    const size = shape.reduce((x, y) => x * y, 1), bShape = shape.map((d, i) => (i === 1 ? d : 1));
    const a = floats(size, size), b = floats(shape[1], 7);
    for (const op of ["add", "sub", "mul", "div"] as const) {
      const got = binaryKernel(op, a, shape, b, bShape, shape, "float32");
      assertEquals(got, perChannel(op, a, b, shape, false), `${op} [${shape}]`);
      const flipped = binaryKernel(op, b, bShape, a, shape, shape, "float32");
      assertEquals(flipped, perChannel(op, a, b, shape, true), `${op} flipped [${shape}]`);
    }
  }
});

import { assert, assertEquals } from "@std/assert";
import { residentBytes } from "@hqat/tensor";
import { arenaStorage, mapStorage, programArena } from "./cpu_storage.ts";
import type { Program } from "./program.ts";

const scale = Float32Array.of(1);
const program = {
  name: "p",
  march: "bayes",
  opt: "O0",
  inputShape: [1, 4],
  output: 3,
  buffers: [
    { name: "a", shape: [1, 4], dtype: "qint8", scale },
    { name: "b", shape: [1, 4], dtype: "qint16", scale },
    { name: "raw", shape: [1, 4], dtype: "qint8", scale },
    { name: "out", shape: [1, 4], dtype: "float32", scale },
  ],
  instructions: [{ op: "dequantize", name: "out", inputs: [2], output: 3, epilogue: [] }],
} as unknown as Program;

Deno.test("unplaced storage: intermediate buffers are resident, apart, and the outputs are not", () => {
  if (!residentBytes(0)) return; // no WebAssembly kernels here
  const s = mapStorage(program, 3);
  const a = s.target(0)!, b = s.target(1)!;
  assert(a.buffer instanceof SharedArrayBuffer && b.buffer instanceof SharedArrayBuffer);
  assert(a instanceof Int8Array && a.length === 12 && b instanceof Int16Array && b.length === 12);
  assert(a.byteOffset + a.byteLength <= b.byteOffset || b.byteOffset + b.byteLength <= a.byteOffset);
  assertEquals(s.target(2), undefined);
  assertEquals(s.target(3), undefined);
  a.fill(-3);
  b.fill(300);
  assertEquals([...a], new Array(12).fill(-3));
});

Deno.test("unplaced storage: past the resident limit, plain arrays", () => {
  const s = mapStorage(program, 100_000_000);
  const a = s.target(0)!;
  assert(a.length === 400_000_000 && !(a.buffer instanceof SharedArrayBuffer));
});

Deno.test("placed storage: the arena is resident and buffers sit at their offsets", () => {
  const placed = {
    ...program,
    placement: {
      arenaBytes: 64,
      buffers: [{ layout: "nchw", offset: 0 }, { layout: "nchw", offset: 16 }, {
        layout: "nchw",
        offset: 48,
      }],
    },
  } as unknown as Program;
  const arena = programArena(placed);
  const s = arenaStorage(placed, arena, 1);
  s.write(1, { data: Int16Array.of(1, -2, 3, -4), shape: [1, 4], dtype: "qint16", scale });
  assertEquals([...new Int16Array(arena.buffer, arena.byteOffset + 16, 4)], [1, -2, 3, -4]);
  assert(residentBytes(0) === undefined || arena.buffer instanceof SharedArrayBuffer);
});

/**
 * Where the CPU executor keeps buffer values during a run: an unplaced program (an int model) keeps one
 * array per value, its intermediate int8/int16 ones reused from run to run; a placed (compiled) program
 * keeps them in its arena, at the offsets and in the layouts its placement gives. Where the WebAssembly
 * kernels run, both live in the kernels' resident memory (`residentBytes`), so that every instruction's
 * inputs reach the kernels without being copied in.
 * @module
 */

import { residentBytes } from "@hqat/tensor";
import { elementCount, type Program, type ProgramBuffer } from "./program.ts";
import type { IntValue } from "./value.ts";
import { rawOutput } from "./verify.ts";

/** The typed array of each buffer dtype. */
export const ARRAYS = {
  qint8: Int8Array,
  qint16: Int16Array,
  qint32: Int32Array,
  float32: Float32Array,
} as const;

/**
 * Buffer `b`'s shape in a run of `n` frames.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { runShape } from "./cpu_storage.ts";
 * assert(runShape({ name: "x", shape: [1, 3], dtype: "qint8", scale: Float32Array.of(1) }, 5).join() === "5,3");
 * ```
 */
export const runShape = (b: ProgramBuffer, n: number): number[] => [n, ...b.shape.slice(1)];

/** Where buffer values live during a run of `n` frames. */
export interface Storage {
  /** Buffer `id`'s value. */
  read(id: number): IntValue;
  /** Stores `v` as buffer `id`'s value. */
  write(id: number, v: IntValue): void;
  /** An int8/int16 array a kernel may write buffer `id`'s integers into, or undefined for a fresh one. */
  target(id: number): Int8Array | Int16Array | undefined;
}

/**
 * Arrays for the intermediate int8/int16 buffers of a program, reused from run to run at the same batch
 * (fresh arrays cost page faults on every run). The output buffers, which a run returns, are never reused.
 */
const POOLS = new WeakMap<Program, Map<number, Int8Array | Int16Array>>();

function pooled(program: Program, id: number, length: number): Int8Array | Int16Array | undefined {
  const b = program.buffers[id];
  if (b.dtype !== "qint8" && b.dtype !== "qint16") return undefined;
  if (id === program.output || id === rawOutput(program)) return undefined;
  let pool = POOLS.get(program);
  if (!pool) POOLS.set(program, pool = new Map());
  let a = pool.get(id);
  if (!a || a.length !== length) {
    pool.set(id, a = b.dtype === "qint8" ? new Int8Array(length) : new Int16Array(length));
  }
  return a;
}

/** The most bytes of resident memory an unplaced program's intermediate buffers take; past it, plain arrays. */
const RESIDENT_POOL_BYTES = 256 * 2 ** 20;

/**
 * The intermediate int8/int16 buffers of an unplaced program's run of `n` frames, one after another in
 * the kernels' resident memory; undefined where they would take more than {@linkcode RESIDENT_POOL_BYTES}
 * or the kernels are not available.
 */
function residentPool(program: Program, n: number): Map<number, Int8Array | Int16Array> | undefined {
  const places: [number, number, number][] = [];
  let total = 0;
  program.buffers.forEach((b, id) => {
    if (b.dtype !== "qint8" && b.dtype !== "qint16") return;
    if (id === program.output || id === rawOutput(program)) return;
    const length = elementCount(runShape(b, n));
    places.push([id, total, length]);
    total += Math.ceil((length * (b.dtype === "qint8" ? 1 : 2)) / 64) * 64;
  });
  if (places.length === 0 || total > RESIDENT_POOL_BYTES) return undefined;
  const region = residentBytes(total);
  if (!region) return undefined;
  const buffer = region.buffer as ArrayBuffer;
  return new Map(places.map(([id, offset, length]) => {
    const type = program.buffers[id].dtype === "qint8" ? Int8Array : Int16Array;
    return [id, new type(buffer, region.byteOffset + offset, length)];
  }));
}

/**
 * One buffer per value, for a run of `n` frames of an unplaced program.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { mapStorage } from "./cpu_storage.ts";
 * const program = { buffers: [{ name: "q", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(1) }], output: 0 };
 * const s = mapStorage(program as never, 3);
 * s.write(0, { data: new Int8Array(6), shape: [3, 2], dtype: "qint8", scale: Float32Array.of(1) });
 * assert(s.read(0).shape.join() === "3,2");
 * ```
 */
export function mapStorage(program: Program, n: number): Storage {
  const values = new Map<number, IntValue>(), resident = residentPool(program, n);
  return {
    read: (id) => values.get(id)!,
    write: (id, v) => {
      const b = program.buffers[id];
      values.set(id, { ...v, shape: runShape(b, n), scale: b.scale });
    },
    target: (id) =>
      resident ? resident.get(id) : pooled(program, id, elementCount(runShape(program.buffers[id], n))),
  };
}

function transpose(
  src: ArrayLike<number>,
  dst: { [i: number]: number },
  shape: readonly number[],
  toNhwc: boolean,
) {
  const [n, c, h, w] = shape, plane = h * w;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < plane; p++) {
        const nchw = (b * c + ch) * plane + p, nhwc = (b * plane + p) * c + ch;
        if (toNhwc) dst[nhwc] = src[nchw];
        else dst[nchw] = src[nhwc];
      }
    }
  }
}

const ARENAS = new WeakMap<Program, Uint8Array>();

/**
 * The placed program's arena memory: in the CPU kernels' resident memory where they run (so that each
 * instruction's inputs reach them without a copy), else an array kept from run to run (a fresh one costs a
 * page fault per page on every run). Every buffer is written before it is read, so what a previous run —
 * of this program or of another — left there is never seen.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { programArena } from "./cpu_storage.ts";
 * const program = { placement: { arenaBytes: 128, buffers: [] } };
 * assert(programArena(program as never).byteLength === 128);
 * ```
 */
export function programArena(program: Program): Uint8Array {
  const bytes = program.placement!.arenaBytes, resident = residentBytes(bytes);
  if (resident) return resident;
  let a = ARENAS.get(program);
  if (!a || a.byteLength !== bytes) ARENAS.set(program, a = new Uint8Array(bytes));
  return a;
}

/**
 * The placed program's arena, for a run of `n` ≤ compiled-batch frames.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { arenaStorage } from "./cpu_storage.ts";
 * const program = {
 *   buffers: [{ name: "q", shape: [2, 2], dtype: "qint8", scale: Float32Array.of(1) }],
 *   placement: { arenaBytes: 64, buffers: [{ offset: 16, layout: "nchw" }] },
 * };
 * const s = arenaStorage(program as never, new Uint8Array(64), 2);
 * s.write(0, { data: Int8Array.of(1, 2, 3, 4), shape: [2, 2], dtype: "qint8", scale: Float32Array.of(1) });
 * assert(s.read(0).data.join() === "1,2,3,4");
 * ```
 */
export function arenaStorage(program: Program, arena: Uint8Array, n: number): Storage {
  const place = program.placement!.buffers;
  const view = (id: number) => {
    const b = program.buffers[id];
    // A view of the kernels' shared memory: the same element type over a SharedArrayBuffer.
    return new ARRAYS[b.dtype](
      arena.buffer as ArrayBuffer,
      arena.byteOffset + place[id].offset,
      elementCount(runShape(b, n)),
    );
  };
  const nhwc = (id: number) => place[id].layout === "nhwc" && program.buffers[id].shape.length === 4;
  return {
    read: (id) => {
      const b = program.buffers[id], shape = runShape(b, n);
      let data = view(id);
      if (nhwc(id)) {
        const out = new ARRAYS[b.dtype](data.length);
        transpose(data, out, shape, false);
        data = out;
      }
      return { data, shape, dtype: b.dtype, scale: b.scale } as IntValue;
    },
    write: (id, v) => {
      const shape = runShape(program.buffers[id], n), dst = view(id);
      if (nhwc(id)) transpose(v.data, dst, shape, true);
      else if (v.data.buffer !== arena.buffer || v.data.byteOffset !== dst.byteOffset) {
        dst.set(v.data as ArrayLike<number> & Int8Array);
      }
    },
    // A kernel writes an NCHW buffer's integers straight into its place in the arena.
    target: (id) => {
      const d = program.buffers[id].dtype;
      return (d === "qint8" || d === "qint16") && !nhwc(id) ? view(id) as Int8Array | Int16Array : undefined;
    },
  };
}

/**
 * The WebAssembly kernel runtime: one instance of the kernels on one shared memory, a bump allocator
 * over that memory that every operation resets (so the memory grows to the largest operation and is
 * then reused, never leaked), and the binding to the worker pool.
 * @module
 */
import { bindKernelPool, getKernelThreads, type KernelFn, readyThreads, runParts } from "./thread_pool.ts";
import { pooledFloat32 } from "./float_pool.ts";
import { forgetKept, keptCopy, keptPacked, setKeptCopy, setKeptPacked } from "./kept.ts";
import { WASM_KERNELS_BASE64 } from "./wasm_module.ts";

/** The kernels the module exports, by name. */
export const KERNEL_NAMES = [
  "gemm_run",
  "chain_groups_run",
  "im2col",
  "col2im",
  "add_bias",
  "depthwise_forward",
  "depthwise_backward_input",
  "depthwise_backward_weight",
  "depthwise_cl_forward",
  "depthwise_cl_backward_input",
  "depthwise_cl_backward_weight",
  "int_gemm_run",
  "int_im2col",
  "int_depthwise_forward",
  "int_requant_run",
  "int_depthwise_small_prepare",
  "int_depthwise_small_forward",
  "batch_norm_train",
  "batch_norm_train_backward",
  "int_add_requant_run",
  "int_depthwise_rows_forward",
  "affine_act",
  "depthwise_cl_forward_affine",
  "depthwise3_forward",
  "depthwise_small_forward",
  "adam_update",
  "sgd_update",
  "int_gemm_pack",
  "quantize_run",
  "int_conv_s2_pack",
  "int_conv_s2_forward",
  "int_depthwise_lanes_prepare",
  "int_depthwise_lanes_forward",
] as const;

/** One of the kernel names. */
export type KernelName = (typeof KERNEL_NAMES)[number];

/** Thrown when an operation needs more than the 4 GiB a WebAssembly memory can hold. */
export class KernelMemoryError extends RangeError {
  override name = "KernelMemoryError";
}

/** The live kernels and their memory. Addresses are byte offsets into the memory. */
export interface KernelRuntime {
  /** Frees everything allocated since the last reset. */
  reset(): void;
  /** The byte address of `floats` fresh float32 slots (64-byte aligned), growing the memory as needed. */
  alloc(floats: number): number;
  /** Copies `data` into fresh slots; returns their byte address. */
  put(data: Float32Array): number;
  /**
   * The byte address of a copy of `data` that stays in the kernels' memory across resets, made on the first
   * call and found again on later ones while `data` is unchanged (see `kept.ts`); the kernels only read it. It
   * is kept only when nothing has been allocated since the last reset (else `data` is copied into fresh slots),
   * so an operation keeps its constant inputs first. The kept copies take at most KEEP_MAX_BYTES: past that the
   * array is copied into fresh slots and every kept copy is dropped at the next reset (the operation may still be
   * reading them); when the resident region grows they are dropped at once. Dropped copies are made again as
   * needed.
   */
  keep(data: Float32Array): number;
  /**
   * `data` as a row-major [rows, data.length / rows] matrix: its kept copy (`raw`, as {@linkcode KernelRuntime.keep})
   * and, kept beside it, its panels as a GEMM packs its A (`packed`, for `GemmSpec.packedA`); `packed` is 0 where
   * nothing could be kept (something was allocated since the last reset).
   */
  keepPacked(data: Float32Array, rows: number): { raw: number; packed: number };
  /** Copies `ints` into fresh int32 slots; returns their byte address. */
  putInts(ints: readonly number[]): number;
  /**
   * Copies the bytes of an integer array into fresh slots (followed by at least 16 spare bytes, so a
   * vector load that starts inside the data stays inside the memory); returns their byte address. An
   * array that already lies in the kernels' memory (a view of {@linkcode KernelRuntime.resident}) is not
   * copied: its own address is returned, and the kernels only read it.
   */
  putBytes(data: Int8Array | Int16Array | Int32Array): number;
  /**
   * `bytes` bytes of the kernels' memory that {@linkcode KernelRuntime.reset} never hands out, for data
   * that stays there from one kernel call to the next (followed by 64 spare bytes): its buffer and its
   * byte offset there, 64-byte aligned. There is one such region, and asking again (for any size) gives
   * the same start, so a caller may keep nothing there across another caller's use.
   */
  resident(bytes: number): { buffer: ArrayBufferLike; byteOffset: number };
  /** A copy of `count` floats at byte address `ptr`: into `into` when given (of that length), else a fresh one. */
  take(ptr: number, count: number, into?: Float32Array): Float32Array;
  /** A fresh copy of `count` int32 values at byte address `ptr`. */
  takeInt32(ptr: number, count: number): Int32Array;
  /**
   * An Int8Array (`bytes` 1) or Int16Array (`bytes` 2) copy of `count` values at byte address `ptr`: into
   * `out` when given (of that type and length), else a fresh one. Where `out` is the kernels' memory at
   * `ptr` itself (see {@linkcode KernelRuntime.outputBytes}), nothing is copied.
   */
  takeBytes(ptr: number, count: number, bytes: 1 | 2, out?: Int8Array | Int16Array): Int8Array | Int16Array;
  /**
   * Where a kernel writes `count` int8 (`bytes` 1) or int16 (2) outputs that {@linkcode KernelRuntime.takeBytes}
   * then hands back in `out`: `out`'s own address when it lies in the resident region (so that nothing is
   * copied out; the kernel must write only [out, out + count · bytes) and read none of it) and overlaps no
   * array {@linkcode KernelRuntime.putBytes} gave in place since the last reset, else fresh slots (followed by
   * 16 spare bytes). A resident array put in after this, overlapping it, is copied in.
   */
  outputBytes(out: Int8Array | Int16Array | undefined, count: number, bytes: 1 | 2): number;
  /** Sets `count` floats at `ptr` to zero. */
  zero(ptr: number, count: number): void;
  /** The index of a kernel, for `runParts`. */
  kernelIndex(name: KernelName): number;
  /**
   * Runs a kernel once per part, the parts shared out among the ready threads; with `scratch`, the
   * running thread's entry is appended to each part's arguments.
   */
  run(name: KernelName, parts: readonly (readonly number[])[], scratch?: readonly number[]): void;
  /** One scratch region of `floats` floats per thread (for `run`), valid until the next reset. */
  threadScratch(floats: number): number[];
  /** Threads ready to take a part now, the calling one included. */
  threads(): number;
  /** One GEMM scratch region per thread, allocated once per reset. */
  gemmScratch(): readonly number[];
  /** Scratch floats one thread needs for the depthwise plane kernels of the geometry at `geo`. */
  depthwiseScratchFloats(geo: number): number;
  /** Scratch floats one thread needs for the channels-innermost depthwise kernels on `channels` channels. */
  depthwiseClScratchFloats(geo: number, channels: number): number;
  /** Scratch floats one thread needs for the 3×3 depthwise plane kernel, 0 where it does not apply. */
  depthwise3ScratchFloats(geo: number): number;
  /** Whether the 3×3 depthwise kernel for 1×1, 2×2 and 4×4 planes (`depthwise_small_forward`) takes the geometry. */
  depthwiseSmallFits(geo: number): boolean;
  /** One integer GEMM scratch region per thread, allocated once per reset. */
  intGemmScratch(): readonly number[];
  /** Scratch bytes one thread needs for the integer depthwise kernel on `channels` channels. */
  intDepthwiseScratchBytes(geo: number, channels: number): number;
  /** Bytes of shared scratch the small-plane integer depthwise kernel needs, 0 when the planes are too big. */
  intDepthwiseSmallBytes(geo: number): number;
  /** Bytes of scratch one thread needs for the requantizing 3×3 depthwise rows kernel, 0 where it does not apply. */
  intDepthwiseRowsBytes(geo: number): number;
  /** Ints of an m × k integer GEMM weight packed once by `int_gemm_pack`: as int16 pairs, or as int8 quads. */
  intGemmPackedInts(m: number, k: number, quads: boolean): number;
  /**
   * Whether the integer GEMM gives signed int8 activations one relaxed dot product per four products (as
   * x + 128, the sums started at -128 · Σ weights) instead of two: true where `int_dot_u8_probe` found that
   * this machine's relaxed dot product multiplies unsigned bytes exactly (x86 with VNNI). Both ways give the
   * same integers; tests set it to false to run the two-product path.
   */
  intDotUnsigned: boolean;
}

const PAGE = 65536;
/** The most bytes of kept copies (`KernelRuntime.keep`). */
const KEEP_MAX_BYTES = 64 * 2 ** 20;
const MAX_PAGES = 65536;
let runtime: KernelRuntime | null | undefined;

/**
 * The kernel runtime, created on first use; `undefined` when this JavaScript engine cannot run the
 * kernels (no WebAssembly, SIMD, relaxed SIMD or shared memory), in which case callers use the
 * plain-TypeScript kernels.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { kernelRuntime } from "./wasm_runtime.ts";
 * const rt = kernelRuntime();
 * if (rt) {
 *   rt.reset();
 *   const p = rt.put(new Float32Array([1, 2, 3]));
 *   assert(rt.take(p, 3).join() === "1,2,3");
 * }
 * ```
 */
export function kernelRuntime(): KernelRuntime | undefined {
  if (runtime === undefined) runtime = createRuntime();
  return runtime ?? undefined;
}

function decodeBase64(text: string): Uint8Array {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function createRuntime(): KernelRuntime | null {
  let module: WebAssembly.Module;
  let memory: WebAssembly.Memory;
  let exports: Record<string, unknown>;
  try {
    module = new WebAssembly.Module(decodeBase64(WASM_KERNELS_BASE64) as Uint8Array<ArrayBuffer>);
    memory = new WebAssembly.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, unknown>;
  } catch {
    return null;
  }
  const kernels = KERNEL_NAMES.map((name) => exports[name] as KernelFn);
  const gemmScratchFloats = (exports.gemm_scratch_floats as () => number)();
  const dwScratch = exports.depthwise_scratch_floats as (geo: number) => number;
  const dwClScratch = exports.depthwise_cl_scratch_floats as (geo: number, channels: number) => number;
  const dw3Fits = exports.depthwise3_fits as (geo: number) => number;
  const dw3Scratch = exports.depthwise3_scratch_floats as (geo: number) => number;
  const dwSmallFits = exports.depthwise_small_fits as (geo: number) => number;
  const intGemmScratchBytes = (exports.int_gemm_scratch_bytes as () => number)();
  const intDwScratch = exports.int_depthwise_scratch_bytes as (geo: number, channels: number) => number;
  const intDwSmallFits = exports.int_depthwise_small_fits as (geo: number) => number;
  const intDwSmallBytes = exports.int_depthwise_small_scratch_bytes as (geo: number) => number;
  const intDwRowsFits = exports.int_depthwise_rows_fits as (geo: number) => number;
  const intDwRowsBytes = exports.int_depthwise_rows_scratch_bytes as (geo: number) => number;
  const intGemmPacked = exports.int_gemm_packed_ints as (m: number, k: number, quads: number) => number;
  const packedFloats = exports.gemm_packed_floats as (m: number, k: number) => number;
  const packRows = exports.gemm_pack_rows as (a: number, m: number, k: number, out: number) => void;
  const heapBase = ((exports.__heap_base as WebAssembly.Global).value as number + 63) & ~63;
  // The resident region is [heapBase, keptStart - 64), the kept copies [keptStart, base); the allocator hands
  // out slots from base on.
  let base = heapBase,
    top = heapBase,
    residentBytes = 0,
    keptStart = heapBase,
    keptGeneration = 0,
    dropKept = false;
  // Byte ranges [start, end) of the resident arrays given in place since the last reset, as inputs and as outputs.
  let inPlace: number[] = [], outPlace: number[] = [];
  const overlapsAny = (ranges: number[], start: number, end: number) => {
    for (let i = 0; i < ranges.length; i += 2) if (start < ranges[i + 1] && ranges[i] < end) return true;
    return false;
  };
  // Every buffer object the memory has had (a new one after each growth): views of any of them are resident.
  const buffers = new WeakSet<ArrayBufferLike>([memory.buffer]);
  let scratch: number[] | undefined;
  let intScratch: number[] | undefined;
  let f32 = new Float32Array(memory.buffer);
  let i32 = new Int32Array(memory.buffer);
  let u8 = new Uint8Array(memory.buffer);
  const refresh = () => {
    if (f32.byteLength !== memory.buffer.byteLength) {
      buffers.add(memory.buffer);
      f32 = new Float32Array(memory.buffer);
      i32 = new Int32Array(memory.buffer);
      u8 = new Uint8Array(memory.buffer);
    }
  };
  const alloc = (floats: number): number => {
    const ptr = top;
    const end = ptr + ((floats * 4 + 63) & ~63);
    if (end > memory.buffer.byteLength) {
      const pages = Math.ceil((end - memory.buffer.byteLength) / PAGE);
      const have = memory.buffer.byteLength / PAGE;
      if (end > MAX_PAGES * PAGE) {
        throw new KernelMemoryError(
          `The CPU kernels need ${
            Math.ceil(end / 2 ** 20)
          } MiB of WebAssembly memory, over the 4096 MiB limit`,
        );
      }
      try {
        memory.grow(Math.max(pages, Math.min(have, MAX_PAGES - have)));
      } catch {
        try {
          memory.grow(pages);
        } catch (e) {
          throw new KernelMemoryError(
            `The CPU kernels could not grow their memory to ${Math.ceil(end / 2 ** 20)} MiB`,
            {
              cause: e,
            },
          );
        }
      }
      refresh();
    }
    top = end;
    return ptr;
  };
  const rt: KernelRuntime = {
    reset: () => {
      if (dropKept) {
        dropKept = false;
        keptGeneration++;
        base = keptStart;
      }
      top = base;
      inPlace = [];
      outPlace = [];
      scratch = undefined;
      intScratch = undefined;
    },
    alloc,
    put: (data) => {
      const ptr = alloc(data.length);
      f32.set(data, ptr >> 2);
      return ptr;
    },
    keep: (data) => {
      const copy = keptCopy(data);
      if (copy !== undefined && copy.generation === keptGeneration) return copy.ptr;
      if (top !== base) return rt.put(data);
      if (base - keptStart + data.length * 4 > KEEP_MAX_BYTES) {
        // The copies kept so far may be in use by this operation: drop them all at the next reset.
        dropKept = true;
        return rt.put(data);
      }
      const ptr = rt.put(data);
      base = top;
      setKeptCopy(data, { ptr, generation: keptGeneration });
      return ptr;
    },
    keepPacked: (data, rows) => {
      if (!Number.isInteger(rows) || rows < 1 || data.length % rows !== 0) {
        throw new RangeError(`keepPacked(): ${data.length} floats are not ${rows} rows`);
      }
      const raw = rt.keep(data);
      const copy = keptPacked(data, rows);
      if (copy !== undefined && copy.generation === keptGeneration) return { raw, packed: copy.ptr };
      if (top !== base || keptCopy(data)?.generation !== keptGeneration) return { raw, packed: 0 };
      const cols = data.length / rows, floats = packedFloats(rows, cols);
      if (base - keptStart + floats * 4 > KEEP_MAX_BYTES) {
        dropKept = true;
        return { raw, packed: 0 };
      }
      const packed = alloc(floats);
      base = top;
      packRows(raw, rows, cols, packed);
      setKeptPacked(data, { ptr: packed, generation: keptGeneration, rows });
      return { raw, packed };
    },
    putInts: (ints) => {
      const ptr = alloc(ints.length);
      i32.set(ints, ptr >> 2);
      return ptr;
    },
    putBytes: (data) => {
      const start = data.byteOffset, end = start + data.byteLength;
      if (buffers.has(data.buffer) && !overlapsAny(outPlace, start, end)) {
        inPlace.push(start, end);
        return start;
      }
      const ptr = alloc(Math.ceil((data.byteLength + 16) / 4));
      u8.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), ptr);
      return ptr;
    },
    take: (ptr, count, into) => {
      // new + set is several times faster than slice() on a shared buffer; a handed-back array of the same
      // length saves the fresh one's page faults.
      if (into) forgetKept(into);
      const out = into ?? pooledFloat32(count);
      out.set(f32.subarray(ptr >> 2, (ptr >> 2) + count));
      return out;
    },
    takeInt32: (ptr, count) => {
      const out = new Int32Array(count);
      out.set(i32.subarray(ptr >> 2, (ptr >> 2) + count));
      return out;
    },
    takeBytes: (ptr, count, bytes, into) => {
      if (into && into.byteOffset === ptr && buffers.has(into.buffer)) return into;
      refresh();
      const out = into ?? (bytes === 1 ? new Int8Array(count) : new Int16Array(count));
      out.set(bytes === 1 ? new Int8Array(u8.buffer, ptr, count) : new Int16Array(u8.buffer, ptr, count));
      return out;
    },
    outputBytes: (out, count, bytes) => {
      const start = out?.byteOffset ?? 0, end = start + count * bytes;
      if (
        out && buffers.has(out.buffer) && out.byteLength === count * bytes && start >= heapBase &&
        end <= heapBase + residentBytes && !overlapsAny(inPlace, start, end)
      ) {
        outPlace.push(start, end);
        return start;
      }
      return alloc(Math.ceil((count * bytes + 16) / 4));
    },
    resident: (bytes) => {
      if (bytes > residentBytes) {
        top = heapBase;
        alloc(Math.ceil((bytes + 64) / 4));
        base = keptStart = top;
        keptGeneration++;
        residentBytes = base - heapBase - 64;
      }
      top = base;
      scratch = undefined;
      intScratch = undefined;
      inPlace = [];
      outPlace = [];
      return { buffer: memory.buffer, byteOffset: heapBase };
    },
    zero: (ptr, count) => f32.fill(0, ptr >> 2, (ptr >> 2) + count),
    kernelIndex: (name) => KERNEL_NAMES.indexOf(name),
    run: (name, parts, scratch) => runParts(KERNEL_NAMES.indexOf(name), parts, scratch),
    threadScratch: (floats) => {
      const out: number[] = [];
      for (let t = getKernelThreads(); t > 0; t--) out.push(alloc(floats));
      return out;
    },
    threads: readyThreads,
    gemmScratch: () => (scratch ??= rt.threadScratch(gemmScratchFloats)),
    depthwiseScratchFloats: dwScratch,
    depthwiseClScratchFloats: dwClScratch,
    depthwise3ScratchFloats: (geo) => (dw3Fits(geo) ? dw3Scratch(geo) : 0),
    depthwiseSmallFits: (geo) => dwSmallFits(geo) !== 0,
    intGemmScratch: () => (intScratch ??= rt.threadScratch(Math.ceil(intGemmScratchBytes / 4))),
    intDepthwiseScratchBytes: intDwScratch,
    intDepthwiseSmallBytes: (geo) => (intDwSmallFits(geo) ? intDwSmallBytes(geo) : 0),
    intDepthwiseRowsBytes: (geo) => (intDwRowsFits(geo) ? intDwRowsBytes(geo) : 0),
    intGemmPackedInts: (m, k, quads) => intGemmPacked(m, k, quads ? 1 : 0),
    intDotUnsigned: (exports.int_dot_u8_probe as () => number)() === 1,
  };
  bindKernelPool({ module, memory, names: KERNEL_NAMES, kernels, alloc, ints: () => (refresh(), i32) });
  return rt;
}

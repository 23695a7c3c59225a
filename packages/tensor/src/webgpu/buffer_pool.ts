/**
 * A pool of GPU buffers with size-class free lists, so that the buffers of one step are reused by the
 * next and memory stays bounded. Buffers released while commands that may use them are still being
 * recorded are held back until those commands are submitted (a queue write into a reused buffer would
 * otherwise land before them).
 * @module
 */

/** What a pooled buffer is for; each kind has its own free lists. */
export type BufferKind = "storage" | "uniform" | "readback";

const USAGE: Record<BufferKind, number> = {
  storage: 0x80 | 0x4 | 0x8, // STORAGE | COPY_SRC | COPY_DST
  uniform: 0x40 | 0x8, // UNIFORM | COPY_DST
  readback: 0x1 | 0x8, // MAP_READ | COPY_DST
};

/** Counters of a {@linkcode BufferPool}. */
export interface PoolStats {
  /** Buffers alive (in use, held back or free). */
  readonly buffers: number;
  /** Bytes of the buffers alive. */
  readonly bytes: number;
  /** Buffers handed out and not released. */
  readonly inUse: number;
  /** Bytes of the buffers in use. */
  readonly inUseBytes: number;
  /** Buffers created since the pool was made. */
  readonly created: number;
  /** Requests served from a free list. */
  readonly reused: number;
}

/**
 * The size class of a request: at least 256 bytes, rounded up to a quarter step between powers of
 * two (so a buffer wastes under 25 %).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { sizeClass } from "./buffer_pool.ts";
 * assert(sizeClass(1) === 256 && sizeClass(1000) === 1024 && sizeClass(1100) === 1280);
 * ```
 */
export function sizeClass(bytes: number): number {
  if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new RangeError(`Invalid buffer size ${bytes}`);
  if (bytes <= 256) return 256;
  const p = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

/**
 * GPU buffers by size class. `acquire` hands out a buffer of at least the asked size; `release` takes it
 * back. While {@linkcode BufferPool.holdReleases} is on, released buffers wait in a pending list until
 * {@linkcode BufferPool.settle}. Free buffers beyond `maxFreeBytes` are destroyed.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { BufferPool } from "./buffer_pool.ts";
 * const adapter = await navigator.gpu?.requestAdapter();
 * if (adapter) {
 *   const device = await adapter.requestDevice();
 *   const pool = new BufferPool(device);
 *   const a = pool.acquire("storage", 1000);
 *   pool.release(a);
 *   const b = pool.acquire("storage", 900);
 *   assert(a === b && pool.stats().reused === 1);
 *   pool.destroy();
 *   device.destroy();
 * }
 * ```
 */
export class BufferPool {
  readonly #device: GPUDevice;
  readonly #maxFreeBytes: number;
  readonly #free = new Map<string, GPUBuffer[]>();
  readonly #kindOf = new Map<GPUBuffer, BufferKind>();
  readonly #inUse = new Set<GPUBuffer>();
  #pending: GPUBuffer[] = [];
  #hold = false;
  #bytes = 0;
  #inUseBytes = 0;
  #freeBytes = 0;
  #created = 0;
  #reused = 0;

  /** A pool on `device`; at most `maxFreeBytes` (default 256 MiB) stay cached when free. */
  constructor(device: GPUDevice, options: { maxFreeBytes?: number } = {}) {
    this.#device = device;
    this.#maxFreeBytes = options.maxFreeBytes ?? 256 * 1024 * 1024;
  }

  /** A buffer of `kind` holding at least `bytes` bytes (its size is the size class). */
  acquire(kind: BufferKind, bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.#free.get(`${kind}:${size}`);
    let buf = list?.pop();
    if (buf) {
      this.#reused++;
      this.#freeBytes -= size;
    } else {
      buf = this.#device.createBuffer({ size, usage: USAGE[kind], label: `${kind}:${size}` });
      this.#kindOf.set(buf, kind);
      this.#bytes += size;
      this.#created++;
    }
    this.#inUse.add(buf);
    this.#inUseBytes += size;
    return buf;
  }

  /** Takes a buffer back; it must have come from {@linkcode BufferPool.acquire} and be in use. */
  release(buf: GPUBuffer): void {
    if (!this.#inUse.delete(buf)) {
      throw new Error(`Buffer "${buf.label}" is released twice or does not belong to this pool`);
    }
    this.#inUseBytes -= buf.size;
    if (this.#hold) this.#pending.push(buf);
    else this.#toFree(buf);
  }

  /** From now on, released buffers wait until {@linkcode BufferPool.settle}. */
  holdReleases(): void {
    this.#hold = true;
  }

  /** Returns the held-back buffers to the free lists and stops holding. */
  settle(): void {
    this.#hold = false;
    const pending = this.#pending;
    this.#pending = [];
    for (const b of pending) this.#toFree(b);
  }

  #toFree(buf: GPUBuffer): void {
    if (this.#freeBytes + buf.size > this.#maxFreeBytes) {
      this.#kindOf.delete(buf);
      this.#bytes -= buf.size;
      buf.destroy();
      return;
    }
    const key = `${this.#kindOf.get(buf)}:${buf.size}`;
    const list = this.#free.get(key);
    if (list) list.push(buf);
    else this.#free.set(key, [buf]);
    this.#freeBytes += buf.size;
  }

  /** Destroys every free buffer. */
  trim(): void {
    for (const list of this.#free.values()) {
      for (const b of list) {
        this.#kindOf.delete(b);
        this.#bytes -= b.size;
        b.destroy();
      }
    }
    this.#free.clear();
    this.#freeBytes = 0;
  }

  /** The counters. */
  stats(): PoolStats {
    return {
      buffers: this.#kindOf.size,
      bytes: this.#bytes,
      inUse: this.#inUse.size,
      inUseBytes: this.#inUseBytes,
      created: this.#created,
      reused: this.#reused,
    };
  }

  /** Destroys every buffer of the pool, in use or not. */
  destroy(): void {
    for (const b of this.#kindOf.keys()) b.destroy();
    this.#kindOf.clear();
    this.#free.clear();
    this.#inUse.clear();
    this.#pending = [];
    this.#bytes = this.#inUseBytes = this.#freeBytes = 0;
  }
}

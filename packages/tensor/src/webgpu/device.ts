/**
 * {@linkcode WebGpuDevice}: a WebGPU device with a buffer pool, a pipeline cache keyed by the generated
 * shader, and one command encoder that batches many dispatches into a submission.
 * @module
 */
import { type BufferKind, BufferPool, type PoolStats } from "./buffer_pool.ts";
import { type KernelSpec, packUniforms, shaderOf, uniformLayout } from "./kernel_spec.ts";
import { type AdapterSummary, isSoftwareAdapter } from "./probe.ts";

/** The buffers, uniform values and grid of one dispatch. */
export interface DispatchArgs {
  /** One buffer per spec input. */
  readonly inputs: readonly GPUBuffer[];
  /** One buffer per spec output. */
  readonly outputs: readonly GPUBuffer[];
  /** A value for every spec uniform. */
  readonly uniforms?: Readonly<Record<string, number | readonly number[]>>;
  /** Workgroup counts [x, y, z]; each at most 65535. */
  readonly workgroups: readonly [number, number, number];
}

interface Compiled {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/** Options of {@linkcode WebGpuDevice.create}. */
export interface WebGpuDeviceOptions {
  /** Dispatches recorded before the encoder is submitted on its own (default 512: a MobileNetV2 training step in about six submissions). */
  readonly maxBatch?: number;
  /** Free buffer bytes kept cached by the pool (default 256 MiB). */
  readonly maxFreeBytes?: number;
}

/**
 * Largest workgroup count per grid dimension.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { grid, MAX_GROUPS } from "./device.ts";
 * assert(grid(MAX_GROUPS + 1)[1] === 2);
 * ```
 */
export const MAX_GROUPS = 65535;

/**
 * A WebGPU device for the tensor kernels. Dispatches are recorded into one command encoder and
 * submitted together (every `maxBatch` dispatches, or before a read); buffers come from a
 * {@linkcode BufferPool}; pipelines are compiled once per distinct shader.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * import { WebGpuDevice } from "./device.ts";
 * if ((await probeWebGpu()).available) {
 *   const dev = await WebGpuDevice.create();
 *   const buf = dev.upload(Float32Array.of(1, 2, 3));
 *   const out = dev.acquire(12);
 *   dev.dispatch({
 *     name: "double", inputs: [{ name: "x", type: "f32" }], outputs: [{ name: "y", type: "f32" }],
 *     uniforms: [{ name: "n", type: "u32" }], workgroupSize: [64, 1, 1],
 *     body: "if (gid.x < u_n()) { y[gid.x] = 2.0 * x[gid.x]; }",
 *   }, { inputs: [buf], outputs: [out], uniforms: { n: 3 }, workgroups: [1, 1, 1] });
 *   const y = new Float32Array(await dev.read(out, 12));
 *   assert(y.join() === "2,4,6");
 *   dev.destroy();
 * }
 * ```
 */
export class WebGpuDevice {
  /** The underlying device. */
  readonly gpu: GPUDevice;
  /** What the adapter says about itself. */
  readonly adapterInfo: AdapterSummary;
  /** Whether the adapter is a software one. */
  readonly software: boolean;
  /** The buffer pool. */
  readonly pool: BufferPool;
  readonly #maxBatch: number;
  readonly #pipelines = new Map<string, Compiled>();
  readonly #errors: string[] = [];
  #encoder: GPUCommandEncoder | null = null;
  #recorded = 0;
  #submissions = 0;
  #lost = false;

  private constructor(gpu: GPUDevice, info: AdapterSummary, software: boolean, options: WebGpuDeviceOptions) {
    this.gpu = gpu;
    this.adapterInfo = info;
    this.software = software;
    this.pool = new BufferPool(gpu, { maxFreeBytes: options.maxFreeBytes });
    this.#maxBatch = options.maxBatch ?? 512;
    gpu.addEventListener("uncapturederror", (e) => {
      this.#errors.push((e as GPUUncapturedErrorEvent).error.message);
    });
    gpu.lost.then(() => (this.#lost = true));
  }

  /** Opens a device on the default adapter; throws an Error when WebGPU is unavailable. */
  static async create(options: WebGpuDeviceOptions = {}): Promise<WebGpuDevice> {
    const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
    if (!gpu) throw new Error("WebGPU is unavailable: navigator.gpu is not defined");
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Error("WebGPU is unavailable: requestAdapter() found no adapter");
    const l = adapter.limits;
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 16),
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: Math.min(l.maxComputeInvocationsPerWorkgroup, 256),
      },
    });
    const raw = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    const info: AdapterSummary = {
      vendor: raw.vendor ?? "",
      architecture: raw.architecture ?? "",
      device: raw.device ?? "",
      description: raw.description ?? "",
    };
    return new WebGpuDevice(
      device,
      info,
      isSoftwareAdapter({ ...info, isFallbackAdapter: raw.isFallbackAdapter }),
      options,
    );
  }

  /** Largest storage binding in bytes. */
  get maxBindingBytes(): number {
    return this.gpu.limits.maxStorageBufferBindingSize;
  }

  /** Pool counters. */
  stats(): PoolStats & { readonly pipelines: number; readonly submissions: number } {
    return { ...this.pool.stats(), pipelines: this.#pipelines.size, submissions: this.#submissions };
  }

  /** A storage buffer of at least `bytes` bytes from the pool. */
  acquire(bytes: number, kind: BufferKind = "storage"): GPUBuffer {
    if (bytes > this.maxBindingBytes) {
      throw new RangeError(
        `A ${bytes}-byte buffer exceeds this device's largest storage binding of ${this.maxBindingBytes} bytes`,
      );
    }
    return this.pool.acquire(kind, bytes);
  }

  /** Returns a buffer to the pool (held back until the commands recorded so far are submitted). */
  release(buf: GPUBuffer): void {
    this.pool.release(buf);
  }

  /** A storage buffer holding a copy of `data` (padded to a multiple of 4 bytes). */
  upload(data: ArrayBufferView): GPUBuffer {
    const bytes = data.byteLength;
    const buf = this.acquire(Math.max(4, bytes));
    if (bytes > 0) {
      const src = new Uint8Array(data.buffer, data.byteOffset, bytes);
      const padded = bytes % 4 === 0 ? src : (() => {
        const p = new Uint8Array(Math.ceil(bytes / 4) * 4);
        p.set(src);
        return p;
      })();
      this.gpu.queue.writeBuffer(buf, 0, padded as Uint8Array<ArrayBuffer>);
    }
    return buf;
  }

  #compiled(spec: KernelSpec): Compiled {
    const code = shaderOf(spec);
    let c = this.#pipelines.get(code);
    if (c) return c;
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } },
    ];
    let b = 1;
    for (const _ of spec.inputs) {
      entries.push({
        binding: b++,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "read-only-storage" },
      });
    }
    for (const _ of spec.outputs) {
      entries.push({ binding: b++, visibility: GPUShaderStage.COMPUTE, buffer: { type: "storage" } });
    }
    const layout = this.gpu.createBindGroupLayout({ entries, label: spec.name });
    const module = this.gpu.createShaderModule({ code, label: spec.name });
    const pipeline = this.gpu.createComputePipeline({
      layout: this.gpu.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: "main" },
      label: spec.name,
    });
    c = { pipeline, layout };
    this.#pipelines.set(code, c);
    return c;
  }

  #enc(): GPUCommandEncoder {
    if (!this.#encoder) {
      this.#encoder = this.gpu.createCommandEncoder();
      this.pool.holdReleases();
    }
    return this.#encoder;
  }

  /** Records one dispatch of `spec`; it runs at the next submission. */
  dispatch(spec: KernelSpec, args: DispatchArgs): void {
    if (this.#lost) throw new Error("The WebGPU device was lost");
    if (args.inputs.length !== spec.inputs.length || args.outputs.length !== spec.outputs.length) {
      throw new TypeError(
        `Kernel ${spec.name} takes ${spec.inputs.length} inputs and ${spec.outputs.length} outputs, got ${args.inputs.length} and ${args.outputs.length}`,
      );
    }
    const [x, y, z] = args.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    if (x > MAX_GROUPS || y > MAX_GROUPS || z > MAX_GROUPS) {
      throw new RangeError(
        `Kernel ${spec.name}: grid [${x},${y},${z}] exceeds ${MAX_GROUPS} workgroups per dimension`,
      );
    }
    const { pipeline, layout } = this.#compiled(spec);
    const words = packUniforms(spec.uniforms, args.uniforms ?? {});
    const enc = this.#enc();
    const ubuf = this.pool.acquire("uniform", words.byteLength);
    this.gpu.queue.writeBuffer(ubuf, 0, words as Uint32Array<ArrayBuffer>);
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: ubuf, size: uniformLayout(spec.uniforms).words * 4 } },
    ];
    [...args.inputs, ...args.outputs].forEach((buffer, i) =>
      entries.push({ binding: i + 1, resource: { buffer } })
    );
    const group = this.gpu.createBindGroup({ layout, entries });
    const pass = enc.beginComputePass({ label: spec.name });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    this.pool.release(ubuf);
    if (++this.#recorded >= this.#maxBatch) this.flush();
  }

  /** Records a buffer-to-buffer copy of `bytes` (a multiple of 4). */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number): void {
    if (bytes > 0) this.#enc().copyBufferToBuffer(src, 0, dst, 0, bytes);
  }

  /** Submits the recorded commands. */
  flush(): void {
    if (!this.#encoder) return;
    this.gpu.queue.submit([this.#encoder.finish()]);
    this.#encoder = null;
    this.#recorded = 0;
    this.#submissions++;
    this.pool.settle();
  }

  /** Submits everything recorded and returns the first `bytes` bytes of `buf` (a multiple of 4 is read). */
  async read(buf: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.pool.acquire("readback", size);
    this.#enc().copyBufferToBuffer(buf, 0, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, size);
      const out = staging.getMappedRange(0, size).slice(0, bytes);
      staging.unmap();
      return out;
    } finally {
      this.pool.release(staging);
      this.throwErrors();
    }
  }

  /** Throws the first WebGPU validation error reported since the last call, if any. */
  throwErrors(): void {
    if (this.#errors.length > 0) {
      const msg = this.#errors.splice(0).join("\n");
      throw new Error(`WebGPU error: ${msg}`);
    }
  }

  /** Waits until every submitted command has run. */
  async idle(): Promise<void> {
    this.flush();
    await this.gpu.queue.onSubmittedWorkDone();
    this.throwErrors();
  }

  /** Destroys the pool and the device. */
  destroy(): void {
    this.#encoder = null;
    this.pool.destroy();
    this.#pipelines.clear();
    this.gpu.destroy();
  }
}

/**
 * A grid of `groups` workgroups laid out as [x, y, 1] within the per-dimension limit; kernels recover
 * the linear group index as `wid.y * nwg.x + wid.x`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { grid } from "./device.ts";
 * assert(grid(10).join() === "10,1,1" && grid(70000).join() === "35000,2,1");
 * ```
 */
export function grid(groups: number): [number, number, number] {
  if (groups <= MAX_GROUPS) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_GROUPS);
  return [Math.ceil(groups / y), y, 1];
}

/**
 * Probing for WebGPU: whether `navigator.gpu` gives an adapter that opens a device, what it is, and
 * whether it is a software rasterizer (correct but slow).
 * @module
 */

/** What the adapter says about itself. */
export interface AdapterSummary {
  /** Vendor id or name. */
  readonly vendor: string;
  /** Architecture, often empty. */
  readonly architecture: string;
  /** Device id or name. */
  readonly device: string;
  /** Driver description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  readonly description: string;
}

/** The result of {@linkcode probeWebGpu}. */
export interface WebGpuProbe {
  /** Whether a device could be opened. */
  readonly available: boolean;
  /** The adapter's self-description, when there is an adapter. */
  readonly adapterInfo?: AdapterSummary;
  /** Whether the adapter is a software one (llvmpipe, lavapipe, SwiftShader, WARP or a fallback adapter). */
  readonly software: boolean;
  /** Why WebGPU is unavailable, or a one-line description of the adapter. */
  readonly reason: string;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|warp|softpipe/i;

/**
 * Whether `info` describes a software adapter.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isSoftwareAdapter } from "./probe.ts";
 * assert(isSoftwareAdapter({ vendor: "", architecture: "", device: "", description: "llvmpipe (LLVM 15)" }));
 * assert(!isSoftwareAdapter({ vendor: "nvidia", architecture: "hopper", device: "H100", description: "" }));
 * ```
 */
export function isSoftwareAdapter(info: AdapterSummary & { isFallbackAdapter?: boolean }): boolean {
  return info.isFallbackAdapter === true ||
    SOFTWARE.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

/**
 * Looks for a WebGPU adapter and opens (then closes) a device on it. Never throws: every failure is
 * reported in `reason`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { probeWebGpu } from "./probe.ts";
 * const probe = await probeWebGpu();
 * assert(probe.available === (probe.adapterInfo !== undefined) || !probe.available);
 * assert(typeof probe.reason === "string" && probe.reason.length > 0);
 * ```
 */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return { available: false, software: false, reason: "navigator.gpu is not defined" };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { available: false, software: false, reason: `requestAdapter() failed: ${(e as Error).message}` };
  }
  if (!adapter) return { available: false, software: false, reason: "requestAdapter() found no adapter" };
  const raw = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const adapterInfo: AdapterSummary = {
    vendor: raw.vendor ?? "",
    architecture: raw.architecture ?? "",
    device: raw.device ?? "",
    description: raw.description ?? "",
  };
  const software = isSoftwareAdapter({ ...adapterInfo, isFallbackAdapter: raw.isFallbackAdapter });
  try {
    const device = await adapter.requestDevice();
    device.destroy();
  } catch (e) {
    return {
      available: false,
      adapterInfo,
      software,
      reason: `requestDevice() failed: ${(e as Error).message}`,
    };
  }
  const name = adapterInfo.description || `${adapterInfo.vendor} ${adapterInfo.device}`.trim();
  return {
    available: true,
    adapterInfo,
    software,
    reason: `${software ? "software" : "hardware"} adapter ${name}`,
  };
}

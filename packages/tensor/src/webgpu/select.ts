/**
 * Choosing where tensors live: `auto` (WebGPU when a hardware adapter exists, else the CPU), `cpu`, or
 * `webgpu` (any adapter, software ones included; an error where there is none).
 * @module
 */
import { WebGpuDevice } from "./device.ts";
import { probeWebGpu, type WebGpuProbe } from "./probe.ts";

/** What a user may ask for. */
export type DeviceChoice = "auto" | "cpu" | "webgpu";

/** The devices a user may name, for help texts and validation. */
export const DEVICE_CHOICES: readonly DeviceChoice[] = ["auto", "cpu", "webgpu"];

/** The outcome of {@linkcode selectDevice}. */
export interface DeviceSelection {
  /** The backend chosen. */
  readonly kind: "cpu" | "webgpu";
  /** The opened device, for `webgpu`. */
  readonly gpu?: WebGpuDevice;
  /** One line saying what was chosen and why, for the user. */
  readonly reason: string;
}

/**
 * Parses a `--device` value, naming the accepted values in the error.
 *
 * @example
 * ```ts
 * import { assert, assertThrows } from "@std/assert";
 * import { parseDeviceChoice } from "@hqat/tensor";
 * assert(parseDeviceChoice("webgpu") === "webgpu");
 * assertThrows(() => parseDeviceChoice("cuda"));
 * ```
 */
export function parseDeviceChoice(value: string): DeviceChoice {
  if ((DEVICE_CHOICES as readonly string[]).includes(value)) return value as DeviceChoice;
  throw new RangeError(`Unknown device "${value}": expected one of ${DEVICE_CHOICES.join(", ")}`);
}

/**
 * Picks the backend. `auto` takes WebGPU only on a hardware adapter: a software adapter (llvmpipe,
 * SwiftShader, WARP) runs the kernels far slower than the CPU backend, so `auto` stays on the CPU and
 * says so. `webgpu` opens any adapter and throws a clear error where none exists. `probe` is for tests.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { selectDevice } from "@hqat/tensor";
 * const cpu = await selectDevice("cpu");
 * assert(cpu.kind === "cpu" && cpu.gpu === undefined);
 * const none = await selectDevice("auto", { probe: { available: false, software: false, reason: "no adapter" } });
 * assert(none.kind === "cpu" && none.reason.includes("no adapter"));
 * ```
 */
export async function selectDevice(
  choice: DeviceChoice = "auto",
  options: { probe?: WebGpuProbe } = {},
): Promise<DeviceSelection> {
  if (choice === "cpu") return { kind: "cpu", reason: "device: cpu (requested)" };
  const probe = options.probe ?? await probeWebGpu();
  if (!probe.available) {
    if (choice === "webgpu") throw new Error(`--device webgpu: WebGPU is unavailable (${probe.reason})`);
    return { kind: "cpu", reason: `device: cpu (WebGPU unavailable: ${probe.reason})` };
  }
  if (choice === "auto" && probe.software) {
    return {
      kind: "cpu",
      reason: `device: cpu (the only WebGPU adapter is a ${probe.reason}, slower than the CPU backend; ` +
        `--device webgpu uses it anyway)`,
    };
  }
  const gpu = await WebGpuDevice.create();
  return { kind: "webgpu", gpu, reason: `device: webgpu (${probe.reason})` };
}

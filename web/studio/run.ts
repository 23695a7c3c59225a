/**
 * Running the integer program in the page: on WebGPU (`runIntModelGpu`, when the browser gives an
 * adapter) or on the CPU (`runIntModel`, WebAssembly kernels), the same integers either way.
 * @module
 */
import {
  type IntRunResult,
  probeWebGpu,
  type Program,
  runIntModel,
  runIntModelGpu,
  WebGpuDevice,
} from "../hqat_browser.ts";
import type { InputBatch } from "./files.ts";

/** A backend the page can run on. */
export type Backend = "webgpu" | "wasm";

/** The backends this browser has, with a label each (WebGPU first when it has an adapter). */
export async function availableBackends(): Promise<{ id: Backend; label: string }[]> {
  const out: { id: Backend; label: string }[] = [];
  const probe = await probeWebGpu();
  if (probe.available) {
    const a = probe.adapterInfo;
    const what = a ? [a.vendor, a.architecture].filter((s) => s).join(" ") : "";
    out.push({
      id: "webgpu",
      label: `WebGPU${what ? ` (${what}${probe.software ? ", software" : ""})` : ""}`,
    });
  }
  out.push({ id: "wasm", label: "CPU (WebAssembly)" });
  return out;
}

let device: Promise<WebGpuDevice> | undefined;

/** A run's result and how long it took. */
export interface RunResult extends IntRunResult {
  /** The backend it ran on. */
  readonly backend: Backend;
  /** Wall time in ms. */
  readonly ms: number;
}

/**
 * Runs `program` on `batch` with `backend`.
 *
 * @example
 * ```ts ignore
 * const r = await runProgram(model.program, batch, "wasm");
 * ```
 */
export async function runProgram(program: Program, batch: InputBatch, backend: Backend): Promise<RunResult> {
  const t0 = performance.now();
  let r: IntRunResult;
  if (backend === "webgpu") {
    device ??= WebGpuDevice.create();
    r = await runIntModelGpu(program, batch.data, batch.shape, { device: await device });
  } else {
    r = runIntModel(program, batch.data, batch.shape);
  }
  return { ...r, backend, ms: performance.now() - t0 };
}

/** Softmax over each row of `logits` ([N, C]). */
export function softmaxRows(logits: Float32Array, classes: number): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let i = 0; i < logits.length / classes; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    rows.push(e.map((v) => v / s));
  }
  return rows;
}

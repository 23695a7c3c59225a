/**
 * The `inspect` and `predict` commands.
 * @module
 */
import { type Args, parseArgs } from "@std/cli";
import { forward, initState, loadNpy, loadState, type Module, saveNpy, stateSpecs } from "@hqat/nn";
import { OnnxModel } from "@hqat/onnx";
import {
  concat,
  type DeviceChoice,
  type DeviceSelection,
  fromArray,
  parseDeviceChoice,
  randomKey,
  selectDevice,
  stateToDevice,
  toCpu,
  toDevice,
  type WebGpuDevice,
} from "@hqat/tensor";
import { chooseModel, CliError } from "./models.ts";
import { checkFiles } from "./outputs.ts";
import { checkNumClasses } from "./data_source.ts";

/** A command: its usage text and its action. */
export interface Command {
  /** One-line summary. */
  summary: string;
  /** Full usage text for --help. */
  usage: string;
  /** Runs with the arguments after the command name; returns the exit code. */
  run(args: string[]): Promise<number>;
}

/** Parses a command's options; unknown options and stray arguments are usage errors. */
export function parse(
  args: string[],
  spec: { string?: string[]; boolean?: string[] },
  usage: string,
): Args {
  const known = new Set([...(spec.string ?? []), ...(spec.boolean ?? []), "help", "h"]);
  const parsed = parseArgs(args, {
    string: spec.string,
    boolean: [...(spec.boolean ?? []), "help"],
    alias: { h: "help" },
    unknown: (arg: string) => {
      if (arg.startsWith("-") && !known.has(arg.replace(/^-+/, "").split("=")[0])) {
        throw new CliError(`Unknown option ${arg}\n${usage}`);
      }
      return true;
    },
  });
  if (parsed._.length) throw new CliError(`Unexpected argument "${parsed._[0]}"\n${usage}`);
  return parsed;
}

/** A required string option. */
export function required(args: Record<string, unknown>, name: string, usage: string): string {
  const v = args[name];
  if (typeof v !== "string" || v === "") throw new CliError(`Missing --${name}\n${usage}`);
  return v;
}

/** The help line of `--device`. */
export const DEVICE_HELP =
  "  --device auto|cpu|webgpu      where tensors live (default auto: WebGPU on a hardware adapter, else the CPU)";

/**
 * Opens the device `--device` names (default auto) and prints which one was chosen and why; a bad
 * value or an unavailable WebGPU is a usage error.
 */
export async function deviceOption(
  args: Record<string, unknown>,
  log: (line: string) => void = console.log,
): Promise<DeviceSelection> {
  const choice = deviceChoice(args);
  try {
    const sel = await selectDevice(choice);
    log(sel.reason);
    return sel;
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/**
 * Runs `gpuRun` on the WebGPU device `--device` selects (closed afterwards), or `cpuRun` on the CPU.
 */
export async function onSelectedDevice<T>(
  args: Record<string, unknown>,
  log: (line: string) => void,
  gpuRun: (gpu: WebGpuDevice) => Promise<T>,
  cpuRun: () => T,
): Promise<T> {
  const { gpu } = await deviceOption(args, log);
  if (!gpu) return cpuRun();
  try {
    return await gpuRun(gpu);
  } finally {
    gpu.destroy();
  }
}

/** The `--device` value (default auto), checked; a bad value is a usage error. */
export function deviceChoice(args: Record<string, unknown>): DeviceChoice {
  try {
    return parseDeviceChoice((args.device as string | undefined) ?? "auto");
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** An integer option: positive, or with `min` 0 also zero. */
export function intOption(
  args: Record<string, unknown>,
  name: string,
  fallback: number,
  min: 0 | 1 = 1,
): number {
  const v = args[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw new CliError(`--${name} must be a ${min ? "positive" : "non-negative"} integer, got "${v}"`);
  }
  return n;
}

/**
 * Parses `--input-shape 1,3,224,224`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { shapeOption } from "@hqat/cli";
 * assert(shapeOption({ "input-shape": "1,3,8,8" })!.join() === "1,3,8,8");
 * ```
 */
export function shapeOption(args: Record<string, unknown>): number[] | undefined {
  const v = args["input-shape"];
  if (v === undefined) return undefined;
  const dims = String(v).split(",").map(Number);
  if (!dims.length || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new CliError(`--input-shape must be positive integers separated by commas, got "${v}"`);
  }
  return dims;
}

/**
 * The model of `--arch` or `--onnx` (one of them; `--arch` defaults to mobilenetv2 when `fallback`).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { modelOption } from "@hqat/cli";
 * assert((await modelOption({ arch: "resnet18" }, "usage")).typeName === "ResNet");
 * ```
 */
export async function modelOption(
  a: Record<string, unknown>,
  usage: string,
  options: { inputShape?: readonly number[]; fallback?: boolean } = {},
): Promise<Module> {
  if (a.arch !== undefined && a.onnx !== undefined) {
    throw new CliError(`Give --arch or --onnx, not both\n${usage}`);
  }
  if (a.onnx === undefined && a.arch === undefined && !options.fallback) {
    throw new CliError(`Missing --arch or --onnx\n${usage}`);
  }
  const classes = intOption(a, "num-classes", 10);
  checkNumClasses(classes, "");
  return await chooseModel({
    arch: a.arch as string | undefined,
    onnx: a.onnx as string | undefined,
    numClasses: classes,
    inputShape: options.inputShape ?? shapeOption(a),
  });
}

const INSPECT_USAGE =
  `Usage: hqat inspect (--arch mobilenetv2|resnet18 [--num-classes N] | --onnx M.onnx [--input-shape 1,3,H,W]) [--json]
Prints the model's parameter count and its state dict (name, shape, dtype) in PyTorch's order; for an ONNX
network also its opset, input and output shapes (N: the dynamic batch) and operators.`;

/** `hqat inspect`. */
export const inspectCommand: Command = {
  summary: "print a model's parameter count and state-dict layout",
  usage: INSPECT_USAGE,
  async run(args) {
    const a = parse(
      args,
      { string: ["arch", "onnx", "num-classes", "input-shape"], boolean: ["json"] },
      INSPECT_USAGE,
    );
    if (a.help) {
      console.log(INSPECT_USAGE);
      return 0;
    }
    const model = await modelOption(a, INSPECT_USAGE);
    const specs = stateSpecs(model);
    const params = specs.filter((s) => s.kind === "param").reduce(
      (n, s) => n + s.shape.reduce((p, d) => p * d, 1),
      0,
    );
    const state = specs.map((s) => [s.name, [...s.shape], s.torchDType ?? s.dtype]);
    const onnx = model instanceof OnnxModel ? onnxSummary(model) : undefined;
    if (a.json) console.log(JSON.stringify({ params, state, ...(onnx && { onnx }) }));
    else {
      console.log(
        `${model.typeName}: ${params.toLocaleString("en-US")} parameters, ${specs.length} state entries`,
      );
      if (onnx) {
        const fmt = (s: readonly (number | string)[]) => `[${s.join(",")}]`;
        console.log(
          `  ${onnx.producer || "ONNX"}, opset ${onnx.opset}: ${fmt(onnx.input)} -> ${fmt(onnx.output)}`,
        );
        console.log(`  operators: ${Object.entries(onnx.operators).map(([k, v]) => `${k} ${v}`).join(", ")}`);
      }
      for (const [n, shape, dtype] of state) {
        console.log(`  ${n}  [${(shape as number[]).join(", ")}]  ${dtype}`);
      }
    }
    return 0;
  },
};

/** What `inspect` tells of an ONNX network. */
function onnxSummary(m: OnnxModel) {
  const operators: Record<string, number> = {};
  for (const n of m.nodes) operators[n.opType] = (operators[n.opType] ?? 0) + 1;
  const dims = (s: readonly number[]) => s.map((d) => (d < 0 ? "N" : d));
  return {
    opset: m.info.opset,
    producer: m.info.producer,
    input: dims(m.info.inputShape),
    output: dims(m.info.outputShape),
    operators,
  };
}

const PREDICT_USAGE =
  `Usage: hqat predict (--arch mobilenetv2|resnet18 [--num-classes N] --weights W.safetensors | --onnx M.onnx [--weights W])
                    --input X.npy --output Y.npy [--batch-size 256] [--device auto|cpu|webgpu]
Runs the eval-mode forward pass on X, --batch-size rows at a time (default 256), and writes the output:
the logits [N, classes] of an architecture (X [N,3,H,W] float32), or whatever an ONNX network computes
(X as its input, any batch size; its own weights unless --weights names a checkpoint).
${DEVICE_HELP}`;

/** `hqat predict`. */
export const predictCommand: Command = {
  summary: "run a float model on a .npy batch and write its output",
  usage: PREDICT_USAGE,
  async run(args) {
    const a = parse(
      args,
      { string: ["arch", "onnx", "num-classes", "weights", "input", "output", "batch-size", "device"] },
      PREDICT_USAGE,
    );
    if (a.help) {
      console.log(PREDICT_USAGE);
      return 0;
    }
    deviceChoice(a);
    const input = required(a, "input", PREDICT_USAGE);
    const output = required(a, "output", PREDICT_USAGE);
    const batchSize = intOption(a, "batch-size", 256);
    await checkFiles([output], [input, a.weights as string | undefined, a.onnx as string | undefined]);
    // An architecture's weights are read first; an ONNX network is folded for the input's shape.
    let model = a.onnx === undefined ? await modelOption(a, PREDICT_USAGE) : undefined;
    let state = model && await loadState(required(a, "weights", PREDICT_USAGE), model);
    const x = await loadNpy(input, { dtype: "float32" });
    const bad = (x.data as Float32Array).findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new CliError(`"${input}" holds ${x.data[bad]} at value ${bad}; the input must be finite`, 1);
    }
    if (!model) {
      model = await modelOption(a, PREDICT_USAGE, { inputShape: x.shape });
      state = a.weights ? await loadState(a.weights as string, model) : initState(model, randomKey(0));
    } else if (x.rank !== 4 || x.shape[1] !== 3) {
      throw new CliError(`"${input}": expected a [N,3,H,W] batch, got [${x.shape.join(",")}]`, 1);
    }
    const m = model, s = state!;
    // --batch-size rows at a time, so the activations stay those of one batch whatever the input's size.
    const n = x.shape[0], row = x.size / Math.max(n, 1), data = x.data as Float32Array;
    const chunk = (from: number) => {
      const to = Math.min(n, from + batchSize);
      return fromArray(data.subarray(from * row, to * row), [to - from, ...x.shape.slice(1)]);
    };
    const y = await onSelectedDevice(
      a,
      console.error,
      async (gpu) => {
        const g = stateToDevice(s, gpu), parts = [];
        for (let i = 0; i < n; i += batchSize) {
          parts.push(await toCpu(forward(m, g, toDevice(chunk(i), gpu)).y));
        }
        return parts.length === 1 ? parts[0] : concat(parts, 0);
      },
      () => {
        const parts = [];
        for (let i = 0; i < n; i += batchSize) parts.push(forward(m, s, chunk(i)).y);
        return parts.length === 1 ? parts[0] : concat(parts, 0);
      },
    );
    await saveNpy(output, y);
    console.error(`Wrote output [${y.shape.join(",")}] to ${output}`);
    return 0;
  },
};

/**
 * The `inspect` and `predict` commands.
 * @module
 */
import { type Args, parseArgs } from "@std/cli";
import { forward, loadNpy, loadState, saveNpy, stateSpecs } from "@hqat/nn";
import {
  type DeviceChoice,
  type DeviceSelection,
  parseDeviceChoice,
  selectDevice,
  type WebGpuDevice,
} from "@hqat/tensor";
import { buildModel, CliError } from "./models.ts";

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

const INSPECT_USAGE = `Usage: hqat inspect --arch mobilenetv2|resnet18 [--num-classes N] [--json]
Prints the model's parameter count and its state dict (name, shape, dtype) in PyTorch's order.`;

/** `hqat inspect`. */
export const inspectCommand: Command = {
  summary: "print a model's parameter count and state-dict layout",
  usage: INSPECT_USAGE,
  run(args) {
    const a = parse(args, { string: ["arch", "num-classes"], boolean: ["json"] }, INSPECT_USAGE);
    if (a.help) {
      console.log(INSPECT_USAGE);
      return Promise.resolve(0);
    }
    const model = buildModel(required(a, "arch", INSPECT_USAGE), {
      numClasses: intOption(a, "num-classes", 10),
    });
    const specs = stateSpecs(model);
    const params = specs.filter((s) => s.kind === "param").reduce(
      (n, s) => n + s.shape.reduce((p, d) => p * d, 1),
      0,
    );
    const state = specs.map((s) => [s.name, [...s.shape], s.torchDType ?? s.dtype]);
    if (a.json) console.log(JSON.stringify({ params, state }));
    else {
      console.log(
        `${model.typeName}: ${params.toLocaleString("en-US")} parameters, ${specs.length} state entries`,
      );
      for (const [n, shape, dtype] of state) {
        console.log(`  ${n}  [${(shape as number[]).join(", ")}]  ${dtype}`);
      }
    }
    return Promise.resolve(0);
  },
};

const PREDICT_USAGE =
  `Usage: hqat predict --arch mobilenetv2|resnet18 [--num-classes N] --weights W.safetensors
                    --input X.npy --output Y.npy [--batch-size B]
Runs the eval-mode forward pass on X ([N,3,H,W] float32) and writes the logits ([N, classes]).`;

/** `hqat predict`. */
export const predictCommand: Command = {
  summary: "run a float model on a .npy batch and write the logits",
  usage: PREDICT_USAGE,
  async run(args) {
    const a = parse(
      args,
      { string: ["arch", "num-classes", "weights", "input", "output", "batch-size"] },
      PREDICT_USAGE,
    );
    if (a.help) {
      console.log(PREDICT_USAGE);
      return 0;
    }
    const model = buildModel(required(a, "arch", PREDICT_USAGE), {
      numClasses: intOption(a, "num-classes", 10),
    });
    const weights = required(a, "weights", PREDICT_USAGE);
    const input = required(a, "input", PREDICT_USAGE);
    const output = required(a, "output", PREDICT_USAGE);
    const state = await loadState(weights, model);
    const x = await loadNpy(input, { dtype: "float32" });
    if (x.rank !== 4 || x.shape[1] !== 3) {
      throw new CliError(`"${input}": expected a [N,3,H,W] batch, got [${x.shape.join(",")}]`, 1);
    }
    const { y } = forward(model, state, x);
    await saveNpy(output, y);
    console.error(`Wrote logits [${y.shape.join(",")}] to ${output}`);
    return 0;
  },
};

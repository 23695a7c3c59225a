/**
 * The deployment commands: `check`, `compile`, `perf`, `visualize` (on an int model file) and
 * `run-hbm` (on a compiled `.hbm`).
 * @module
 */
import { checkModel, compileModel, type ExampleInput, perfModel, readHbm, visualizeModel } from "@hqat/hbdk";
import {
  type IntModel,
  type IntRunResult,
  loadIntModel,
  OPT_LEVELS,
  type OptLevel,
  type Program,
  runIntModel,
  runIntModelGpu,
} from "@hqat/program";
import { type InputSource, isMarch, type March } from "@hqat/march-bayes";
import { loadNpy, type StoredTensor, writeNpy } from "@hqat/nn";
import {
  type Command,
  DEVICE_HELP,
  deviceChoice,
  intOption,
  onSelectedDevice,
  parse,
  required,
} from "./commands.ts";
import { CliError } from "./models.ts";
import { checkFiles } from "./outputs.ts";

const MODEL_OPTIONS = ["model", "march", "input-source", "batch", "input", "name"];
const MODEL_HELP = `  --model INT_MODEL          the int model file (written by "hqat convert")
  --march bayes|bayes-e      target (default: the model's)
  --input-source ddr|pyramid|resizer  where the input comes from (default ddr)
  --batch N                  batch of the example input (default 1; zeros unless --input)
  --input X.npy              example input ([N,C,H,W] float32) instead of zeros
  --name NAME                model name (default: the model file's base name)`;

function dirOf(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut < 0 ? "." : cut === 0 ? "/" : path.slice(0, cut);
}

/** The file's name without its extension, as a report name: characters other than letters, digits, ".", "_", "-" become "_". */
function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1).replace(/\.[^.]*$/, "").replace(/[^\w.-]+/g, "_") || "model";
}

/** Failures of the work itself (not of the command line) exit with 1. */
async function failures<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(e instanceof Error ? e.message : String(e), 1);
  }
}

function choice<T extends string>(
  a: Record<string, unknown>,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = a[name];
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new CliError(`--${name} must be one of ${allowed.join(", ")}, got "${v}"`);
  }
  return v as T;
}

interface ModelArgs {
  model: IntModel;
  path: string;
  example: ExampleInput;
  march?: March;
  inputSource: InputSource;
  name: string;
}

async function modelArgs(a: Record<string, unknown>, usage: string): Promise<ModelArgs> {
  const path = required(a, "model", usage);
  const march = a.march as string | undefined;
  if (march !== undefined && !isMarch(march)) {
    throw new CliError(`--march must be bayes or bayes-e, got "${march}"`);
  }
  const inputSource = choice(a, "input-source", ["ddr", "pyramid", "resizer"] as const, "ddr");
  const model = await failures(() => loadIntModel(path));
  let example: ExampleInput;
  if (a.input !== undefined) {
    const x = await failures(() => loadNpy(String(a.input), { dtype: "float32" }));
    if (a.batch !== undefined && intOption(a, "batch", 1) !== x.shape[0]) {
      throw new CliError(`--batch ${a.batch} differs from the batch ${x.shape[0]} of --input`);
    }
    example = { shape: x.shape, data: x.data as Float32Array };
  } else {
    example = { shape: [intOption(a, "batch", 1), ...model.inputShape.slice(1)] };
  }
  const name = (a.name as string | undefined) ?? baseName(path);
  return { model, path, example, march: march as March | undefined, inputSource, name };
}

function helped(a: Record<string, unknown>, usage: string): boolean {
  if (a.help) console.log(usage);
  return a.help === true;
}

const CHECK_USAGE = `Usage: hqat check --model INT_MODEL [options]
Checks every layer against the march's operator table (HBDK's check_model); exits 1 when a layer is not supported.
${MODEL_HELP}`;

/** `hqat check`. */
export const checkCommand: Command = {
  summary: "check an int model against the BPU's operator table",
  usage: CHECK_USAGE,
  async run(args) {
    const a = parse(args, { string: MODEL_OPTIONS }, CHECK_USAGE);
    if (helped(a, CHECK_USAGE)) return 0;
    const m = await modelArgs(a, CHECK_USAGE);
    const report = await failures(() => Promise.resolve(checkModel(m.model, [m.example], m)));
    return report.supported ? 0 : 1;
  },
};

const COMPILE_USAGE = `Usage: hqat compile --model INT_MODEL [--hbm OUT.hbm] [--opt O0|O1|O2|O3] [options]
Compiles the int model to a .hbm file (HBDK's compile_model); default OUT is model.hbm beside the model.
${MODEL_HELP}`;

/** `hqat compile`. */
export const compileCommand: Command = {
  summary: "compile an int model to a .hbm file",
  usage: COMPILE_USAGE,
  async run(args) {
    const a = parse(args, { string: [...MODEL_OPTIONS, "hbm", "opt"] }, COMPILE_USAGE);
    if (helped(a, COMPILE_USAGE)) return 0;
    const opt = choice(a, "opt", OPT_LEVELS, "O1" as OptLevel);
    const m = await modelArgs(a, COMPILE_USAGE);
    const hbm = (a.hbm as string | undefined) ?? `${dirOf(m.path)}/model.hbm`;
    if (!hbm.endsWith(".hbm")) throw new CliError(`--hbm must name a .hbm file, got "${hbm}"`);
    await checkFiles([hbm], [m.path, a.input as string | undefined]);
    const r = await failures(() => compileModel(m.model, [m.example], { ...m, hbm, opt }));
    console.error(
      `Wrote ${hbm} (${r.bytes.length} bytes, ${r.program.instructions.length} instructions, arena ${
        r.program.placement!.arenaBytes
      } bytes)`,
    );
    return 0;
  },
};

const PERF_USAGE =
  `Usage: hqat perf --model INT_MODEL [--out-dir DIR] [--opt O0|O1|O2|O3] [--layer-details] [options]
Estimates FPS, latency and DDR traffic (HBDK's perf_model); writes DIR/NAME.json and DIR/NAME.html
(default DIR: perf_out beside the model).
${MODEL_HELP}`;

/** `hqat perf`. */
export const perfCommand: Command = {
  summary: "estimate performance (writes NAME.json and NAME.html)",
  usage: PERF_USAGE,
  async run(args) {
    const a = parse(
      args,
      { string: [...MODEL_OPTIONS, "out-dir", "opt"], boolean: ["layer-details"] },
      PERF_USAGE,
    );
    if (helped(a, PERF_USAGE)) return 0;
    const opt = choice(a, "opt", OPT_LEVELS, "O1" as OptLevel);
    const m = await modelArgs(a, PERF_USAGE);
    const outDir = (a["out-dir"] as string | undefined) ?? `${dirOf(m.path)}/perf_out`;
    const inputs = [m.path, a.input as string | undefined];
    await checkFiles([`${outDir}/${m.name}.json`, `${outDir}/${m.name}.html`], inputs);
    await failures(() =>
      perfModel(m.model, [m.example], { ...m, outDir, opt, layerDetails: a["layer-details"] })
    );
    return 0;
  },
};

const VISUALIZE_USAGE = `Usage: hqat visualize --model INT_MODEL [--save-path OUT.svg] [options]
Draws the int model as SVG (HBDK's visualize_model); default OUT is model.svg beside the model.
${MODEL_HELP}`;

/** `hqat visualize`. */
export const visualizeCommand: Command = {
  summary: "draw an int model as SVG",
  usage: VISUALIZE_USAGE,
  async run(args) {
    const a = parse(args, { string: [...MODEL_OPTIONS, "save-path"] }, VISUALIZE_USAGE);
    if (helped(a, VISUALIZE_USAGE)) return 0;
    const m = await modelArgs(a, VISUALIZE_USAGE);
    const savePath = (a["save-path"] as string | undefined) ?? `${dirOf(m.path)}/model.svg`;
    await checkFiles([savePath], [m.path, a.input as string | undefined]);
    const v = await failures(() => visualizeModel(m.model, [m.example], { savePath }));
    console.error(`Wrote ${savePath} (${v.layout.boxes.length} nodes, ${v.layout.crossings} edge crossings)`);
    return 0;
  },
};

const RUN_HBM_USAGE = `Usage: hqat run-hbm --hbm MODEL.hbm --input X.npy --output Y.npy [--raw] [--device D]
Runs a compiled .hbm on X ([N,C,H,W] float32, any N) and writes the dequantized output, or with --raw the
integer output before dequantization. The CPU and WebGPU give the same integers.
${DEVICE_HELP}`;

const STORED: Record<string, StoredTensor["dtype"]> = {
  qint8: "I8",
  qint16: "I16",
  qint32: "I32",
  float32: "F32",
};

/** `hqat run-hbm`. */
export const runHbmCommand: Command = {
  summary: "run a compiled .hbm on a .npy batch",
  usage: RUN_HBM_USAGE,
  async run(args) {
    const a = parse(args, { string: ["hbm", "input", "output", "device"], boolean: ["raw"] }, RUN_HBM_USAGE);
    if (helped(a, RUN_HBM_USAGE)) return 0;
    deviceChoice(a);
    const hbm = required(a, "hbm", RUN_HBM_USAGE);
    const input = required(a, "input", RUN_HBM_USAGE), output = required(a, "output", RUN_HBM_USAGE);
    await checkFiles([output], [hbm, input]);
    const program: Program = await failures(() => readHbm(hbm));
    const x = await failures(() => loadNpy(input, { dtype: "float32" }));
    const r: IntRunResult = await failures(() =>
      onSelectedDevice(
        a,
        console.error,
        (device) => runIntModelGpu(program, x.data as Float32Array, x.shape, { device }),
        () => runIntModel(program, x.data as Float32Array, x.shape),
      )
    );
    const y = a.raw
      ? { dtype: r.raw.dtype, shape: r.raw.shape, data: r.raw.data }
      : { dtype: "float32" as const, shape: r.shape, data: r.output };
    await failures(() => writeNpy(output, { dtype: STORED[y.dtype], shape: [...y.shape], data: y.data }));
    console.error(`Wrote ${a.raw ? `${y.dtype} ` : ""}output [${y.shape.join(",")}] to ${output}`);
    return 0;
  },
};

/**
 * The deployment commands by name.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { deployCommands } from "./deploy_commands.ts";
 * assert(Object.keys(deployCommands).join() === "check,compile,perf,visualize,run-hbm");
 * ```
 */
export const deployCommands: Record<string, Command> = {
  check: checkCommand,
  compile: compileCommand,
  perf: perfCommand,
  visualize: visualizeCommand,
  "run-hbm": runHbmCommand,
};

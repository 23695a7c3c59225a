/**
 * `hqat ptq`: post-training quantization without labels — a float model (an imported ONNX network or a
 * built architecture) calibrated on a `.npy` batch of calibration-like inputs and converted to the
 * fixed-point model that `check`, `compile`, `perf`, `visualize`, `predict-int` and `run-hbm` take.
 * @module
 */
import {
  outputSimilarity,
  ptq,
  ptqMix,
  ptqMixOnDevice,
  ptqOnDevice,
  type PtqResult,
  type QConfigDict,
  saveIntModel,
  splitBatches,
} from "@hqat/fx";
import { formatInt16Steps, searchInt16 } from "@hqat/hbdk";
import { March } from "@hqat/march-bayes";
import { atomicWriteFile, forward, initState, loadNpy, loadState, type Module, saveState } from "@hqat/nn";
import { OnnxModel } from "@hqat/onnx";
import {
  CALIB_METHODS,
  type CalibMethod,
  calibQConfigFor,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig,
  isCalibMethod,
  type QConfig,
  QCONFIG_PRESETS,
} from "@hqat/qtensor";
import { randomKey, type Tensor } from "@hqat/tensor";
import { join } from "node:path";
import { type Command, deviceChoice, deviceOption, intOption, parse, required } from "./commands.ts";
import { chooseModel, CliError, outputLayer } from "./models.ts";
import { claimOut } from "./outputs.ts";

const PTQ_USAGE =
  `Usage: hqat ptq (--onnx M.onnx [--weights W] | --arch mobilenetv2|resnet18 [--num-classes N] --weights W)
                --calib-data C.npy --out DIR [--qconfig NAME] [--calib-method M] [--input-scale S] [--batch-size 32]
                [--calib-batches N] [--equalize] [--adaround ITERS] [--bias-correct N]
                [--int16-auto --min-cosine C [--max-latency-us L | --min-fps F]] [--eval-data X.npy] [--summary S.json]
                [--device auto|cpu|webgpu]
Post-training quantization without labels: inserts the input QuantStub (its scale fixed with
--input-scale, e.g. 1/128 for pyramid input, else calibrated like every activation), runs the
calibration observers over the batches of C.npy ([N,C,H,W] float32), converts, and writes
DIR/calib-checkpoint.safetensors, DIR/int_model (for check, compile, perf, visualize, predict-int
and run-hbm) and DIR/ptq.json (what was done, for analyze). A classifier's last Linear layer keeps its 32-bit output.
  --qconfig NAME        calibration qconfig preset (default default_calib_8bit_fake_quant_qconfig)
  --calib-method M      activation observer: min_max, percentile, mse, kl, or mix (per layer the one whose
                        network output is closest to float on the first batch); the dtype stays the qconfig's
  --input-scale S       fixed input scale: a number or a fraction like 1/128
  --batch-size B        inputs per calibration batch (default 32)
  --calib-batches N     calibrate on the first N batches (default all)
  --equalize            cross-layer equalization of the float weights first (pairs joined by nothing or ReLU)
  --bias-correct N      after calibration, correct each layer's bias on the first N batches so that the
                        mean quantization error of its output is zero
  --adaround ITERS      after calibration, learn each conv/linear weight's rounding (up or down) with ITERS
                        Adam steps per layer on the first batch (AdaRound)
  --int16-auto --min-cosine C [--max-latency-us L | --min-fps F]
                        promote the layers whose int16 output helps most to int16, one at a time, until the
                        fixed-point output's cosine against float reaches C (on --eval-data, else the first
                        batch), keeping no step whose compiled program (batch 1, O1) the BAYES performance
                        model puts over the budget; prints the table it explored
  --eval-data X.npy     held-back inputs: prints cosine and SQNR of the fixed-point output against float
  --summary S.json      writes what was done and measured as JSON
  --device D            where calibration runs: auto (WebGPU on a hardware adapter, else the CPU), cpu or
                        webgpu; every observer (percentile, MSE and KL too) computes its batch statistics on
                        the device and keeps the state the CPU's observer computes from the same activations;
                        the other passes run on the CPU`;

/**
 * Parses an input scale: a positive number or a fraction `a/b`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { parseScale } from "@hqat/cli";
 * assert(parseScale("1/128") === 0.0078125 && parseScale("0.5") === 0.5);
 * ```
 */
export function parseScale(text: string): number {
  const parts = text.split("/");
  const v = parts.length === 2
    ? Number(parts[0]) / Number(parts[1])
    : parts.length === 1
    ? Number(text)
    : NaN;
  if (!(v > 0 && Number.isFinite(v)) || parts.some((p) => p.trim() === "")) {
    throw new CliError(`--input-scale must be a positive number or a fraction like 1/128, got "${text}"`);
  }
  return v;
}

/**
 * The calibration qconfig of `ptq`: `global` everywhere, the 32-bit-output preset on the layer that
 * computes a classifier's logits (see {@linkcode outputLayer}).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildModel, ptqQConfig } from "@hqat/cli";
 * import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
 * assert(ptqQConfig(buildModel("mobilenetv2"), q8).moduleName?.classifier !== undefined);
 * ```
 */
export function ptqQConfig(model: Module, global: QConfig): QConfigDict {
  const out = outputLayer(model);
  return {
    "": global,
    ...(out && { moduleName: { [out]: default_calib_8bit_weight_32bit_out_fake_quant_qconfig } }),
  };
}

function qconfigOption(a: Record<string, unknown>): QConfig {
  const name = (a.qconfig as string | undefined) ?? "default_calib_8bit_fake_quant_qconfig";
  const q = QCONFIG_PRESETS[name];
  if (!q || q.activation === null) {
    const names = Object.values(QCONFIG_PRESETS).filter((p) => p.activation).map((p) => p.name);
    throw new CliError(`--qconfig must be one of ${names.join(", ")}, got "${name}"`);
  }
  return q;
}

function calibMethodOption(a: Record<string, unknown>): CalibMethod | "mix" | undefined {
  const v = a["calib-method"];
  if (v === undefined) return undefined;
  if (v === "mix" || isCalibMethod(String(v))) return v as CalibMethod | "mix";
  throw new CliError(`--calib-method must be one of ${[...CALIB_METHODS, "mix"].join(", ")}, got "${v}"`);
}

async function loadBatch(path: string, what: string): Promise<Tensor> {
  let x;
  try {
    x = await loadNpy(path, { dtype: "float32" });
  } catch (e) {
    throw new CliError((e as Error).message, 1);
  }
  if (x.rank !== 4 || x.shape[0] === 0) {
    throw new CliError(
      `"${path}": ${what} must be a non-empty [N,C,H,W] batch, got [${x.shape.join(",")}]`,
      1,
    );
  }
  return x;
}

/** `hqat ptq`. */
export const ptqCommand: Command = {
  summary: "post-training quantization on unlabeled inputs (writes calib-checkpoint and int_model)",
  usage: PTQ_USAGE,
  async run(args) {
    const a = parse(args, {
      string: [
        "onnx",
        "arch",
        "num-classes",
        "weights",
        "calib-data",
        "out",
        "qconfig",
        "calib-method",
        "input-scale",
        "batch-size",
        "calib-batches",
        "eval-data",
        "summary",
        "bias-correct",
        "adaround",
        "min-cosine",
        "max-latency-us",
        "min-fps",
        "device",
      ],
      boolean: ["equalize", "int16-auto"],
    }, PTQ_USAGE);
    if (a.help) {
      console.log(PTQ_USAGE);
      return 0;
    }
    if ((a.onnx === undefined) === (a.arch === undefined)) {
      throw new CliError(`Give --onnx or --arch (one of them)\n${PTQ_USAGE}`);
    }
    const calibPath = required(a, "calib-data", PTQ_USAGE), out = required(a, "out", PTQ_USAGE);
    await claimOut(out, "ptq", {
      files: [a.summary as string | undefined],
      inputs: [calibPath, a["eval-data"], a.onnx, a.weights].map((v) => v as string | undefined),
    });
    const method = calibMethodOption(a);
    deviceChoice(a);
    const preset = qconfigOption(a);
    const dtype = preset.activation!.dtype;
    const global = method && method !== "mix" ? calibQConfigFor(method, { dtype }) : preset;
    const inputScale = a["input-scale"] === undefined ? null : parseScale(String(a["input-scale"]));
    const batchSize = intOption(a, "batch-size", 32);
    const calibBatches = a["calib-batches"] === undefined ? undefined : intOption(a, "calib-batches", 1);
    if (a.arch !== undefined && a.weights === undefined) {
      throw new CliError(`--arch needs --weights (a trained float checkpoint)\n${PTQ_USAGE}`);
    }
    const calib = await loadBatch(calibPath, "the calibration data");
    const evalData = a["eval-data"] === undefined
      ? undefined
      : await loadBatch(String(a["eval-data"]), "the evaluation data");
    let model: Module;
    try {
      model = await chooseModel({
        arch: a.arch as string | undefined,
        onnx: a.onnx as string | undefined,
        numClasses: intOption(a, "num-classes", 10),
        quantStubScale: inputScale,
        inputShape: calib.shape,
      });
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError((e as Error).message, 1);
    }
    const floatState = a.weights !== undefined
      ? await loadState(String(a.weights), model)
      : model instanceof OnnxModel
      ? model.initialState()
      : initState(model, randomKey(0));
    const { gpu } = await deviceOption(a, (line) => console.error(line));
    let r: PtqResult, choice: Record<string, CalibMethod> | undefined;
    try {
      const common = {
        march: March.BAYES,
        batchSize,
        batches: calibBatches,
        warn: (l: string) => console.error(l),
        equalize: a.equalize === true,
        biasCorrect: a["bias-correct"] === undefined ? 0 : intOption(a, "bias-correct", 1),
        adaround: a.adaround === undefined ? 0 : intOption(a, "adaround", 1),
      };
      if (method === "mix") {
        const mixOptions = {
          ...common,
          qconfig: (m: CalibMethod) => ptqQConfig(model, calibQConfigFor(m, { dtype })),
        };
        const mix = gpu
          ? await ptqMixOnDevice(model, floatState, calib, { ...mixOptions, device: gpu })
          : ptqMix(model, floatState, calib, mixOptions);
        r = mix;
        choice = mix.choice;
        const counts = CALIB_METHODS.map((m) => [m, Object.values(choice!).filter((c) => c === m).length]);
        console.log(
          `mix: ${counts.map(([m, n]) => `${m} on ${n}`).join(", ")} of ${Object.keys(choice).length} ` +
            `activation quantizers (output MSE ${mix.error.toExponential(3)}; each alone: ${
              Object.entries(mix.methodError).map(([m, e]) => `${m} ${e!.toExponential(3)}`).join(", ")
            })`,
        );
      } else {
        const options = { ...common, qconfig: ptqQConfig(model, global) };
        r = gpu
          ? await ptqOnDevice(model, floatState, calib, { ...options, device: gpu })
          : ptq(model, floatState, calib, options);
      }
    } catch (e) {
      throw new CliError((e as Error).message, 1);
    } finally {
      gpu?.destroy();
    }
    if (r.equalized) console.log(`Equalized ${r.equalized} pairs of layers`);
    if (r.adarounded) console.log(`Learned the rounding of ${r.adarounded} layers (AdaRound)`);
    if (r.biasCorrected) console.log(`Corrected the biases of ${r.biasCorrected} layers`);
    const inputNode = r.prepared.graph.nodes.find((n) => n.kind.op === "quant_stub")!;
    const scale = r.prepared.scaleOf(r.state, `${inputNode.name}.activation_post_process`)[0];
    console.log(
      `Calibrated on ${r.images} inputs (${r.batches} batches of up to ${batchSize}) with ${
        method === "mix" ? "the per-layer best of " + CALIB_METHODS.join(", ") : global.name
      }; ` +
        `input scale ${scale} (${inputScale === null ? "calibrated" : "fixed"})`,
    );
    let int16: string[] | undefined, int16Steps;
    if (a["int16-auto"]) {
      const num = (name: string) => {
        const v = a[name];
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) {
          throw new CliError(`--${name} must be a positive number, got "${v}"`);
        }
        return n;
      };
      const minCosine = num("min-cosine");
      if (minCosine === undefined) throw new CliError(`--int16-auto needs --min-cosine\n${PTQ_USAGE}`);
      if (a["max-latency-us"] !== undefined && a["min-fps"] !== undefined) {
        throw new CliError("Give --max-latency-us or --min-fps, not both");
      }
      const batches = evalData
        ? [...splitBatches(evalData, batchSize)]
        : [...splitBatches(calib, batchSize, 1)];
      const s = searchInt16(r.prepared, r.state, {
        minCosine,
        batches,
        maxLatencyUs: num("max-latency-us"),
        minFps: num("min-fps"),
      });
      console.log(formatInt16Steps(s.steps));
      const first = s.steps[0], last = s.steps.filter((t) => t.accepted).at(-1)!;
      console.log(
        `int16: ${s.int16.length ? s.int16.join(", ") : "none"}; cosine ${first.cosine.toFixed(6)} → ${
          last.cosine.toFixed(6)
        } (${s.reached ? "target reached" : "target not reached within the budget"}); FPS ${
          first.fps.toFixed(1)
        } → ${last.fps.toFixed(1)}, latency ${first.latencyUs.toFixed(1)} → ${last.latencyUs.toFixed(1)} µs`,
      );
      r = { ...r, intModel: s.intModel };
      int16 = s.int16;
      int16Steps = s.steps;
    }
    await Deno.mkdir(out, { recursive: true });
    const checkpoint = join(out, "calib-checkpoint.safetensors"), intPath = join(out, "int_model");
    await saveState(checkpoint, r.prepared, r.state);
    await saveIntModel(intPath, r.intModel);
    console.log(`Wrote ${checkpoint} and ${intPath} (${r.intModel.instructions.length} instructions)`);
    let similarity;
    if (evalData) {
      const batches = [...splitBatches(evalData, batchSize)];
      similarity = outputSimilarity(
        r.intModel,
        batches.map((x) => forward(model, floatState, x).y),
        batches,
      );
      console.log(
        `Fixed-point vs float on ${evalData.shape[0]} held-back inputs: cosine ${
          similarity.cosine.toFixed(6)
        }, ` +
          `SQNR ${similarity.sqnr.toFixed(2)} dB`,
      );
    }
    const summary = {
      qconfig: global.name,
      dtype,
      calibMethod: method ?? null,
      ...(choice && { choice }),
      inputScale: scale,
      inputScaleFixed: inputScale !== null,
      equalized: r.equalized,
      biasCorrected: r.biasCorrected,
      adarounded: r.adarounded,
      ...(int16 && { int16, int16Steps }),
      batches: r.batches,
      images: r.images,
      checkpoint,
      intModel: intPath,
      ...(similarity && { similarity }),
    };
    const json = new TextEncoder().encode(JSON.stringify(summary, null, 1) + "\n");
    // What `hqat analyze` needs to rebuild the prepared model: always beside the checkpoint.
    await atomicWriteFile(join(out, "ptq.json"), json);
    if (a.summary !== undefined) await atomicWriteFile(String(a.summary), json);
    return 0;
  },
};

/**
 * `hqat analyze`: the quantization analysis of a `hqat ptq` result on a set of inputs — per-layer
 * similarity, sensitivity, worst inputs — as `analysis.json` and `analysis.html`; with `--shard K/N` one
 * share of the work, and with `--merge` the report from the shares.
 * @module
 */
import {
  analysisFromJson,
  analysisHtml,
  type AnalysisShard,
  analysisShard,
  analysisToJson,
  loadIntModel,
  mergeAnalysisShards,
  type NodeQuantSpec,
  prepareQatFx,
  QatModel,
  splitBatches,
} from "@hqat/fx";
import { March } from "@hqat/march-bayes";
import { atomicWriteFile, loadNpy, loadState } from "@hqat/nn";
import { type CalibMethod, calibQConfigFor, isCalibMethod } from "@hqat/qtensor";
import { parseArgs } from "@std/cli";
import { join } from "node:path";
import { type Command, intOption } from "./commands.ts";
import { chooseModel, CliError } from "./models.ts";
import { checkFiles, claimOut } from "./outputs.ts";
import { ptqQConfig } from "./ptq_command.ts";

const ANALYZE_USAGE =
  `Usage: hqat analyze (--onnx M.onnx | --arch mobilenetv2|resnet18 [--num-classes N]) --ptq-dir DIR --data X.npy
                    [--out ADIR] [--batch-size 32] [--shard K/N]
       hqat analyze --merge ADIR [--merge ADIR2 …] --out ADIR
Analyzes a "hqat ptq" result (DIR/ptq.json, calib-checkpoint.safetensors, int_model) on the inputs of X.npy
([N,C,H,W] float32): per-layer cosine, SQNR and LSB distance of fake-quant and integer feature maps against
float; the output with only one layer quantized and with one layer at int16 (sensitivity); the inputs whose
integer output strays furthest from float. Writes ADIR/analysis.json and ADIR/analysis.html (default ADIR:
DIR/analysis). With --shard K/N it runs only jobs K, K+N, … and writes ADIR/shard-K-of-N.json; --merge reads
the shard files of the folders given and writes the same report one run gives (see docs/ptq.md for a
Kubernetes Indexed Job).`;

/** Parses `--shard K/N`. */
function shardOption(v: unknown): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(String(v));
  const k = m ? Number(m[1]) : NaN, n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || k >= n) throw new CliError(`--shard must be K/N with 0 ≤ K < N, got "${v}"`);
  return [k, n];
}

async function writeReport(out: string, shards: AnalysisShard[]): Promise<void> {
  let report;
  try {
    report = mergeAnalysisShards(shards);
  } catch (e) {
    throw new CliError((e as Error).message, 1);
  }
  await Deno.mkdir(out, { recursive: true });
  await atomicWriteFile(join(out, "analysis.json"), new TextEncoder().encode(analysisToJson(report)));
  await atomicWriteFile(join(out, "analysis.html"), new TextEncoder().encode(analysisHtml(report)));
  const o = report.output,
    top = report.sensitivity.slice(0, 3).map((s) => `${s.node} ${s.only.cosine.toFixed(6)}`);
  console.log(`Integer output vs float: cosine ${o.cosine.toFixed(6)}, SQNR ${o.sqnr.toFixed(2)} dB`);
  console.log(`Most sensitive (output cosine with only that layer quantized): ${top.join(", ")}`);
  console.log(`Wrote ${join(out, "analysis.json")} and ${join(out, "analysis.html")}`);
}

async function readShards(dirs: string[]): Promise<AnalysisShard[]> {
  const shards: AnalysisShard[] = [];
  for (const dir of dirs) {
    let found = 0;
    try {
      for await (const e of Deno.readDir(dir)) {
        if (!e.isFile || !/^shard-\d+-of-\d+\.json$/.test(e.name)) continue;
        shards.push(analysisFromJson<AnalysisShard>(await Deno.readTextFile(join(dir, e.name))));
        found++;
      }
    } catch (e) {
      throw new CliError(`"${dir}": ${(e as Error).message}`, 1);
    }
    if (!found) throw new CliError(`"${dir}" holds no shard-K-of-N.json file`, 1);
  }
  return shards.sort((a, b) => a.shard[0] - b.shard[0]);
}

/** `hqat analyze`. */
export const analyzeCommand: Command = {
  summary: "per-layer similarity, sensitivity and worst inputs of a PTQ result (JSON + HTML; shardable)",
  usage: ANALYZE_USAGE,
  async run(args) {
    const known = ["onnx", "arch", "num-classes", "ptq-dir", "data", "out", "batch-size", "shard", "merge"];
    const a = parseArgs(args, {
      string: known,
      collect: ["merge"],
      boolean: ["help"],
      alias: { h: "help" },
      unknown: (arg: string) => {
        if (arg.startsWith("-") && !known.includes(arg.replace(/^-+/, "").split("=")[0])) {
          throw new CliError(`Unknown option ${arg}\n${ANALYZE_USAGE}`);
        }
        return true;
      },
    });
    if (a._.length) throw new CliError(`Unexpected argument "${a._[0]}"\n${ANALYZE_USAGE}`);
    if (a.help) {
      console.log(ANALYZE_USAGE);
      return 0;
    }
    const merge = (a.merge ?? []) as string[];
    if (merge.length) {
      if (!a.out) throw new CliError(`--merge needs --out\n${ANALYZE_USAGE}`);
      await claimOut(a.out, "analyze", {
        files: [join(a.out, "analysis.json"), join(a.out, "analysis.html")],
      });
      await writeReport(a.out, await readShards(merge));
      return 0;
    }
    if ((a.onnx === undefined) === (a.arch === undefined)) {
      throw new CliError(`Give --onnx or --arch (one of them)\n${ANALYZE_USAGE}`);
    }
    if (!a["ptq-dir"] || !a.data) throw new CliError(`Missing --ptq-dir or --data\n${ANALYZE_USAGE}`);
    const dir = a["ptq-dir"], out = a.out ?? join(dir, "analysis");
    const shard = shardOption(a.shard);
    const batchSize = intOption(a, "batch-size", 32);
    const inputs = [a.data, join(dir, "int_model"), join(dir, "calib-checkpoint.safetensors")];
    // Shards may share one folder (each writes its own file), so only a whole run locks it.
    if (shard) await checkFiles([join(out, `shard-${shard[0]}-of-${shard[1]}.json`)], inputs);
    else {await claimOut(out, "analyze", {
        files: [join(out, "analysis.json"), join(out, "analysis.html")],
        inputs,
      });}
    let info: {
      dtype?: string;
      calibMethod?: string | null;
      inputScale: number;
      inputScaleFixed: boolean;
      int16?: string[];
    };
    try {
      info = JSON.parse(await Deno.readTextFile(join(dir, "ptq.json")));
    } catch (e) {
      throw new CliError(`"${join(dir, "ptq.json")}": ${(e as Error).message} (run "hqat ptq" first)`, 1);
    }
    const x = await loadNpy(a.data, { dtype: "float32" });
    if (x.rank !== 4 || x.shape[0] === 0) {
      throw new CliError(`"${a.data}": expected a non-empty [N,C,H,W] batch, got [${x.shape.join(",")}]`, 1);
    }
    const model = await chooseModel({
      arch: a.arch,
      onnx: a.onnx,
      numClasses: intOption(a, "num-classes", 10),
      quantStubScale: info.inputScaleFixed ? info.inputScale : null,
      inputShape: x.shape,
    });
    const method: CalibMethod = info.calibMethod && isCalibMethod(info.calibMethod)
      ? info.calibMethod
      : "min_max";
    const dtype = info.dtype === "qint16" ? "qint16" : "qint8";
    const base = prepareQatFx(model, ptqQConfig(model, calibQConfigFor(method, { dtype })), {
      march: March.BAYES,
      exampleInput: [...splitBatches(x, 1, 1)][0],
      warn: () => {},
    });
    // Layers `ptq --int16-auto` promoted keep their int16 output here too.
    const specs = new Map<string, NodeQuantSpec>(base.specs);
    for (const n of info.int16 ?? []) {
      const spec = specs.get(n);
      if (spec?.output) specs.set(n, { ...spec, output: { ...spec.output, dtype: "qint16" } });
    }
    const prepared = new QatModel(base.float, base.graph, specs, base.march);
    const state = await loadState(join(dir, "calib-checkpoint.safetensors"), base);
    const intModel = await loadIntModel(join(dir, "int_model"));
    const run = { prepared, state, intModel, batches: [...splitBatches(x, batchSize)] };
    const [k, n] = shard ?? [0, 1];
    const s = analysisShard(run, k, n);
    if (!shard) {
      await writeReport(out, [analysisFromJson<AnalysisShard>(analysisToJson(s))]);
      return 0;
    }
    await Deno.mkdir(out, { recursive: true });
    const path = join(out, `shard-${k}-of-${n}.json`);
    await atomicWriteFile(path, new TextEncoder().encode(analysisToJson(s)));
    console.log(`Wrote ${path} (${s.results.length} of ${s.jobs.length} jobs)`);
    return 0;
  },
};

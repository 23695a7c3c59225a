/**
 * hqat beside PyTorch in one run: the MobileNetV2-CIFAR float and QAT training steps, float evaluation and
 * fixed-point inference (`bench/compare_hqat.ts`), and, when Debian's `python3-torch` is installed, the same
 * steps in PyTorch (`bench/torch_steps.py` under `/usr/bin/python3`, 2 threads), alternating the two sides
 * `--repeat` times on the same machine; then the peak memory (max RSS) of batch-256 training steps on both
 * sides, each in a fresh process. Prints the medians and their ratios and writes them as JSON.
 *
 *   deno task bench:compare [--repeat 3] [--only float_train_64,...] [--json out/bench_compare.json]
 *                           [--python /usr/bin/python3] [--quick] [--no-rss]
 *
 * The product and the tests never need Python: without torch the table has hqat's side only.
 *
 * With `--cpu` each figure is images per CPU second instead of per wall-clock second: the CPU time of every
 * thread of the measuring process over each step (hqat: `process.cpuUsage()`; PyTorch:
 * `time.process_time()`, with `OMP_WAIT_POLICY=PASSIVE` so that its idle OpenMP threads sleep rather than
 * spin and are not counted as working; hqat's kernel threads do not spin either, `setKernelSpin(0)`). On a machine shared with other work the wall clock of a 2-thread
 * step measures the other work as much as the step; CPU time does not, though cache and memory contention
 * still weigh on both sides.
 * @module
 */
import { parseArgs } from "@std/cli";
import { clock, type Figure, FIGURES, measureHqat } from "./compare_hqat.ts";
import { setKernelSpin } from "../packages/tensor/src/cpu/thread_pool.ts";

const args = parseArgs(Deno.args, {
  string: ["repeat", "only", "json", "python", "threads"],
  boolean: ["quick", "cpu"],
});
clock.cpu = args.cpu;
// CPU time counts a waiting kernel thread's spin as work, as PyTorch's would be without OMP_WAIT_POLICY=PASSIVE.
if (args.cpu) setKernelSpin(0);
const withRss = !Deno.args.includes("--no-rss");
const repeat = Number(args.repeat ?? 3);
const python = args.python ?? "/usr/bin/python3";
const threads = args.threads ?? "2";
const only = (args.only ? args.only.split(",") : [...FIGURES]) as Figure[];
const jsonPath = args.json ?? "out/bench_compare.json";
const iters = args.quick ? () => 1 : (n: number) => (n >= 256 ? 3 : 5);
const here = new URL(".", import.meta.url).pathname;

/** PyTorch's figure for each of ours (both int figures are measured against PyTorch's FX int8 model). */
const TORCH_OF: Record<Figure, string> = {
  float_train_64: "float_train_64",
  float_train_256: "float_train_256",
  qat_train_64: "qat_train_64",
  qat_train_256: "qat_train_256",
  float_eval_256: "float_eval_256",
  int8_eval_256: "int8_eval_256",
  hbm_eval_256: "int8_eval_256",
};

const LABEL: Record<Figure, string> = {
  float_train_64: "float train step, batch 64",
  float_train_256: "float train step, batch 256",
  qat_train_64: "QAT train step, batch 64",
  qat_train_256: "QAT train step, batch 256",
  float_eval_256: "float eval, batch 256",
  int8_eval_256: "fixed point, batch 256 (predict-int)",
  hbm_eval_256: "fixed point, batch 256 (run-hbm, O1)",
};

async function torchAvailable(): Promise<boolean> {
  try {
    const r = await new Deno.Command(python, { args: ["-c", "import torch"], stdout: "null", stderr: "null" })
      .output();
    return r.success;
  } catch {
    return false;
  }
}

async function runJson(
  cmd: string,
  cmdArgs: string[],
  env?: Record<string, string>,
): Promise<Record<string, unknown>> {
  const r = await new Deno.Command(cmd, { args: cmdArgs, stdout: "piped", stderr: "inherit", env }).output();
  const text = new TextDecoder().decode(r.stdout).trim().split("\n").at(-1) ?? "";
  if (!r.success) throw new Error(`${cmd} ${cmdArgs.join(" ")} failed (exit ${r.code})`);
  return JSON.parse(text);
}

function median(v: number[]): number {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const withTorch = await torchAvailable();
const torchFigures = [...new Set(only.map((f) => TORCH_OF[f]))];
const hqatRuns: Partial<Record<Figure, number>>[] = [];
const torchRuns: Record<string, number>[] = [];
let torchInfo: Record<string, unknown> = {};
/** The 1-minute load average before each round: other work on the cores skews both sides, unevenly. */
const loads: number[] = [];
const loadAverage = () => Deno.loadavg()[0];
for (let r = 0; r < repeat; r++) {
  loads.push(loadAverage());
  console.error(`round ${r + 1} of ${repeat} (load average ${loads[r]})`);
  if (withTorch) {
    const t = await runJson(python, [
      `${here}torch_steps.py`,
      "--threads",
      threads,
      "--only",
      torchFigures.join(","),
      ...(args.quick ? ["--quick"] : []),
      ...(args.cpu ? ["--cpu"] : []),
    ], args.cpu ? { OMP_WAIT_POLICY: "PASSIVE" } : undefined);
    torchRuns.push(t.ips as Record<string, number>);
    torchInfo = { torch: t.torch, threads: t.threads, engine: t.engine };
  }
  hqatRuns.push(measureHqat(only, iters));
}

const rows = only.map((f) => {
  const hqat = median(hqatRuns.map((h) => h[f] ?? NaN));
  const torch = withTorch ? median(torchRuns.map((t) => t[TORCH_OF[f]] ?? NaN)) : NaN;
  return { figure: f, label: LABEL[f], hqat, torch, ratio: hqat / torch };
});

/** The max RSS (KiB) a side's fresh process reports, or undefined (with the reason) when it fails. */
async function maxRss(cmd: string, cmdArgs: string[]): Promise<number | undefined> {
  try {
    return (await runJson(cmd, cmdArgs)).max_rss_kib as number;
  } catch (e) {
    console.error(`max RSS not measured: ${(e as Error).message}`);
    return undefined;
  }
}

const rss: { hqat?: number; torch?: number } = {};
if (withRss) {
  rss.hqat = await maxRss(Deno.execPath(), ["run", "-A", `${here}compare_hqat.ts`, "256"]);
  if (withTorch) {
    rss.torch = await maxRss(python, [`${here}torch_steps.py`, "--threads", threads, "--rss-train", "256"]);
  }
}

const busy = loads.some((l) => l > 0.5 * navigator.hardwareConcurrency);
if (busy) {
  console.log(
    `\nwarning: other work was running (load averages ${
      loads.join(", ")
    }); PyTorch's 2-thread steps slow down ` +
      "far more than hqat's under contention, so rerun on a quiet machine before reading the ratios",
  );
}
const cpu = /model name\s*:\s*(.*)/.exec(await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))?.[1];
console.log(
  `\nMobileNetV2 (10 classes, 3×32×32), images per ${
    args.cpu ? "CPU" : "wall-clock"
  } second, medians of ${repeat} alternating rounds` +
    (withTorch
      ? ` (PyTorch ${torchInfo.torch}, ${torchInfo.threads} threads, quantized engine ${torchInfo.engine})`
      : " (PyTorch not found: hqat only)") +
    `, ${navigator.hardwareConcurrency} cores${cpu ? `, ${cpu}` : ""}`,
);
console.log(`  ${"figure".padEnd(38)} ${"PyTorch".padStart(9)} ${"hqat".padStart(9)} ${"ratio".padStart(7)}`);
for (const r of rows) {
  const t = Number.isFinite(r.torch) ? r.torch.toFixed(1) : "—";
  const ratio = Number.isFinite(r.ratio) ? `${r.ratio.toFixed(3)}×` : "—";
  console.log(
    `  ${r.label.padEnd(38)} ${t.padStart(9)} ${r.hqat.toFixed(1).padStart(9)} ${ratio.padStart(7)}`,
  );
}
if (rss.hqat || rss.torch) {
  const mib = (k?: number) => (k ? `${(k / 1024).toFixed(0)} MiB` : "—");
  console.log(
    `  ${"max RSS, batch-256 train step".padEnd(38)} ${mib(rss.torch).padStart(9)} ${
      mib(rss.hqat).padStart(9)
    }`,
  );
}

const json = {
  date: new Date().toISOString(),
  clock: args.cpu ? "cpu" : "wall",
  repeat,
  loadAverages: loads,
  cores: navigator.hardwareConcurrency,
  cpu,
  torch: withTorch ? torchInfo : null,
  figures: rows,
  rounds: { hqat: hqatRuns, torch: torchRuns },
  maxRssKib: rss,
};
await Deno.mkdir(jsonPath.split("/").slice(0, -1).join("/") || ".", { recursive: true });
await Deno.writeTextFile(jsonPath, JSON.stringify(json, null, 2) + "\n");
console.log(`\nwrote ${jsonPath}`);

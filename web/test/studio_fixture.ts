/**
 * What the studio's browser tests share: the page built once per process, a served page in a fresh
 * headless Chromium at 1280×720 that fails on any console error or failed request, the quick start's
 * files (int model, `.hbm`, a fixed batch, the float checkpoint), and small waits and readers of the
 * page's state.
 * @module
 */
import { assertEquals } from "@std/assert";
import { encodeNpy, encodeSafetensors, parseNpy } from "@hqat/io";
import { convertFx, prepareQatFx, qatStateFromFloat, setFakeQuantize } from "@hqat/fx";
import { compileModel } from "@hqat/hbdk";
import { March } from "@hqat/march-bayes";
import {
  BatchNorm2d,
  forward,
  initState,
  mobilenetV2,
  type Module,
  namedModules,
  type StateDict,
  stateEntries,
} from "@hqat/nn";
import { saveIntModel } from "@hqat/program";
import {
  default_calib_8bit_fake_quant_qconfig as c8,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig as c32,
  FakeQuantState,
} from "@hqat/qtensor";
import { fromArray, randomKey, randomUniform, type Tensor } from "@hqat/tensor";
import { hqat } from "../../packages/cli/testdata/run_hqat.ts";
import { buildWeb, type BuiltFile } from "../build.ts";
import { serveDir } from "../serve.ts";
import { Browser, findChromium } from "./cdp.ts";

/** The Chromium the tests drive, or `undefined` (then they are ignored). */
export const CHROMIUM: string | undefined = findChromium();
/** Where screenshots go. */
export const ARTIFACTS: string = new URL("../../out/studio_test/", import.meta.url).pathname;
/** WebGPU is behind a flag on Linux; SwiftShader gives a software adapter where the GPU process has none. */
const CHROMIUM_ARGS = ["--enable-unsafe-webgpu", "--window-size=1280,720"];

let built: Promise<{ dir: string; files: BuiltFile[] }> | undefined;

/** Builds the bundle and the page into a temporary folder, once per process. */
export function buildOnce(): Promise<{ dir: string; files: BuiltFile[] }> {
  built ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "hqat-web-" });
    const files = await buildWeb({ outDir: dir, log: () => {} });
    return { dir, files };
  })();
  return built;
}

/**
 * Serves `dir`, starts Chromium with a 1280×720 viewport, runs `fn`, waits for the page's requests to
 * settle and fails if the page logged any error or any request failed.
 */
export async function withPage(dir: string, fn: (b: Browser, url: string) => Promise<void>): Promise<void> {
  let url = "";
  const server = serveDir(dir, { port: 0, onListen: (u) => (url = u) });
  const browser = await Browser.launch(CHROMIUM!, CHROMIUM_ARGS);
  try {
    await browser.viewport(1280, 720);
    await fn(browser, url);
    await browser.settle();
    assertEquals(browser.errors, [], `the page logged errors:\n${browser.errors.join("\n")}`);
  } finally {
    await browser.close();
    await server.shutdown();
  }
}

/** Opens the studio and waits until it is ready; returns the backends it offers. */
export async function openStudio(b: Browser, url: string): Promise<string[]> {
  await b.goto(url);
  await b.waitFor(`document.body.dataset.ready === "true"`, 30_000);
  return (await b.eval<string>("document.body.dataset.backends")).split(",");
}

/** Waits until the page is not busy and checks it shows no error. */
export async function idle(b: Browser): Promise<void> {
  await b.waitFor(`document.body.dataset.busy === "false"`, 120_000);
  const error = await b.eval<string>(
    `document.getElementById("error").hidden ? "" : document.getElementById("error").textContent`,
  );
  assertEquals(error, "", "the page shows no error");
}

/** The integers of the page's raw output table, row after row. */
export async function pageRaw(b: Browser): Promise<number[]> {
  const text = await b.eval<string[]>(
    `[...document.querySelectorAll("#raw-table td.raw")].map((td) => td.textContent)`,
  );
  return text.flatMap((t) => t.trim().split(/\s+/).map(Number));
}

/** Runs the page's batch on each backend and returns the integers shown, by backend. */
export async function runEach(b: Browser, backends: readonly string[]): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const backend of backends) {
    await b.eval(`(() => { const s = document.getElementById("backend"); s.value = "${backend}";
      document.getElementById("run-output").replaceChildren(); document.getElementById("run").click(); })()`);
    await b.waitFor(`document.querySelector("#run-summary[data-backend='${backend}']")`, 120_000);
    await idle(b);
    out.set(backend, await pageRaw(b));
  }
  return out;
}

/** The centre of the first element `selector` matches, in CSS pixels. */
export async function centerOf(b: Browser, selector: string): Promise<{ x: number; y: number }> {
  return await b.eval<{ x: number; y: number }>(`(() => {
    const r = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  })()`);
}

/** The graph's view transform: translation and scale. */
export async function graphView(b: Browser): Promise<{ x: number; y: number; k: number }> {
  const t = await b.eval<string>(`document.querySelector("#graph g.viewport").getAttribute("transform")`);
  const [x, y, k] = (t.match(/-?[\d.]+/g) ?? []).map(Number);
  return { x, y, k };
}

/** Writes a screenshot of the page to `ARTIFACTS/name`. */
export async function screenshot(b: Browser, name: string): Promise<void> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await Deno.writeFile(`${ARTIFACTS}${name}`, await b.screenshot());
}

/** A fixed batch of `n` frames of 3×32×32 in [−1, 1), the same every run. */
export function fixedBatch(n = 4): Float32Array {
  const x = new Float32Array(n * 3 * 32 * 32);
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = ((s >>> 8) / 2 ** 24) * 2 - 1;
  }
  return x;
}

/** Runs the `hqat` CLI (`args` name an `--output` .npy) and returns the integers it wrote. */
export async function cliRaw(args: string[]): Promise<number[]> {
  const r = await hqat(...args);
  assertEquals(r.code, 0, r.stderr);
  const out = args[args.indexOf("--output") + 1];
  return Array.from(parseNpy(await Deno.readFile(out)).data as Int32Array);
}

/** The quick start's files in a temporary folder. */
export interface QuickStartFiles {
  /** The folder (remove it when done). */
  readonly dir: string;
  /** `int_model` (MobileNetV2, 10 classes, calibrated on random batches). */
  readonly intModel: string;
  /** `model.hbm`, compiled from it for a pyramid input. */
  readonly hbm: string;
  /** `x.npy`: `fixedBatch()` as [4, 3, 32, 32] float32. */
  readonly batch: string;
  /** `calib.safetensors`: the calibrated MobileNetV2 the int model was converted from. */
  readonly calibCheckpoint: string;
}

/**
 * `state` with each batch norm's running statistics set to those of one training-mode forward on
 * `x` (the moving average's update solved for the batch's statistics): a randomly initialized network
 * then keeps its activations near unit size to the logits instead of fading towards zero.
 */
function bnStatsFrom(model: Module, state: StateDict, x: Tensor): StateDict {
  const { updates } = forward(model, state, x, { training: true, key: randomKey(1) });
  const next = { ...state };
  for (const [name, m] of namedModules(model)) {
    if (!(m instanceof BatchNorm2d)) continue;
    for (const stat of ["running_mean", "running_var"]) {
      const key = `${name}.${stat}`, old = state[key].data, now = updates.get(key)!.data;
      const batch = Float32Array.from(now, (v, c) => (v - (1 - m.momentum) * old[c]) / m.momentum);
      next[key] = fromArray(batch, [batch.length]);
    }
  }
  return next;
}

/**
 * Writes the quick start's files (see {@linkcode QuickStartFiles}): MobileNetV2 for 10 classes with a
 * QuantStub of scale 1/128, randomly initialized with its batch-norm statistics taken from a random
 * batch, calibrated on two random batches of 8 (the classifier keeps a 32-bit output), its calibration
 * checkpoint, and the int model converted from it.
 */
export async function quickStartFiles(): Promise<QuickStartFiles> {
  const dir = await Deno.makeTempDir({ prefix: "hqat-studio-" });
  const files = {
    dir,
    intModel: `${dir}/int_model`,
    hbm: `${dir}/model.hbm`,
    batch: `${dir}/x.npy`,
    calibCheckpoint: `${dir}/calib.safetensors`,
  };
  const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
  const calib = prepareQatFx(float, { "": c8, moduleName: { classifier: c32 } }, { march: March.BAYES });
  const init = initState(float, randomKey(0));
  const floatState = bnStatsFrom(
    float,
    init,
    randomUniform(randomKey(9), [8, 3, 32, 32], { min: -1, max: 1 }),
  );
  let state = qatStateFromFloat(calib, floatState);
  const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
  for (let i = 0; i < 2; i++) {
    state = forward(cm, state, randomUniform(randomKey(10 + i), [8, 3, 32, 32], { min: -1, max: 1 })).state;
  }
  const model = convertFx(setFakeQuantize(calib, FakeQuantState.VALIDATION), state);
  await Deno.writeFile(files.calibCheckpoint, encodeSafetensors(stateEntries(calib, state)));
  await saveIntModel(files.intModel, model);
  await compileModel(model, [{ shape: [1, 3, 32, 32] }], {
    hbm: files.hbm,
    inputSource: "pyramid",
    log: () => {},
  });
  await Deno.writeFile(files.batch, encodeNpy({ dtype: "F32", shape: [4, 3, 32, 32], data: fixedBatch() }));
  return files;
}

/**
 * The model the studio shows: an integer program opened from an `int_model` or `.hbm`, or made in the
 * page from an ONNX network (calibrated and converted); with its compiled form, performance estimate,
 * target check and layers.
 * @module
 */
import {
  checkModel,
  type CheckReport,
  compileProgram,
  convertFx,
  decodeProgram,
  default_calib_8bit_fake_quant_qconfig as calib8,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig as calib32,
  estimatePerformance,
  FakeQuantState,
  forward,
  fromArray,
  type LayerDesc,
  type LayerEstimate,
  Linear,
  loadOnnx,
  March,
  type Module,
  namedModules,
  type PerformanceEstimate,
  prepareQatFx,
  type Program,
  programLayers,
  QatModel,
  qatStateFromFloat,
  randomKey,
  randomUniform,
  setFakeQuantize,
  type StateDict,
  withBatch,
} from "../hqat_browser.ts";

/** Where the float outputs of the comparison come from. */
export interface FloatReference {
  /** The prepared model (run in CALIBRATION state it gives float outputs node by node). */
  readonly qat: QatModel;
  /** Its state. */
  readonly state: StateDict;
  /** Whether the state holds calibrated scales (then fake-quantized outputs are meaningful too). */
  readonly calibrated: boolean;
  /** What it was made from, for the page. */
  readonly source: string;
}

/** The model in the page. */
export interface StudioModel {
  /** The file it came from. */
  readonly fileName: string;
  /** What the file was. */
  readonly kind: "int_model" | "hbm" | "onnx";
  /** The program that runs (as opened; for ONNX the converted one). */
  readonly program: Program;
  /** The compiled program at batch 1 whose steps the estimate costs (the `.hbm` itself for a `.hbm`). */
  readonly compiled: Program;
  /** The performance estimate of `compiled`. */
  readonly estimate: PerformanceEstimate;
  /** The target check of `program`. */
  readonly check: CheckReport;
  /** `program`'s layers at batch 1, as the check sees them. */
  readonly layers: readonly LayerDesc[];
  /** The estimate's step that holds each layer (by layer name; merged layers share their step). */
  readonly costOf: ReadonlyMap<string, LayerEstimate>;
  /** Where the model input comes from in the estimate and the check. */
  readonly inputSource: "ddr" | "pyramid" | "resizer";
  /** The float reference, when the page has the float network. */
  float?: FloatReference;
}

function costMap(estimate: PerformanceEstimate): Map<string, LayerEstimate> {
  const m = new Map<string, LayerEstimate>();
  for (const step of estimate.layers) {
    m.set(step.name, step);
    for (const name of step.merged) if (!m.has(name)) m.set(name, step);
  }
  return m;
}

/**
 * The studio model of a program: a placed program (a `.hbm`) is costed as it is; an int model is
 * compiled at O1 for batch 1 in memory (nothing is written) and that is costed.
 *
 * @example
 * ```ts ignore
 * const m = studioModel(decodeProgram(bytes), { fileName: "int_model" });
 * ```
 */
export function studioModel(
  program: Program,
  options: { readonly fileName: string; readonly kind?: StudioModel["kind"] },
): StudioModel {
  const one = [{ shape: withBatch(program.inputShape, 1) }];
  const quiet = { log: () => {} };
  const inputSource = program.placement?.inputSource ?? "ddr";
  const compiled = program.placement
    ? program
    : compileProgram(program, one, { opt: "O1", inputSource, ...quiet }).program;
  const estimate = estimatePerformance(compiled, { inputSource });
  const check = checkModel(program, one, { inputSource, ...quiet });
  return {
    fileName: options.fileName,
    kind: options.kind ?? (program.placement ? "hbm" : "int_model"),
    program,
    compiled,
    estimate,
    check,
    layers: programLayers(program, { batch: 1 }),
    costOf: costMap(estimate),
    inputSource,
  };
}

/**
 * Opens an `int_model` or `.hbm` from its bytes.
 *
 * @example
 * ```ts ignore
 * const m = openProgram(await file.bytes(), file.name);
 * ```
 */
export function openProgram(bytes: Uint8Array, fileName: string): StudioModel {
  return studioModel(decodeProgram(bytes, { fileName }), { fileName });
}

/** The module whose output is the logits: `classifier`, else the last Linear (as the `hqat` CLI picks). */
export function outputLayer(model: Module): string | undefined {
  const modules = namedModules(model);
  if (modules.some(([n]) => n === "classifier")) return "classifier";
  return modules.filter(([, m]) => m instanceof Linear).at(-1)?.[0];
}

/**
 * A float network prepared for calibration with the quick start's qconfig (8 bits, 32-bit logits).
 *
 * @example
 * ```ts ignore
 * const qat = prepareFloat(mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 }));
 * ```
 */
export function prepareFloat(model: Module): QatModel {
  const out = outputLayer(model);
  return prepareQatFx(model, { "": calib8, ...(out && { moduleName: { [out]: calib32 } }) }, {
    march: March.BAYES,
  });
}

/**
 * Opens an ONNX network ([N,3,H,W] in; a QuantStub of scale 1/128 added at the input), calibrates it
 * on `calibration` (the page's input batch) or, without one, on two random batches of 8 in [−1, 1],
 * and converts it: the studio model of the integer program, with the float network as its reference.
 *
 * @example
 * ```ts ignore
 * const m = openOnnx(await file.bytes(), file.name);
 * ```
 */
export function openOnnx(
  bytes: Uint8Array,
  fileName: string,
  calibration?: { readonly data: Float32Array; readonly shape: readonly number[] },
): StudioModel {
  const float = loadOnnx(bytes, { source: fileName, quantStubScale: 1 / 128 });
  const shape = float.info.inputShape;
  if (shape.length !== 4 || shape.slice(1).some((d) => d < 1)) {
    throw new RangeError(
      `${fileName}: the studio takes networks of [N,C,H,W] input; this one takes [${shape}]`,
    );
  }
  const calib = prepareFloat(float);
  let state = qatStateFromFloat(calib, float.initialState());
  const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
  const frame = [shape[1], shape[2], shape[3]];
  const batches = calibration && calibration.shape.slice(1).join() === frame.join()
    ? [fromArray(calibration.data, [...calibration.shape])]
    : [0, 1].map((i) => randomUniform(randomKey(10 + i), [8, ...frame], { min: -1, max: 1 }));
  for (const x of batches) state = forward(cm, state, x).state;
  const qat = setFakeQuantize(calib, FakeQuantState.VALIDATION);
  const program = convertFx(qat, state);
  const model = studioModel({ ...program, name: fileName.replace(/\.onnx$/i, "") }, {
    fileName,
    kind: "onnx",
  });
  model.float = { qat: calib, state, calibrated: true, source: `${fileName} (calibrated in the page)` };
  return model;
}

/**
 * Float against integer, layer by layer, on the page's input. With a float reference (the ONNX network
 * the page converted, or a float network the user opened beside an int model) each layer's integer
 * output is compared with the float one (`debugQuantization` of `@hqat/fx` when the reference holds
 * calibrated scales; otherwise the float-only columns); without one, each layer's integer range and
 * saturation are shown.
 * @module
 */
import {
  checkState,
  debugQuantization,
  type DebugRow,
  FakeQuantState,
  fromArray,
  fromStored,
  loadOnnx,
  mobilenetV2,
  type Module,
  parseSafetensors,
  type Program,
  qatStateFromFloat,
  resnet18Cifar,
  runIntModel,
  Scope,
  type StateDict,
  stateSpecs,
  type Tensor,
} from "../hqat_browser.ts";
import { type FloatReference, prepareFloat, type StudioModel } from "./model.ts";
import type { InputBatch } from "./files.ts";

/** One layer's integer statistics (no float reference). */
export interface IntStatsRow {
  /** Buffer (layer) name. */
  readonly name: string;
  /** Its dtype. */
  readonly dtype: string;
  /** Smallest and largest integer. */
  readonly min: number;
  /** Largest integer. */
  readonly max: number;
  /** Share of values at the dtype's limits. */
  readonly saturated: number;
}

/** What the comparison panel shows. */
export type Comparison =
  | {
    readonly kind: "float";
    readonly rows: readonly DebugRow[];
    readonly calibrated: boolean;
    readonly source: string;
  }
  | { readonly kind: "int"; readonly rows: readonly IntStatsRow[] };

const LIMITS: Record<string, [number, number]> = {
  qint8: [-128, 127],
  qint16: [-32768, 32767],
  qint32: [-(2 ** 31), 2 ** 31 - 1],
};

function quantStubScale(program: Program): number | undefined {
  const q = program.instructions.find((i) => i.op === "quantize");
  return q?.op === "quantize" ? q.scale : undefined;
}

function classes(program: Program): number {
  return program.buffers[program.output].shape.at(-1) ?? 10;
}

/** The share of the program's layer names the reference's graph has. */
function coverage(ref: FloatReference, program: Program): number {
  const names = new Set(ref.qat.graph.nodes.map((n) => n.name));
  const layers = program.instructions.map((i) => program.buffers[i.output].name);
  return layers.filter((n) => names.has(n)).length / Math.max(1, layers.length);
}

/**
 * A float reference for `program` from a safetensors checkpoint of a zoo network (MobileNetV2 or the
 * CIFAR ResNet-18, whichever its names fit): a float checkpoint, or a QAT one whose calibrated scales
 * then also give the fake-quantized columns.
 *
 * @example
 * ```ts ignore
 * model.float = floatFromSafetensors(await file.bytes(), file.name, model.program);
 * ```
 */
export function floatFromSafetensors(bytes: Uint8Array, fileName: string, program: Program): FloatReference {
  const { tensors } = parseSafetensors(bytes, { fileName });
  const n = classes(program), scale = quantStubScale(program);
  const candidates: [string, () => Module][] = [
    ["MobileNetV2", () => mobilenetV2({ numClasses: n, quantStubScale: scale })],
    ["ResNet-18", () => resnet18Cifar({ numClasses: n })],
  ];
  for (const [arch, make] of candidates) {
    const float = make();
    const qat = prepareFloat(float);
    for (const [module, calibrated] of [[qat, true], [float, false]] as const) {
      const specs = stateSpecs(module);
      if (!specs.every((s) => tensors.has(s.name))) continue;
      const raw: StateDict = {};
      for (const s of specs) {
        raw[s.name] = fromStored(tensors.get(s.name)!, { dtype: s.dtype, label: `${fileName}: "${s.name}"` });
      }
      const state = checkState(module, raw, { source: fileName });
      const ref: FloatReference = {
        qat,
        state: calibrated ? state : qatStateFromFloat(qat, state),
        calibrated,
        source: `${fileName} (${arch}, ${calibrated ? "QAT" : "float"} checkpoint)`,
      };
      if (coverage(ref, program) < 0.5) {
        throw new RangeError(`${fileName}: the ${arch} layers do not match this int model's layers`);
      }
      return ref;
    }
  }
  throw new RangeError(`${fileName}: not a checkpoint of MobileNetV2 or ResNet-18 with ${n} classes`);
}

/**
 * A float reference for `program` from the ONNX network it was converted from; `undefined` when the
 * network's layers are not the program's (then it is a model of its own).
 *
 * @example
 * ```ts ignore
 * const ref = floatFromOnnx(await file.bytes(), file.name, model.program);
 * ```
 */
export function floatFromOnnx(
  bytes: Uint8Array,
  fileName: string,
  program: Program,
): FloatReference | undefined {
  const float = loadOnnx(bytes, { source: fileName, quantStubScale: quantStubScale(program) });
  const qat = prepareFloat(float);
  const ref: FloatReference = {
    qat,
    state: qatStateFromFloat(qat, float.initialState()),
    calibrated: false,
    source: `${fileName} (float ONNX)`,
  };
  return coverage(ref, program) >= 0.5 ? ref : undefined;
}

function similarity(a: ArrayLike<number>, b: ArrayLike<number>): { cosine: number; sqnr: number } {
  let ab = 0, aa = 0, bb = 0, err = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
    err += (a[i] - b[i]) ** 2;
  }
  return {
    cosine: aa === 0 && bb === 0 ? 1 : ab / Math.sqrt(aa * bb || 1),
    sqnr: err === 0 ? Infinity : 10 * Math.log10(aa / err),
  };
}

/** Float against integer only (the reference has no calibrated scales). */
function floatRows(ref: FloatReference, program: Program, x: Tensor): DebugRow[] {
  const floats = new Map<string, Tensor>();
  ref.qat.withState(FakeQuantState.CALIBRATION).run(
    new Scope(ref.state, "", { training: false, updates: new Map() }),
    x,
    (name, y) => floats.set(name, y),
  );
  const all = runIntModel(program, x.data as Float32Array, x.shape, { keepAll: true }).all!;
  const rows: DebugRow[] = [];
  for (const instr of program.instructions) {
    const name = program.buffers[instr.output].name;
    const q = all.get(name), f = floats.get(name);
    if (!q || !f || f.size !== q.data.length) continue;
    const channels = q.scale.length, inner = q.data.length / (q.shape[0] * channels);
    const deq = new Float32Array(q.data.length);
    let maxLsb = 0, over = 0;
    for (let i = 0; i < deq.length; i++) {
      const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
      deq[i] = q.data[i] * q.scale[c];
      const d = Math.abs(Math.round(f.data[i] / q.scale[c]) - q.data[i]);
      maxLsb = Math.max(maxLsb, d);
      if (d > 1) over++;
    }
    const s = similarity(f.data, deq);
    rows.push({
      name,
      op: instr.op,
      scale: q.scale[0],
      cosineFakeQuant: NaN,
      sqnrFakeQuant: NaN,
      cosineInt: s.cosine,
      sqnrInt: s.sqnr,
      maxLsbDiff: maxLsb,
      overOneLsb: over / deq.length,
    });
  }
  return rows;
}

/**
 * The comparison on `batch` (see the module description).
 *
 * @example
 * ```ts ignore
 * const c = compareLayers(model, batch);
 * ```
 */
export function compareLayers(model: StudioModel, batch: InputBatch): Comparison {
  const x = fromArray(batch.data, [...batch.shape]);
  const ref = model.float;
  if (ref) {
    const rows = ref.calibrated
      ? debugQuantization(ref.qat, ref.state, model.program, x).rows
      : floatRows(ref, model.program, x);
    return { kind: "float", rows, calibrated: ref.calibrated, source: ref.source };
  }
  const all = runIntModel(model.program, batch.data, batch.shape, { keepAll: true }).all!;
  const rows: IntStatsRow[] = [];
  for (const instr of model.program.instructions) {
    const b = model.program.buffers[instr.output];
    const q = all.get(b.name);
    if (!q) continue;
    const [lo, hi] = LIMITS[b.dtype];
    let min = Infinity, max = -Infinity, sat = 0;
    for (const v of q.data as Int32Array) {
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === lo || v === hi) sat++;
    }
    rows.push({ name: b.name, dtype: b.dtype, min, max, saturated: sat / q.data.length });
  }
  return { kind: "int", rows };
}

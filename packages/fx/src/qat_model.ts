/**
 * `prepareQatFx`, `setFakeQuantize` and the prepared model: the float model traced, fused and
 * annotated with a quantization spec per node, run by the graph interpreter with observers and fake
 * quantization. Its state is the float model's state (same names, so float weights load directly)
 * plus observer state per quantized node, so `loadState` of a calibrated model into a QAT-prepared one
 * is the seed's `qat_model.load_state_dict(calib_model.state_dict())`.
 * @module
 */
import { type March, resolveMarch } from "@hqat/march-bayes";
import { initState, Module, type Scope, type StateDict, type StateSpec, stateSpecs } from "@hqat/nn";
import {
  createObserver,
  FAKE_QUANT_STATE_TABLE,
  FakeQuantState,
  type Observer,
  type ObserverConfig,
} from "@hqat/qtensor";
import {
  addFake,
  avgPoolFake,
  fakeQuantize,
  fromArray,
  intLayerFake,
  randomKey,
  type Tensor,
  zeros,
} from "@hqat/tensor";
import { fuse } from "./fuse.ts";
import { marchViolations } from "./graph_layers.ts";
import type { Graph, GraphNode } from "./graph.ts";
import type { Grid } from "./node_rule.ts";
import { isRuleKind, ruleOf } from "./node_rules.ts";
import { ACT, isSetScale, nodeSpec, observerState, scaleRule, WFQ } from "./qat_spec.ts";
import { observeMinMax } from "./device_observer.ts";
import { runGraph } from "./interpret.ts";
import { type QConfigDict, resolveQConfigs } from "./qconfig_dict.ts";
import { trace } from "./trace.ts";

/** How one node is quantized. */
export interface NodeQuantSpec {
  /** The qconfig's name. */
  qconfig: string;
  /** Fake quantization of the node's output, with its observer (and, with LSQ, a trained scale). */
  output?: { dtype: "qint8" | "qint16"; observer: ObserverConfig; learnable?: boolean };
  /** Fake quantization of the (BN-folded) weight, per output channel. */
  weight?: { observer: ObserverConfig };
  /** The node keeps its 32-bit accumulator as output. */
  out32?: boolean;
}

/**
 * A float model prepared for calibration and QAT (see the module doc).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { prepareQatFx } from "@hqat/fx";
 * import { March, setMarch } from "@hqat/march-bayes";
 * import { mobilenetV2 } from "@hqat/nn";
 * import { default_qat_8bit_fake_quant_qconfig } from "@hqat/qtensor";
 * setMarch(March.BAYES);
 * const qat = prepareQatFx(mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 }), { "": default_qat_8bit_fake_quant_qconfig });
 * assert(qat.march === "bayes" && qat.fakeQuantState === "QAT");
 * ```
 */
export class QatModel extends Module {
  /** The PyTorch class name of a traced model. */
  readonly typeName = "GraphModule";
  readonly #observers = new Map<string, Observer>();
  /** Per quantizer, the length of its min/max state (1 per tensor, or the output channels). */
  readonly #sizes = new Map<string, number>();
  /** Each quantizer's observer configuration (for the observer on device tensors). */
  readonly #configs = new Map<string, ObserverConfig>();
  /** The quantizers whose scale is trained (LSQ). */
  readonly #learned = new Set<string>();
  /** Per node, the node whose output quantizer gives its scale (itself, or through scale-keeping ops). */
  readonly #scaleSource = new Map<string, string>();
  /** Where a histogram observer's device batch goes in CALIBRATION (see {@linkcode DeviceBatchSink}). */
  readonly #deviceBatches?: DeviceBatchSink;

  /** Creates the prepared model; use {@linkcode prepareQatFx}. */
  constructor(
    readonly float: Module,
    readonly graph: Graph,
    readonly specs: ReadonlyMap<string, NodeQuantSpec>,
    readonly march: March,
    readonly fakeQuantState: FakeQuantState = FakeQuantState.QAT,
    deviceBatches?: DeviceBatchSink,
  ) {
    super();
    this.#deviceBatches = deviceBatches;
    for (const n of graph.nodes) {
      const spec = specs.get(n.name);
      if (spec?.output) this.#scaleSource.set(n.name, n.name);
      else if (scaleRule(n) === "keep" && this.#scaleSource.has(n.inputs[0])) {
        this.#scaleSource.set(n.name, this.#scaleSource.get(n.inputs[0])!);
      }
      if (spec?.output) {
        this.#observers.set(
          `${n.name}.${ACT}`,
          createObserver(spec.output.observer, { name: n.name, dtype: spec.output.dtype }),
        );
        this.#configs.set(`${n.name}.${ACT}`, spec.output.observer);
        this.#sizes.set(`${n.name}.${ACT}`, 1);
        if (spec.output.learnable) this.#learned.add(`${n.name}.${ACT}`);
      }
      if (spec?.weight) {
        const module = (n.kind as { module: string }).module;
        this.#observers.set(
          `${module}.${WFQ}`,
          createObserver({ ...spec.weight.observer, axis: 0 } as ObserverConfig, {
            name: module,
            dtype: "qint8",
          }),
        );
        this.#configs.set(`${module}.${WFQ}`, { ...spec.weight.observer, axis: 0 } as ObserverConfig);
        const k = n.kind, rule = isRuleKind(k) ? ruleOf(k).weight : undefined;
        this.#sizes.set(
          `${module}.${WFQ}`,
          rule ? rule.channels(k as never, n) : k.op === "conv2d" ? n.shape[1] : n.shape[n.shape.length - 1],
        );
      }
    }
  }

  /** The same model in another FakeQuantState. */
  withState(state: FakeQuantState): QatModel {
    return new QatModel(this.float, this.graph, this.specs, this.march, state, this.#deviceBatches);
  }

  /**
   * The same model handing each batch that a histogram observer (percentile, mse, kl) sees on a device
   * in CALIBRATION to `sink`, which computes its statistics there; the observer's state is then updated
   * from them after the pass (`calibrateBatchesOnDevice` does both).
   */
  withDeviceBatches(sink: DeviceBatchSink): QatModel {
    return new QatModel(this.float, this.graph, this.specs, this.march, this.fakeQuantState, sink);
  }

  /** The observer of a quantizer, by its state prefix (`<node>.activation_post_process`, `<module>.weight_fake_quant`). */
  observer(prefix: string): Observer {
    const o = this.#observers.get(prefix);
    if (!o) throw new RangeError(`No quantizer "${prefix}"`);
    return o;
  }

  /** The quantizer prefixes, in state order. */
  quantizers(): string[] {
    return [...this.#observers.keys()];
  }

  /** The current scale of a quantizer from its observer state. */
  scaleOf(state: StateDict, prefix: string): Float32Array {
    return this.#scaleFrom((name) => state[name], prefix);
  }

  /** The trained scale of `prefix` when it has one (see {@linkcode isSetScale}), else the observer's. */
  #scaleFrom(get: (name: string) => Tensor | undefined, prefix: string): Float32Array {
    const learned = this.#learned.has(prefix) ? get(`${prefix}.scale`) : undefined;
    if (learned && isSetScale(learned)) return learned.data as Float32Array;
    const min = get(`${prefix}.min_val`), max = get(`${prefix}.max_val`);
    if (!min || !max) throw new RangeError(`State has no observer state for "${prefix}"`);
    return this.observer(prefix).scale(observerState(min, max));
  }

  /** Whether quantizer `prefix` has a trained (LSQ) scale, the state entry `<prefix>.scale`. */
  learnsScale(prefix: string): boolean {
    return this.#learned.has(prefix);
  }

  /**
   * The float model's state, then each quantizer's `min_val` and `max_val` buffers (NaN until it has seen
   * data).
   */
  override ownState(): StateSpec[] {
    const specs: StateSpec[] = stateSpecs(this.float);
    for (const [prefix, o] of this.#observers) {
      const n = this.#sizes.get(prefix)!;
      for (const [k, init] of [["min_val", o.initialState.min], ["max_val", o.initialState.max]] as const) {
        specs.push({
          name: `${prefix}.${k}`,
          shape: [n],
          dtype: "float32",
          kind: "buffer",
          // NaN marks a quantizer that has seen no data yet (its observer's empty state).
          init: () =>
            fromArray(init.length === n ? Float32Array.from(init) : new Float32Array(n).fill(NaN), [n]),
        });
      }
      // NaN until initLearnedScales sets it from the calibrated observer.
      if (this.#learned.has(prefix)) {
        specs.push({
          name: `${prefix}.scale`,
          shape: [1],
          dtype: "float32",
          kind: "param",
          init: () => fromArray(Float32Array.of(NaN), [1]),
        });
      }
    }
    return specs;
  }

  #quantize(prefix: string, y: Tensor, s: Scope, axis: number): Tensor {
    const behavior = FAKE_QUANT_STATE_TABLE[this.fakeQuantState];
    const o = this.observer(prefix);
    const learned = this.#learned.has(prefix) && behavior.fakeQuant ? s.get(`${prefix}.scale`) : undefined;
    if (learned && isSetScale(learned)) {
      // LSQ: the trained scale, with its gradient; the observer keeps its calibrated range.
      return fakeQuantize(y, learned, { qmin: o.qmin, qmax: o.qmax, axis });
    }
    // The state on a device (or a value there): the observer works there too.
    if (y.device !== "cpu" || s.get(`${prefix}.min_val`).device !== "cpu") {
      return this.#quantizeOnDevice(prefix, y, s, axis);
    }
    let st = observerState(s.get(`${prefix}.min_val`), s.get(`${prefix}.max_val`));
    if (behavior.observersUpdate) {
      st = o.update(st, y.data, { shape: y.shape });
      s.setBuffer(`${prefix}.min_val`, fromArray(st.min, [st.min.length]));
      s.setBuffer(`${prefix}.max_val`, fromArray(st.max, [st.max.length]));
    }
    if (!behavior.fakeQuant) return y;
    const scale = o.scale(st);
    return fakeQuantize(y, fromArray(scale, [scale.length]), { qmin: o.qmin, qmax: o.qmax, axis });
  }

  /** {@linkcode QatModel.#quantize} on a device tensor: the MinMax observer's state and scale stay there. */
  #quantizeOnDevice(prefix: string, y: Tensor, s: Scope, axis: number): Tensor {
    const behavior = FAKE_QUANT_STATE_TABLE[this.fakeQuantState];
    const conf = this.#configs.get(prefix)!, o = this.observer(prefix);
    if (conf.kind === "fixedScale") {
      if (!behavior.fakeQuant) return y;
      const fixed = o.scale({ min: new Float32Array(0), max: new Float32Array(0) });
      return fakeQuantize(y, fromArray(fixed, [fixed.length]), { qmin: o.qmin, qmax: o.qmax, axis });
    }
    if (conf.kind !== "minMax" && behavior.observersUpdate) {
      if (behavior.fakeQuant || !this.#deviceBatches) {
        throw new RangeError(
          `Quantizer "${prefix}": its ${conf.kind} observer updates on a device only in CALIBRATION, ` +
            "through calibrateBatchesOnDevice(); calibrate there or on the CPU",
        );
      }
      if (y.size > 0) this.#deviceBatches(prefix, o, y);
      return y;
    }
    // A frozen observer of any kind: its scale from the state, as MinMax's.
    const { state, scale } = observeMinMax(y, {
      min: s.get(`${prefix}.min_val`),
      max: s.get(`${prefix}.max_val`),
    }, {
      averagingConstant: conf.averagingConstant ?? 0.01,
      perChannel: o.axis !== undefined,
      qmin: o.qmin,
      qmax: o.qmax,
    }, behavior.observersUpdate);
    if (behavior.observersUpdate) {
      s.setBuffer(`${prefix}.min_val`, state.min);
      s.setBuffer(`${prefix}.max_val`, state.max);
    }
    if (!behavior.fakeQuant) return y;
    return fakeQuantize(y, scale, { qmin: o.qmin, qmax: o.qmax, axis });
  }

  /**
   * Runs the graph like {@linkcode QatModel.run}: observers update and fake quantization applies as
   * `fakeQuantState` says.
   */
  forward(s: Scope, x: Tensor): Tensor {
    return this.run(s, x);
  }

  #scaleIn(s: Scope, prefix: string): Float32Array {
    return this.#scaleFrom((name) => s.get(name), prefix);
  }

  /**
   * In VALIDATION, conv and linear nodes (BN folded) run the fixed-point model's integer kernels on the
   * integer grid and dequantize, so that the validated model and the fixed-point model compute the same
   * integers.
   */
  #intLayer(n: GraphNode, x: Tensor, w: Tensor, b: Tensor | undefined, s: Scope): Tensor | undefined {
    const behavior = FAKE_QUANT_STATE_TABLE[this.fakeQuantState];
    if (!behavior.fakeQuant || behavior.observersUpdate) return undefined;
    const spec = this.specs.get(n.name), src = this.#scaleSource.get(n.inputs[0]);
    const dtypeIn = src ? this.specs.get(src)?.output?.dtype : undefined;
    if (!spec?.weight || !src || !dtypeIn || (!spec.output && !spec.out32)) return undefined;
    const k = n.kind;
    if (k.op !== "conv2d" && k.op !== "linear") return undefined;
    const output = spec.output
      ? { dtype: spec.output.dtype, scale: this.#scaleIn(s, `${n.name}.${ACT}`)[0] }
      : { dtype: "qint32" as const };
    const geo = k.op === "conv2d"
      ? { stride: k.stride, padding: k.padding, dilation: k.dilation, groups: k.groups }
      : { stride: [1, 1] as const, padding: [0, 0] as const, dilation: [1, 1] as const, groups: 1 };
    return intLayerFake(x, w, b, {
      linear: k.op === "linear",
      sx: this.#scaleIn(s, `${src}.${ACT}`)[0],
      dtypeIn,
      sw: Array.from(this.#scaleIn(s, `${k.module}.${WFQ}`)),
      output,
      activation: k.act,
      ...geo,
    });
  }

  #intPool(n: GraphNode, x: Tensor, s: Scope): Tensor | undefined {
    const behavior = FAKE_QUANT_STATE_TABLE[this.fakeQuantState];
    if (!behavior.fakeQuant || behavior.observersUpdate) return undefined;
    const spec = this.specs.get(n.name), src = this.#scaleSource.get(n.inputs[0]);
    const dtypeIn = src ? this.specs.get(src)?.output?.dtype : undefined;
    if (!spec?.output || !src || !dtypeIn) return undefined;
    const k = n.kind;
    let geo: {
      kernel: readonly [number, number];
      stride: readonly [number, number];
      padding: readonly [number, number];
      ceilMode?: boolean;
      countIncludePad?: boolean;
    };
    if (k.op === "adaptive_avg_pool2d" && k.outputSize[0] === 1 && k.outputSize[1] === 1) {
      geo = { kernel: [0, 0], stride: [1, 1], padding: [0, 0] };
    } else if (k.op === "avg_pool2d") {
      geo = {
        kernel: k.kernel,
        stride: k.stride,
        padding: k.padding,
        ceilMode: k.ceilMode,
        countIncludePad: k.countIncludePad,
      };
    } else return undefined;
    return avgPoolFake(x, {
      ...geo,
      scaleIn: this.#scaleIn(s, `${src}.${ACT}`)[0],
      dtypeIn,
      outScale: this.#scaleIn(s, `${n.name}.${ACT}`)[0],
      dtype: spec.output.dtype,
    });
  }

  #intAdd(n: GraphNode, a: Tensor, b: Tensor, s: Scope): Tensor | undefined {
    const behavior = FAKE_QUANT_STATE_TABLE[this.fakeQuantState];
    if (!behavior.fakeQuant || behavior.observersUpdate || n.kind.op !== "add") return undefined;
    const spec = this.specs.get(n.name);
    const [sa, sb] = n.inputs.map((i) => this.#scaleSource.get(i));
    if (!spec?.output || !sa || !sb || a.shape.join() !== b.shape.join()) return undefined;
    const dtypeIn = this.specs.get(sa)?.output?.dtype;
    if (!dtypeIn || this.specs.get(sb)?.output?.dtype !== dtypeIn) return undefined;
    return addFake(a, b, {
      scaleA: this.#scaleIn(s, `${sa}.${ACT}`)[0],
      scaleB: this.#scaleIn(s, `${sb}.${ACT}`)[0],
      dtypeIn,
      outScale: this.#scaleIn(s, `${n.name}.${ACT}`)[0],
      dtype: spec.output.dtype,
      activation: n.kind.act,
    });
  }

  /** In VALIDATION, a node of `NODE_RULES` computes the fixed-point model's values from its inputs' grids. */
  #intNode(n: GraphNode, ins: readonly Tensor[], s: Scope): Tensor | undefined {
    const behavior = FAKE_QUANT_STATE_TABLE[this.fakeQuantState];
    const k = n.kind;
    if (!behavior.fakeQuant || behavior.observersUpdate || !isRuleKind(k)) return undefined;
    const rule = ruleOf(k);
    if (!rule.twin) return undefined;
    const gridOf = (node: string | undefined): Grid | undefined => {
      const dtype = node ? this.specs.get(node)?.output?.dtype : undefined;
      return dtype ? { dtype, scale: this.#scaleIn(s, `${node}.${ACT}`)[0] } : undefined;
    };
    const module = rule.weight?.module(k as never);
    return rule.twin(k as never, ins, {
      input: (i) => gridOf(this.#scaleSource.get(n.inputs[i])),
      output: () => gridOf(this.specs.get(n.name)?.output ? n.name : undefined),
      param: (name) => s.get(name),
      weightScale:
        () => (module && this.specs.get(n.name)?.weight ? this.#scaleIn(s, `${module}.${WFQ}`) : undefined),
    });
  }

  /** Runs the graph; `record` receives every node's (fake-quantized) output. */
  run(s: Scope, x: Tensor, record?: (name: string, y: Tensor) => void): Tensor {
    return runGraph(this.graph, s, [x], {
      intAdd: (n, a, b, sc) => this.#intAdd(n, a, b, sc),
      intPool: (n, x, sc) => this.#intPool(n, x, sc),
      intNode: (n, ins, sc) => this.#intNode(n, ins, sc),
      intLayer: (n, x, w, b, sc) => this.#intLayer(n, x, w, b, sc),
      weight: (n, w, sc) => {
        const spec = this.specs.get(n.name);
        if (!spec?.weight) return w;
        const prefix = `${(n.kind as { module: string }).module}.${WFQ}`, k = n.kind;
        const view = isRuleKind(k) ? ruleOf(k).weight : undefined;
        if (!view) return this.#quantize(prefix, w, sc, 0);
        const q = this.#quantize(prefix, view.toChannels(k as never, w), sc, 0);
        return view.fromChannels(k as never, q, w.shape);
      },
      output: (n, y, sc) => {
        const out = this.specs.get(n.name)?.output ? this.#quantize(`${n.name}.${ACT}`, y, sc, -1) : y;
        record?.(n.name, out);
        return out;
      },
    });
  }
}

/**
 * Receives a batch `y` that the histogram observer of quantizer `prefix` sees on a device in
 * CALIBRATION ({@linkcode QatModel.withDeviceBatches}).
 */
export type DeviceBatchSink = (prefix: string, observer: Observer, y: Tensor) => void;

/** Options of {@linkcode prepareQatFx}. */
export interface PrepareOptions {
  /** The target (default: the march set with `setMarch`, the seed's way). */
  march?: March;
  /** An example input (default zeros of [1, 3, 32, 32]); only its shape matters. */
  exampleInput?: Tensor;
  /** Where the early target warnings go (default console.warn). */
  warn?: (line: string) => void;
}

/**
 * Prepares a float model for calibration and QAT: traces it, fuses conv + bn (+ activation), and
 * annotates every node with the qconfig that applies (see {@linkcode QConfigDict}), for the march given in
 * the options or, as in the seed, the one set with `setMarch`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { prepareQatFx, setFakeQuantize } from "@hqat/fx";
 * import { March, setMarch } from "@hqat/march-bayes";
 * import { mobilenetV2 } from "@hqat/nn";
 * import { default_calib_8bit_fake_quant_qconfig, default_calib_8bit_weight_32bit_out_fake_quant_qconfig, FakeQuantState } from "@hqat/qtensor";
 * setMarch(March.BAYES);
 * const calib = prepareQatFx(mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 }), {
 *   "": default_calib_8bit_fake_quant_qconfig,
 *   moduleName: { classifier: default_calib_8bit_weight_32bit_out_fake_quant_qconfig },
 * });
 * assert(setFakeQuantize(calib, FakeQuantState.CALIBRATION).fakeQuantState === "CALIBRATION");
 * ```
 */
export function prepareQatFx(model: Module, qconfig: QConfigDict, options: PrepareOptions = {}): QatModel {
  const march = resolveMarch(options.march, "prepareQatFx()");
  if (model instanceof QatModel) throw new TypeError("prepareQatFx(): the model is already prepared");
  const example = options.exampleInput ?? zeros([1, 3, 32, 32]);
  const floatState = initState(model, randomKey(0));
  const graph = fuse(trace(model, floatState, example), { add: false });
  // Report early what the target's operator table rejects (checkModel reads the same table).
  const warn = options.warn ?? ((line: string) => console.warn(line));
  for (const v of marchViolations(graph, floatState, march)) warn(`Warning: ${v.message}`);
  const qconfigs = resolveQConfigs(model, graph.nodes, qconfig);
  const specs = new Map<string, NodeQuantSpec>();
  for (const n of graph.nodes) {
    const q = qconfigs.get(n.name);
    if (!q) continue;
    const spec = nodeSpec(n, q);
    if (spec) specs.set(n.name, spec);
  }
  return new QatModel(model, graph, specs, march);
}

/**
 * The model in another {@linkcode FakeQuantState} (the seed's `set_fake_quantize`; models are values, so
 * this returns a new one). Run CALIBRATION and VALIDATION in evaluation mode and QAT in training mode.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { setFakeQuantize } from "@hqat/fx";
 * assert(typeof setFakeQuantize === "function");
 * ```
 */
export function setFakeQuantize(model: QatModel, state: FakeQuantState): QatModel {
  return model.withState(state);
}

/**
 * The prepared model's state from a float state: the float entries plus fresh observer state.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { prepareQatFx, qatStateFromFloat } from "@hqat/fx";
 * import { March, setMarch } from "@hqat/march-bayes";
 * import { initState, mobilenetV2 } from "@hqat/nn";
 * import { default_qat_8bit_fake_quant_qconfig } from "@hqat/qtensor";
 * import { randomKey } from "@hqat/tensor";
 * setMarch(March.BAYES);
 * const float = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
 * const qat = prepareQatFx(float, { "": default_qat_8bit_fake_quant_qconfig });
 * const s = qatStateFromFloat(qat, initState(float, randomKey(0)));
 * assert("quant.activation_post_process.min_val" in s);
 * ```
 */
export function qatStateFromFloat(model: QatModel, floatState: StateDict): StateDict {
  const fresh = initState(model, randomKey(0));
  const out: StateDict = {};
  for (const k of Object.keys(fresh)) out[k] = floatState[k] ?? fresh[k];
  return out;
}

/**
 * The imported network as an ordinary `@hqat/nn` module: its children are the layer and stateless
 * modules of the plan (so tracing sees `conv2d`, `batch_norm`, `linear`, pooling and activation nodes),
 * its own state is the parameters no layer owns (under their ONNX names), and its forward pass runs the
 * steps in order with a dynamic batch size.
 * @module
 */
import {
  DeQuantStub,
  initState,
  Module,
  QuantStub,
  type Scope,
  type StateDict,
  type StateSpec,
} from "@hqat/nn";
import { randomKey, type Tensor } from "@hqat/tensor";
import type { ModelPlan } from "./build.ts";
import { tensorOf } from "./layers.ts";

/** What the model knows about its file and its interface. */
export interface OnnxModelInfo {
  /** The file, for messages. */
  readonly source: string;
  /** The default domain's opset. */
  readonly opset: number;
  /** Producer name and version. */
  readonly producer: string;
  /** The graph input's name. */
  readonly inputName: string;
  /** The graph output's name. */
  readonly outputName: string;
  /** Input shape; -1 marks the dynamic batch dimension. */
  readonly inputShape: readonly number[];
  /** Output shape; -1 marks dimensions that follow the batch size. */
  readonly outputShape: readonly number[];
}

/** The most values a constant may have for tracing to record it (as `trace` does). */
const TRACEABLE_CONSTANT = 64;

/**
 * An ONNX network as a module. Build it with {@linkcode loadOnnx}; its state (`initState` with any key,
 * or {@linkcode OnnxModel.initialState}) is the file's weights.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { OnnxModel, readOnnx } from "@hqat/onnx";
 * // Batch norm folded into the convolutions: the layers are named after their nodes.
 * const m = await readOnnx(new URL("../testdata/resnet_block_folded.onnx", import.meta.url).pathname);
 * assert(m instanceof OnnxModel && m.stateNames.get("/conv1/Conv.weight")!.startsWith("onnx::Conv_"));
 * ```
 */
export class OnnxModel extends Module {
  /** The class name shown in messages. */
  readonly typeName = "OnnxModel";
  readonly #plan: ModelPlan;
  readonly #stubs?: { quant: string; dequant: string };
  /** For each step, the values no later step reads. */
  readonly #dead: readonly string[][];

  /** Creates the model from a plan; use {@linkcode loadOnnx}. */
  constructor(
    plan: ModelPlan,
    readonly info: OnnxModelInfo,
    options: { quantStubScale?: number | null } = {},
  ) {
    super();
    this.#plan = plan;
    const taken = new Set(plan.modules.map(([p]) => p));
    const free = (base: string) => {
      let p = base;
      for (let k = 1; taken.has(p) || [...plan.params.keys()].some((n) => n.startsWith(`${p}.`)); k++) {
        p = `${base}_${k}`;
      }
      taken.add(p);
      return p;
    };
    if (options.quantStubScale !== undefined) {
      this.#stubs = { quant: free("quant"), dequant: free("dequant") };
      const scale = options.quantStubScale;
      this.register(this.#stubs.quant, new QuantStub(scale === null ? {} : { scale }));
    }
    for (const [path, m] of plan.modules) this.register(path, m);
    if (this.#stubs) this.register(this.#stubs.dequant, new DeQuantStub());
    const last = new Map<string, number>();
    plan.steps.forEach((p, k) => p.sources.forEach((s) => s.from === "value" && last.set(s.name, k)));
    this.#dead = plan.steps.map((_, k) =>
      [...last].filter(([name, at]) => at === k && name !== info.outputName).map(([n]) => n)
    );
  }

  /** State key → ONNX initializer name, for every initializer that became state. */
  get stateNames(): ReadonlyMap<string, string> {
    return this.#plan.stateNames;
  }

  /** The ONNX nodes that run, with their operators, in order. */
  get nodes(): readonly { readonly name: string; readonly opType: string }[] {
    return this.#plan.steps.map((p) => ({ name: p.node, opType: p.opType }));
  }

  /** The file's weights as a state dict (the same as `initState` with any key). */
  initialState(): StateDict {
    return initState(this, randomKey(0));
  }

  /** The parameters no layer module owns, under their ONNX initializer names. */
  override ownState(): StateSpec[] {
    return [...this.#plan.params].map(([name, t]) => ({
      name,
      shape: [...t.dims],
      dtype: "float32",
      kind: "param",
      init: () => tensorOf(t),
    }));
  }

  #checkInput(x: Tensor): number {
    const want = this.info.inputShape;
    if (x.rank !== want.length || want.some((d, i) => d >= 0 && d !== x.shape[i])) {
      throw new RangeError(
        `${this.info.source}: input [${x.shape.join(",")}] does not fit the model's [${
          want.map((d) => (d < 0 ? "N" : d)).join(",")
        }]${
          want.slice(1).some((d, i) => d !== x.shape[i + 1]) ? "; load the model for this input shape" : ""
        }`,
      );
    }
    return x.shape[0];
  }

  /** Runs the network's nodes on `x` (NCHW float32, any batch size when the file's batch is dynamic). */
  forward(s: Scope, x: Tensor): Tensor {
    const batch = this.#checkInput(x);
    const env = new Map<string, Tensor>();
    env.set(
      this.info.inputName,
      this.#stubs ? s.call(this.#stubs.quant, this.child(this.#stubs.quant), x) : x,
    );
    const rt = { s, batch };
    const tracing = s.ctx.intercept !== undefined;
    this.#plan.steps.forEach((p, k) => {
      if (tracing) this.#checkTraceable(p);
      const ins = p.sources.map((src) =>
        src.from === "value" ? env.get(src.name)! : src.from === "param" ? s.get(src.key) : src.tensor
      );
      const outs = p.step.run(ins, rt);
      outs.forEach((t, i) => p.outputs[i] && env.set(p.outputs[i], t));
      for (const name of this.#dead[k]) env.delete(name);
    });
    const y = env.get(this.info.outputName);
    if (!y) {
      throw new RangeError(`${this.info.source}: the output "${this.info.outputName}" was not computed`);
    }
    return this.#stubs ? s.call(this.#stubs.dequant, this.child(this.#stubs.dequant), y) : y;
  }

  /** The child module at `path`. */
  child(path: string): Module {
    const m = this.namedChildren().find(([p]) => p === path);
    if (!m) throw new RangeError(`OnnxModel has no module "${path}"`);
    return m[1];
  }

  #checkTraceable(p: ModelPlan["steps"][number]) {
    const where = `${this.info.source}: node "${p.node}" (${p.opType})`;
    if (p.readsParams) {
      throw new TypeError(
        `${where} computes with initializers outside a Conv2d, BatchNorm2d or Linear layer, so the model ` +
          `cannot be traced for quantization yet`,
      );
    }
    if (p.step.untraceable) {
      throw new TypeError(`${where} cannot be traced for quantization yet: ${p.step.untraceable}`);
    }
    for (const src of p.sources) {
      if (src.from === "const" && src.tensor.size > TRACEABLE_CONSTANT) {
        throw new TypeError(
          `${where} reads a constant of ${src.tensor.size} values; tracing records at most ${TRACEABLE_CONSTANT}`,
        );
      }
    }
  }
}

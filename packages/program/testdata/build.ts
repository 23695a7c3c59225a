/**
 * A small builder of O0 programs for the tests, emitting each node as `convertFx` does: a weighted
 * layer or pooling with its requantization stage, an add with SPEC's alignment, a cat with one
 * requantization per input, a ReLU as a `move` with a clamp stage, an identity or flatten as a `move`.
 * @module
 */

import {
  addAlignment,
  type IntOutput,
  lutTable,
  type PadFill,
  padOutShape,
  poolOutputSize,
  sliceOutShape,
} from "@hqat/qtensor";
import {
  type Activation,
  type Instr,
  type Program,
  type ProgramBuffer,
  requantOf,
  type Stage,
  verifyProgram,
} from "@hqat/program";
import type { CoordinateTransformation, NearestMode } from "@hqat/tensor";

type Omit2<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A small deterministic generator (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float32 input of `shape` with values in [-1, 1) from `seed`. */
export function randomInput(shape: readonly number[], seed: number): Float32Array {
  const r = prng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
}

type Out = { dtype: "qint8" | "qint16"; scale: number };

/** Builds an O0 program node by node; each method returns the new buffer's index. */
export class ProgramBuilder {
  readonly buffers: ProgramBuffer[] = [];
  readonly instructions: Instr[] = [];
  constructor(
    readonly rand: () => number,
    readonly inputShape: readonly number[],
    readonly batch = inputShape[0],
  ) {}

  private emit(
    name: string,
    draft: Omit2<Instr, "name" | "output" | "epilogue">,
    out: { shape: readonly number[]; dtype: ProgramBuffer["dtype"]; scale: Float32Array },
    epilogue: Stage[] = [],
  ): number {
    this.buffers.push({ shape: out.shape, dtype: out.dtype, scale: out.scale, name });
    this.instructions.push({ ...draft, name, output: this.buffers.length - 1, epilogue } as Instr);
    return this.buffers.length - 1;
  }
  private rq(numerator: ArrayLike<number>, divisor: number, out: IntOutput, act?: Activation): Stage {
    return { kind: "requant", ...requantOf(numerator, divisor, out, act, "builder") };
  }
  weights(n: number, amp = 40): Int8Array {
    return Int8Array.from({ length: n }, () => Math.round((this.rand() * 2 - 1) * amp));
  }
  biases(n: number, amp = 200): Int32Array {
    return Int32Array.from({ length: n }, () => Math.round((this.rand() * 2 - 1) * amp));
  }
  scales(n: number, base: number): Float32Array {
    return Float32Array.from({ length: n }, () => base * (0.5 + this.rand()));
  }
  buffer(id: number): ProgramBuffer {
    return this.buffers[id];
  }
  quantize(name: string, scale: number, dtype: "qint8" | "qint16" = "qint8"): number {
    return this.emit(name, { op: "quantize", inputs: [], scale }, {
      shape: this.inputShape,
      dtype,
      scale: Float32Array.of(scale),
    });
  }
  conv(
    name: string,
    input: number,
    o: { cout: number; k: number; s?: number; p?: number; d?: number; g?: number },
    out: Out | { dtype: "qint32" },
    act?: Activation,
  ): number {
    const x = this.buffers[input], [n, cin, h, w] = x.shape;
    const [s, p, d, g] = [o.s ?? 1, o.p ?? 0, o.d ?? 1, o.g ?? 1];
    const oh = Math.floor((h + 2 * p - d * (o.k - 1) - 1) / s) + 1;
    const ow = Math.floor((w + 2 * p - d * (o.k - 1) - 1) / s) + 1;
    const weightScale = this.scales(o.cout, 0.01);
    const numerator = Float64Array.from(weightScale, (sw) => x.scale[0] * sw);
    const stages = out.dtype === "qint32" && !act ? [] : [this.rq(numerator, 1, out, act)];
    const scale = out.dtype === "qint32" ? Float32Array.from(numerator) : Float32Array.of(out.scale);
    return this.emit(
      name,
      {
        op: "conv2d",
        inputs: [input],
        weight: this.weights(o.cout * (cin / g) * o.k * o.k),
        weightShape: [o.cout, cin / g, o.k, o.k],
        weightScale,
        bias: this.biases(o.cout),
        stride: [s, s],
        padding: [p, p],
        dilation: [d, d],
        groups: g,
        tileRows: oh,
      },
      { shape: [n, o.cout, oh, ow], dtype: out.dtype, scale },
      stages,
    );
  }
  linear(
    name: string,
    input: number,
    o: { cout: number },
    out: Out | { dtype: "qint32" },
    act?: Activation,
  ): number {
    const x = this.buffers[input], k = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const weightScale = this.scales(o.cout, 0.01);
    const numerator = Float64Array.from(weightScale, (sw) => x.scale[0] * sw);
    const stages = out.dtype === "qint32" && !act ? [] : [this.rq(numerator, 1, out, act)];
    const scale = out.dtype === "qint32" ? Float32Array.from(numerator) : Float32Array.of(out.scale);
    return this.emit(
      name,
      {
        op: "linear",
        inputs: [input],
        weight: this.weights(o.cout * k),
        weightShape: [o.cout, k],
        weightScale,
        bias: this.biases(o.cout),
      },
      { shape: [x.shape[0], o.cout], dtype: out.dtype, scale },
      stages,
    );
  }
  activation(name: string, input: number, kind: "relu" | "relu6"): number {
    return this.emit(name, { op: "move", inputs: [input] }, this.buffers[input], [{ kind }]);
  }
  move(name: string, input: number, shape: readonly number[]): number {
    return this.emit(name, { op: "move", inputs: [input] }, { ...this.buffers[input], shape });
  }
  add(name: string, a: number, b: number, out: Out, act?: Activation): number {
    const [sa, sb] = [this.buffers[a].scale[0], this.buffers[b].scale[0]];
    const shiftSecond = !(sa >= sb);
    const shifted = this.buffers[shiftSecond ? b : a];
    const { k, t } = addAlignment(shifted.scale[0], Math.min(sa, sb), { dtype: shifted.dtype as "qint8" });
    return this.emit(name, { op: "add", inputs: [a, b], shiftSecond, k, t }, {
      shape: this.buffers[a].shape,
      dtype: out.dtype,
      scale: Float32Array.of(out.scale),
    }, [this.rq([shifted.scale[0]], 2 ** k, out, act)]);
  }
  sub(name: string, a: number, b: number, out: Out, act?: Activation): number {
    const [sa, sb] = [this.buffers[a].scale[0], this.buffers[b].scale[0]];
    const shiftSecond = !(sa >= sb);
    const shifted = this.buffers[shiftSecond ? b : a];
    const { k, t } = addAlignment(shifted.scale[0], Math.min(sa, sb), { dtype: shifted.dtype as "qint8" });
    return this.emit(name, { op: "sub", inputs: [a, b], shiftSecond, k, t }, {
      shape: this.buffers[a].shape,
      dtype: out.dtype,
      scale: Float32Array.of(out.scale),
    }, [this.rq([shifted.scale[0]], 2 ** k, out, act)]);
  }
  /** A constant of one frame (`frame` the shape after the batch), quantized by the caller. */
  constant(name: string, data: Int8Array | Int16Array, frame: readonly number[], scale: number): number {
    return this.emit(name, { op: "constant", inputs: [], data }, {
      shape: [this.batch, ...frame],
      dtype: data instanceof Int16Array ? "qint16" : "qint8",
      scale: Float32Array.of(scale),
    });
  }
  /** A table-lookup activation of `f` from the input's grid to `out`. */
  lut(
    name: string,
    input: number,
    f: (x: Float32Array) => Float32Array,
    activation: string,
    out: Out,
  ): number {
    const x = this.buffers[input];
    const table = lutTable(f, {
      inDtype: x.dtype as "qint8",
      inScale: x.scale[0],
      outDtype: out.dtype,
      outScale: out.scale,
    });
    return this.emit(name, { op: "lut", inputs: [input], activation, table }, {
      shape: x.shape,
      dtype: out.dtype,
      scale: Float32Array.of(out.scale),
    });
  }
  transpose(name: string, input: number, perm: readonly number[]): number {
    const x = this.buffers[input];
    return this.emit(name, { op: "transpose", inputs: [input], perm }, {
      ...x,
      shape: perm.map((p) => x.shape[p]),
    });
  }
  /** A strided slice (normalized starts, ends and steps per axis). */
  slice(name: string, input: number, starts: number[], ends: number[], steps: number[]): number {
    const x = this.buffers[input], spec = { starts, ends, steps };
    return this.emit(name, { op: "slice", inputs: [input], ...spec }, {
      ...x,
      shape: sliceOutShape(x.shape, spec),
    });
  }
  pad(name: string, input: number, pads: [number, number][], mode: PadFill, value = 0): number {
    const x = this.buffers[input];
    return this.emit(name, { op: "pad", inputs: [input], pads, mode, value }, {
      ...x,
      shape: padOutShape(x.shape, pads, mode),
    });
  }
  /** A resize: nearest keeps the input's grid; linear requantizes its accumulator (scale sx / 2^16) to `out`. */
  resize(
    name: string,
    input: number,
    size: [number, number],
    rule: {
      mode: "nearest" | "linear";
      coordinateTransformation: CoordinateTransformation;
      nearestMode?: NearestMode;
    },
    out?: Out,
  ): number {
    const x = this.buffers[input];
    const instr = { op: "resize", inputs: [input], size, nearestMode: "floor", ...rule } as const;
    const shape = [x.shape[0], x.shape[1], ...size];
    if (rule.mode === "nearest") return this.emit(name, instr, { ...x, shape });
    return this.emit(name, instr, { shape, dtype: out!.dtype, scale: Float32Array.of(out!.scale) }, [
      this.rq([x.scale[0]], 65536, out!),
    ]);
  }
  /** A mean over `axes`: the int32 sum requantized from scale sx / count to `out`. */
  mean(name: string, input: number, axes: number[], keepDims: boolean, out: Out, act?: Activation): number {
    const x = this.buffers[input], count = axes.reduce((p, a) => p * x.shape[a], 1);
    const shape = x.shape.flatMap((d, a) => (axes.includes(a) ? (keepDims ? [1] : []) : [d]));
    return this.emit(name, { op: "reduce_mean", inputs: [input], axes, keepDims }, {
      shape,
      dtype: out.dtype,
      scale: Float32Array.of(out.scale),
    }, [this.rq([x.scale[0]], count, out, act)]);
  }
  /** A matmul of two activations, requantized from scale sa · sb to `out`. */
  matmul(name: string, a: number, b: number, out: Out, act?: Activation): number {
    const [x, y] = [this.buffers[a], this.buffers[b]], r = x.shape.length;
    const shape = [
      ...x.shape.slice(0, -2).map((d, i) => Math.max(d, y.shape[i])),
      x.shape[r - 2],
      y.shape[r - 1],
    ];
    return this.emit(name, { op: "matmul", inputs: [a, b] }, {
      shape,
      dtype: out.dtype,
      scale: Float32Array.of(out.scale),
    }, [this.rq([x.scale[0] * y.scale[0]], 1, out, act)]);
  }
  /** A ConvTranspose2d with random int8 weights and biases, requantized from sx · sw[c] to `out`. */
  convTranspose(
    name: string,
    input: number,
    o: { cout: number; k: number; s?: number; p?: number; op?: number; d?: number; g?: number },
    out: Out | { dtype: "qint32" },
    act?: Activation,
  ): number {
    const x = this.buffers[input], [n, cin, h, w] = x.shape;
    const [s, p, op, d, g] = [o.s ?? 1, o.p ?? 0, o.op ?? 0, o.d ?? 1, o.g ?? 1];
    const size = (v: number) => (v - 1) * s - 2 * p + d * (o.k - 1) + op + 1;
    const weightScale = this.scales(o.cout, 0.01);
    const numerator = Float64Array.from(weightScale, (sw) => x.scale[0] * sw);
    const stages = out.dtype === "qint32" && !act ? [] : [this.rq(numerator, 1, out, act)];
    const scale = out.dtype === "qint32" ? Float32Array.from(numerator) : Float32Array.of(out.scale);
    return this.emit(
      name,
      {
        op: "conv_transpose2d",
        inputs: [input],
        weight: this.weights(cin * (o.cout / g) * o.k * o.k),
        weightShape: [cin, o.cout / g, o.k, o.k],
        weightScale,
        bias: this.biases(o.cout),
        stride: [s, s],
        padding: [p, p],
        outputPadding: [op, op],
        dilation: [d, d],
        groups: g,
      },
      { shape: [n, o.cout, size(h), size(w)], dtype: out.dtype, scale },
      stages,
    );
  }
  /** An integer softmax along `axis`, requantized from scale 2^-16 to `out`. */
  softmax(name: string, input: number, axis: number, out: Out): number {
    const x = this.buffers[input];
    return this.emit(name, { op: "softmax", inputs: [input], axis }, {
      shape: x.shape,
      dtype: out.dtype,
      scale: Float32Array.of(out.scale),
    }, [this.rq([1], 65536, out)]);
  }
  mul(name: string, a: number, b: number, out: Out, act?: Activation): number {
    const [x, y] = [this.buffers[a], this.buffers[b]];
    return this.emit(name, { op: "mul", inputs: [a, b] }, {
      shape: x.shape,
      dtype: out.dtype,
      scale: Float32Array.of(out.scale),
    }, [this.rq([x.scale[0] * y.scale[0]], 1, out, act)]);
  }
  private window(
    x: ProgramBuffer,
    g: {
      kernel: readonly [number, number];
      stride: readonly [number, number];
      padding: readonly [number, number];
      ceilMode?: boolean;
    },
  ) {
    const [n, c, h, w] = x.shape, ceil = g.ceilMode ?? false;
    return [
      n,
      c,
      poolOutputSize(h, g.kernel[0], g.stride[0], g.padding[0], ceil),
      poolOutputSize(w, g.kernel[1], g.stride[1], g.padding[1], ceil),
    ];
  }
  maxPool(
    name: string,
    input: number,
    g: { kernel: [number, number]; stride: [number, number]; padding: [number, number]; ceilMode?: boolean },
  ): number {
    const x = this.buffers[input];
    return this.emit(name, { op: "max_pool2d", inputs: [input], ...g }, { ...x, shape: this.window(x, g) });
  }
  avgPool(
    name: string,
    input: number,
    g: {
      kernel: readonly [number, number];
      stride: readonly [number, number];
      padding: readonly [number, number];
      ceilMode?: boolean;
      countIncludePad?: boolean;
    },
    out: Out,
  ): number {
    const x = this.buffers[input];
    return this.emit(name, { op: "avg_pool2d", inputs: [input], ...g }, {
      shape: this.window(x, g),
      dtype: out.dtype,
      scale: Float32Array.of(out.scale),
    }, [this.rq([x.scale[0]], g.kernel[0] * g.kernel[1], out)]);
  }
  globalAvgPool(name: string, input: number, out: Out): number {
    const [, , h, w] = this.buffers[input].shape;
    return this.avgPool(name, input, { kernel: [h, w], stride: [h, w], padding: [0, 0] }, out);
  }
  cat(name: string, inputs: number[], axis: number, out: Out): number {
    const shape = [...this.buffers[inputs[0]].shape];
    shape[axis] = inputs.reduce((s, i) => s + this.buffers[i].shape[axis], 0);
    const requants = inputs.map((i) => requantOf(this.buffers[i].scale, 1, out, "none", "builder"));
    return this.emit(name, { op: "cat", inputs, axis, requants }, {
      shape,
      dtype: out.dtype,
      scale: Float32Array.of(out.scale),
    });
  }
  dequantize(name: string, input: number): number {
    return this.emit(name, { op: "dequantize", inputs: [input] }, {
      shape: this.buffers[input].shape,
      dtype: "float32",
      scale: Float32Array.of(1),
    });
  }
  build(name = "model"): Program {
    const program: Program = {
      name,
      march: "bayes",
      opt: "O0",
      inputShape: this.inputShape,
      buffers: this.buffers,
      instructions: this.instructions,
      output: this.buffers.length - 1,
    };
    verifyProgram(program, {
      fail: (m) => {
        throw new Error(m);
      },
    });
    return program;
  }
}

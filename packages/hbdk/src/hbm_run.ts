/**
 * The `.hbm` runtime on the CPU: executes a loaded program instruction by instruction in one arena
 * laid out by the program's memory plan, with `@hqat/qtensor`'s integer kernels and the stored
 * requantization parameters — the same integers as `runIntModel`.
 * @module
 */

import {
  dequantStub,
  intLinear,
  intMaxPool2d,
  intRelu,
  intRelu6,
  type Multiplier,
  type QArray,
  type QTensor,
  qtensor,
  quantStub,
  requantize,
} from "@hqat/qtensor";
import { intConv2dAccumulateFast } from "@hqat/tensor";
import type { BufferDtype, HbmBuffer, HbmProgram, Instr, Requant, Stage } from "./hbm_program.ts";

/**
 * An input `runHbm` cannot run (wrong shape or length); the message says what was expected.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { HbmRuntimeError } from "@hqat/hbdk";
 * assert(new HbmRuntimeError("x").name === "HbmRuntimeError");
 * ```
 */
export class HbmRuntimeError extends RangeError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "HbmRuntimeError";
  }
}

/**
 * The output of {@linkcode runHbm}: the dequantized float32 output, or with `raw` the integer
 * output before dequantization with its scale (one, or one per channel along axis 1).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import type { HbmRunResult } from "@hqat/hbdk";
 * const r: HbmRunResult = { data: new Float32Array(10), shape: [1, 10], dtype: "float32", scale: Float32Array.of(1) };
 * assert(r.shape[1] === 10);
 * ```
 */
export interface HbmRunResult {
  /** The output values: float32, or with `raw` the integer output. */
  readonly data: Float32Array | QArray;
  /** The output shape. */
  readonly shape: readonly number[];
  /** The dtype of `data`. */
  readonly dtype: BufferDtype;
  /** The output scale: one value, or one per channel along axis 1. */
  readonly scale: Float32Array;
}

interface Value {
  data: QArray | Float32Array;
  shape: readonly number[];
  dtype: BufferDtype;
  scale?: Float32Array;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const ARRAYS = { qint8: Int8Array, qint16: Int16Array, qint32: Int32Array, float32: Float32Array } as const;

function transpose(
  src: ArrayLike<number>,
  dst: { [i: number]: number },
  [n, c, h, w]: readonly number[],
  toNhwc: boolean,
) {
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < plane; p++) {
        const nchw = (b * c + ch) * plane + p, nhwc = (b * plane + p) * c + ch;
        if (toNhwc) dst[nhwc] = src[nchw];
        else dst[nchw] = src[nhwc];
      }
    }
  }
}

const mults = (r: Requant): Multiplier | Multiplier[] => {
  const m = Array.from(r.M, (M, c) => ({ M, n: r.n[c] }));
  return m.length === 1 ? m[0] : m;
};

function requantValue(v: Value, r: Requant): Value {
  const data = requantize(v.data, mults(r), {
    dtype: r.dtype,
    axis: 1,
    shape: v.shape,
    activation: r.act === "none" ? undefined : r.act,
    scale: r.scale.length === 1 ? r.scale[0] : r.scale,
  });
  return { data, shape: v.shape, dtype: r.dtype, scale: r.scale };
}

function addSum(shifted: ArrayLike<number>, other: ArrayLike<number>, k: number, t: number): Int32Array {
  const pk = 2 ** k, sum = new Int32Array(shifted.length);
  for (let i = 0; i < sum.length; i++) sum[i] = shifted[i] * pk + other[i] * t;
  return sum;
}

const asQ = (v: Value): QTensor =>
  qtensor(v.data as QArray, {
    shape: v.shape,
    scale: v.scale ?? 1,
    axis: v.scale && v.scale.length > 1 ? 1 : undefined,
  });

/** Runs one chunk of at most the compiled batch through the program in `arena`. */
class Machine {
  constructor(
    private readonly program: HbmProgram,
    private readonly arena: ArrayBuffer,
    private readonly n: number,
  ) {}

  shapeOf(b: HbmBuffer): number[] {
    return [this.n, ...b.shape.slice(1)];
  }

  view(b: HbmBuffer) {
    return new ARRAYS[b.dtype](this.arena, b.offset, size(this.shapeOf(b)));
  }

  read(id: number): Value {
    const b = this.program.buffers[id], shape = this.shapeOf(b);
    let data = this.view(b);
    if (b.layout === "nhwc" && shape.length === 4) {
      const out = new ARRAYS[b.dtype](data.length);
      transpose(data, out, shape, false);
      data = out;
    }
    return { data, shape, dtype: b.dtype, scale: b.scale };
  }

  write(id: number, v: Value): void {
    const b = this.program.buffers[id], shape = this.shapeOf(b), view = this.view(b);
    if (b.layout === "nhwc" && shape.length === 4) transpose(v.data, view, shape, true);
    else view.set(v.data);
  }

  execute(instr: Instr, input: Float32Array, inputShape: readonly number[]): void {
    let v = this.main(instr, input, inputShape);
    for (const s of instr.epilogue) v = this.stage(s, v);
    this.write(instr.output, v);
  }

  /** The exact int32 accumulation of a convolution (the WebAssembly kernels; same integers as qtensor's). */
  private accumulate(
    x: QTensor,
    w: QTensor,
    g: {
      stride: readonly [number, number];
      padding: readonly [number, number];
      dilation?: readonly [number, number];
      groups?: number;
      quantizedBias?: Int32Array;
    },
  ): { data: Int32Array; shape: number[] } {
    const geo = {
      stride: g.stride,
      padding: g.padding,
      dilation: g.dilation ?? [1, 1] as const,
      groups: g.groups ?? 1,
    };
    const [n, , h, wd] = x.shape, [o, , kh, kw] = w.shape;
    const oh = Math.floor((h + 2 * geo.padding[0] - geo.dilation[0] * (kh - 1) - 1) / geo.stride[0]) + 1;
    const ow = Math.floor((wd + 2 * geo.padding[1] - geo.dilation[1] * (kw - 1) - 1) / geo.stride[1]) + 1;
    const data = intConv2dAccumulateFast(
      x.data as Int8Array | Int16Array,
      x.shape,
      w.data as Int8Array,
      w.shape,
      geo,
      g.quantizedBias,
    );
    return { data, shape: [n, o, oh, ow] };
  }

  private conv(instr: Extract<Instr, { op: "conv2d" }>, x: QTensor): Value {
    const w = qtensor(instr.weight, { shape: instr.weightShape, scale: instr.weightScale, axis: 0 });
    const geometry = {
      stride: instr.stride,
      dilation: instr.dilation,
      groups: instr.groups,
      quantizedBias: instr.bias,
    };
    const [n, c, h, wd] = x.shape;
    const [o, , kh, kw] = instr.weightShape;
    const [sh, sw] = instr.stride, [ph, pw] = instr.padding, [dh, dw] = instr.dilation;
    const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
    const ow = Math.floor((wd + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
    if (instr.tileRows >= oh) {
      const whole = this.accumulate(x, w, { ...geometry, padding: instr.padding });
      return { data: whole.data, shape: whole.shape, dtype: "qint32" };
    }
    // Tiles of output rows: each reads its input rows (with the halo; rows outside the image are
    // the zero padding) and is accumulated with vertical padding 0.
    const acc = new Int32Array(n * o * oh * ow);
    for (let r0 = 0; r0 < oh; r0 += instr.tileRows) {
      const r1 = Math.min(oh, r0 + instr.tileRows);
      const lo = r0 * sh - ph, rows = (r1 - 1 - r0) * sh + (kh - 1) * dh + 1;
      const tile = new (x.data.constructor as Int8ArrayConstructor)(n * c * rows * wd);
      for (let p = 0; p < n * c; p++) {
        for (let r = 0; r < rows; r++) {
          const y = lo + r;
          if (y < 0 || y >= h) continue;
          tile.set(x.data.subarray((p * h + y) * wd, (p * h + y + 1) * wd), (p * rows + r) * wd);
        }
      }
      const t = qtensor(tile, { shape: [n, c, rows, wd], scale: x.scale });
      const part = this.accumulate(t, w, { ...geometry, padding: [0, pw] });
      for (let p = 0; p < n * o; p++) {
        acc.set(part.data.subarray(p * (r1 - r0) * ow, (p + 1) * (r1 - r0) * ow), (p * oh + r0) * ow);
      }
    }
    return { data: acc, shape: [n, o, oh, ow], dtype: "qint32" };
  }

  private main(instr: Instr, input: Float32Array, inputShape: readonly number[]): Value {
    const ins = instr.inputs.map((id) => this.read(id));
    switch (instr.op) {
      case "quantize": {
        const dtype = this.program.buffers[instr.output].dtype as "qint8" | "qint16";
        const q = quantStub(input, { shape: inputShape, scale: instr.scale, dtype });
        return { data: q.data, shape: q.shape, dtype, scale: q.scale };
      }
      case "conv2d":
        return this.conv(instr, asQ(ins[0]));
      case "linear": {
        const x = ins[0], k = instr.weightShape[1];
        const w = qtensor(instr.weight, { shape: instr.weightShape, scale: instr.weightScale, axis: 0 });
        const y = intLinear(asQ({ ...x, shape: [this.n, k] }), w, {
          quantizedBias: instr.bias,
          output: { dtype: "qint32" },
        });
        return { data: y.data, shape: y.shape, dtype: "qint32" };
      }
      case "add": {
        const [a, b] = instr.shiftSecond ? [ins[1], ins[0]] : [ins[0], ins[1]];
        return { data: addSum(a.data, b.data, instr.k, instr.t), shape: a.shape, dtype: "qint32" };
      }
      case "avg_pool2d": {
        // The window sum (padding counted as zeros) is a depthwise convolution with all-one weights.
        const x = asQ(ins[0]), c = x.shape[1], [kh, kw] = instr.kernel;
        const ones = qtensor(new Int8Array(c * kh * kw).fill(1), { shape: [c, 1, kh, kw], scale: 1 });
        const acc = this.accumulate(x, ones, { stride: instr.stride, padding: instr.padding, groups: c });
        return { data: acc.data, shape: acc.shape, dtype: "qint32" };
      }
      case "max_pool2d": {
        const y = intMaxPool2d(asQ(ins[0]), {
          kernelSize: instr.kernel,
          stride: instr.stride,
          padding: instr.padding,
        });
        return { data: y.data, shape: y.shape, dtype: ins[0].dtype, scale: ins[0].scale };
      }
      case "cat": {
        const parts = ins.map((t, i) => requantValue(t, instr.requants[i]));
        const axis = instr.axis, shape = [...ins[0].shape];
        shape[axis] = ins.reduce((s, t) => s + t.shape[axis], 0);
        const inner = size(shape.slice(axis + 1)), outer = size(shape.slice(0, axis));
        const out = new ARRAYS[parts[0].dtype](size(shape));
        let at = 0;
        for (let r = 0; r < outer; r++) {
          for (const [i, p] of parts.entries()) {
            const len = ins[i].shape[axis] * inner;
            out.set(p.data.subarray(r * len, (r + 1) * len), at);
            at += len;
          }
        }
        return { data: out, shape, dtype: parts[0].dtype, scale: parts[0].scale };
      }
      case "move":
        return ins[0];
      case "dequantize":
        return { data: dequantStub(asQ(ins[0])), shape: ins[0].shape, dtype: "float32" };
    }
  }

  private stage(s: Stage, v: Value): Value {
    switch (s.kind) {
      case "requant":
        return requantValue(v, s);
      case "add": {
        const a = this.read(s.addend);
        const [x, y] = s.shiftAddend ? [a, v] : [v, a];
        return { data: addSum(x.data, y.data, s.k, s.t), shape: v.shape, dtype: "qint32" };
      }
      case "relu":
      case "relu6": {
        const q = (s.kind === "relu" ? intRelu : intRelu6)(asQ(v));
        return { ...v, data: q.data };
      }
    }
  }
}

/**
 * Runs a loaded program on a float32 NCHW input of any batch: the input is cut into runs of the
 * compiled batch (the arena is planned for it), each executed instruction by instruction, and the
 * outputs joined. Returns the dequantized output, or with `raw` the integer output before
 * dequantization. Throws an {@linkcode HbmRuntimeError} when the input does not match the
 * compiled input shape past dimension 0 or its length.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { encodeHbm, loadHbm, runHbm, type HbmProgram } from "@hqat/hbdk";
 * const p: HbmProgram = {
 *   name: "tiny", march: "bayes", opt: "O0", inputSource: "ddr", inputShape: [1, 2], arenaBytes: 128, output: 1,
 *   buffers: [
 *     { name: "q", shape: [1, 2], dtype: "qint8", scale: Float32Array.of(0.5), layout: "nchw", offset: 0, bytes: 2 },
 *     { name: "d", shape: [1, 2], dtype: "float32", scale: Float32Array.of(1), layout: "nchw", offset: 64, bytes: 8 },
 *   ],
 *   instructions: [
 *     { op: "quantize", name: "q", inputs: [], output: 0, epilogue: [{ kind: "relu" }], scale: 0.5 },
 *     { op: "dequantize", name: "d", inputs: [0], output: 1, epilogue: [] },
 *   ],
 * };
 * const program = loadHbm(encodeHbm(p));
 * const y = runHbm(program, Float32Array.of(0.74, -3, 9, 1), [2, 2]);
 * assert(y.data.join() === "0.5,0,9,1" && y.shape.join() === "2,2");
 * assert(runHbm(program, Float32Array.of(0.74, -3), [1, 2], { raw: true }).data.join() === "1,0");
 * ```
 */
export function runHbm(
  program: HbmProgram,
  input: Float32Array,
  shape: readonly number[],
  options: { readonly raw?: boolean } = {},
): HbmRunResult {
  const want = program.inputShape;
  if (shape.length !== want.length || shape.some((d, i) => i > 0 && d !== want[i]) || !(shape[0] >= 1)) {
    throw new HbmRuntimeError(
      `runHbm: the input [${shape}] does not match the compiled input [N,${want.slice(1)}]`,
    );
  }
  if (!Number.isSafeInteger(shape[0]) || input.length !== size(shape)) {
    throw new HbmRuntimeError(
      `runHbm: the input has ${input.length} values, but [${shape}] needs ${size(shape)}`,
    );
  }
  const dq = program.instructions.find((i) => i.op === "dequantize")!;
  const target = options.raw ? program.buffers[dq.inputs[0]] : program.buffers[program.output];
  const id = options.raw ? dq.inputs[0] : program.output;
  const total = shape[0], perFrame = size(target.shape.slice(1)), frame = size(shape.slice(1));
  const out = new ARRAYS[target.dtype](total * perFrame);
  const arena = new ArrayBuffer(program.arenaBytes);
  for (let start = 0; start < total; start += want[0]) {
    const n = Math.min(want[0], total - start);
    const m = new Machine(program, arena, n);
    const chunk = input.subarray(start * frame, (start + n) * frame);
    for (const instr of program.instructions) m.execute(instr, chunk, [n, ...want.slice(1)]);
    out.set(m.read(id).data, start * perFrame);
  }
  return { data: out, shape: [total, ...target.shape.slice(1)], dtype: target.dtype, scale: target.scale };
}

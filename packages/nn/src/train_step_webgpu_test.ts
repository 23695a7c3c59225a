/**
 * The MobileNetV2 training step on WebGPU against the CPU reference: loss, logits, every gradient, the
 * batch-norm statistics and the optimizer's update agree within float tolerance; a long run keeps the
 * GPU's buffer count and bytes constant.
 * @module
 */
import { assert } from "@std/assert";
import {
  disposeTree,
  fromArray,
  observeOps,
  type OpName,
  probeWebGpu,
  randomKey,
  randomNormal,
  runOpOnGpu,
  stateToDevice,
  type Tensor,
  tidy,
  toDevice,
  WebGpuDevice,
} from "@hqat/tensor";
import { adam, adamw, createTrainState, initState, makeTrainStep, mobilenetV2, sgd } from "../mod.ts";
import { BatchNorm2d, Conv2d, Flatten, Linear, ReLU } from "./layers.ts";
import { Sequential } from "./containers.ts";

const GPU = (await probeWebGpu()).available;
const OPTS = { ignore: !GPU, sanitizeResources: false, sanitizeOps: false };

/** The largest absolute element of `a` and the largest element difference between `a` and `b`. */
function spread(a: ArrayLike<number>, b: ArrayLike<number>): { scale: number; diff: number } {
  let scale = 0, diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return { scale, diff };
}

function l2(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/**
 * The magnitude an op output's rounding error scales with: its largest element, or, for the batch-norm
 * gradient's per-channel sums dγ = Σ dy·x̂ and dβ = Σ dy (which cancel to nearly nothing where the
 * next layer normalizes again), the size of the summed terms.
 */
function errorScale(op: OpName, k: number, inputs: readonly Tensor[], out: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < out.length; i++) scale = Math.max(scale, Math.abs(out[i]));
  if (op !== "batchNormTrainBackward" || k === 0) return scale;
  const [dy, , , x, , mean, variance] = inputs;
  const c = x.shape[1], hw = x.size / (x.shape[0] * c);
  const terms = new Float64Array(c);
  for (let i = 0; i < x.size; i++) {
    const ch = Math.floor(i / hw) % c;
    const xhat = k === 1 ? Math.abs(x.data[i] - mean.data[ch]) / Math.sqrt(variance.data[ch] + 1e-5) : 1;
    terms[ch] += Math.abs(dy.data[i]) * xhat;
  }
  return Math.max(scale, ...terms);
}

function batch(n: number) {
  const x = randomNormal(randomKey(1), [n, 3, 32, 32]);
  const y = fromArray(Int32Array.from({ length: n }, (_, i) => (i * 7) % 10), [n]);
  return { x, y };
}

Deno.test({
  name: "MobileNetV2 training step, op by op: every GPU kernel equals the CPU on the step's own operands",
  ...OPTS,
  fn: async () => {
    const dev = await WebGpuDevice.create();
    try {
      const model = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
      const s0 = initState(model, randomKey(3));
      const { x, y } = batch(4);
      const opt = adam({ lr: 1e-3, weightDecay: 1e-3 });
      const step = makeTrainStep(model, opt);
      const ops: { op: OpName; inputs: readonly Tensor[]; attrs: unknown; outputs: readonly Tensor[] }[] = [];
      observeOps(
        (op, inputs, attrs, outputs) => void ops.push({ op, inputs, attrs, outputs }),
        () => step(createTrainState(model, s0, opt), x, y, { key: randomKey(4) }),
      );
      const seen = new Set<string>();
      for (const r of ops) {
        const outs = await runOpOnGpu(dev, r.op, r.inputs, r.attrs as never, r.outputs);
        seen.add(r.op);
        r.outputs.forEach((o, k) => {
          const d = spread(o.data, outs[k]);
          const scale = errorScale(r.op, k, r.inputs, o.data);
          const tol = o.dtype === "float32" ? 1e-4 * scale + 1e-7 : 0;
          assert(
            d.diff <= tol,
            `${r.op} output ${k} [${o.shape}]: differs by ${d.diff} (magnitude ${scale})`,
          );
        });
      }
      // Forward and backward went through the replay (the optimizer has its own test below).
      for (
        const op of [
          "conv2d",
          "conv2dBackwardInput",
          "conv2dBackwardWeight",
          "batchNormTrainBackward",
        ]
      ) {
        assert(seen.has(op), `the step ran no ${op}`);
      }
    } finally {
      dev.destroy();
    }
  },
});

Deno.test({
  name:
    "MobileNetV2 training step on WebGPU, end to end: loss, logits, BN statistics and parameter updates match the CPU",
  ...OPTS,
  fn: async () => {
    const dev = await WebGpuDevice.create();
    try {
      const model = mobilenetV2({ numClasses: 10, quantStubScale: 1 / 128 });
      const s0 = initState(model, randomKey(3));
      const { x, y } = batch(8);
      // SGD makes each update −lr · gradient, so updates compare the gradients.
      const opt = sgd({ lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
      const step = makeTrainStep(model, opt);
      const key = randomKey(4);
      const cpu = step(createTrainState(model, s0, opt), x, y, { key });
      const ts = createTrainState(model, stateToDevice(s0, dev), opt);
      const gpu = tidy(() => step(ts, toDevice(x, dev), y, { key }));
      assert(gpu.logits.device === "webgpu" && gpu.state.params["features.0.0.weight"].device === "webgpu");
      for (
        const [name, a, b] of [["loss", cpu.lossTensor!, gpu.lossTensor!], [
          "logits",
          cpu.logits,
          gpu.logits,
        ]] as const
      ) {
        const d = spread(a.data, await b.read());
        assert(d.diff <= 1e-4 * d.scale, `${name}: differs by ${d.diff} (magnitude ${d.scale})`);
      }
      for (const [k, a] of Object.entries(cpu.state.buffers)) {
        if (a.dtype !== "float32") continue;
        const d = spread(a.data, await gpu.state.buffers[k].read());
        assert(d.diff <= 1e-4 * d.scale + 1e-6, `buffer ${k}: differs by ${d.diff} (magnitude ${d.scale})`);
      }
      // Backpropagation through batch norm over few values (the last blocks are 1×1 per image) cancels
      // heavily, so float32 rounding that differs in the last place at each op moves gradients by up to
      // a few parts in a thousand: compare update directions. Updates that are zero in exact arithmetic
      // (biases of batch norms whose output only feeds another batch norm) are rounding noise on both.
      const updates = new Map<string, { u: Float32Array; v: Float32Array; norm: number }>();
      let largest = 0;
      for (const [k, p] of Object.entries(cpu.state.params)) {
        const p0 = s0[k].data, a = p.data, b = await gpu.state.params[k].read();
        const u = new Float32Array(a.length), v = new Float32Array(a.length);
        for (let i = 0; i < a.length; i++) (u[i] = a[i] - p0[i]), (v[i] = b[i] - p0[i]);
        const norm = l2(u);
        largest = Math.max(largest, norm);
        updates.set(k, { u, v, norm });
      }
      let compared = 0;
      for (const [k, { u, v, norm }] of updates) {
        const normV = l2(v);
        if (norm < 1e-5 * largest) {
          assert(
            normV < 1e-4 * largest,
            `${k}: the CPU's update is noise (${norm}) but the GPU's is ${normV}`,
          );
          continue;
        }
        let dot = 0;
        for (let i = 0; i < u.length; i++) dot += u[i] * v[i];
        const cos = dot / (norm * normV);
        assert(
          cos > 0.995 && Math.abs(normV / norm - 1) < 0.03,
          `${k}: update cosine ${cos}, norms ${norm} vs ${normV}`,
        );
        compared++;
      }
      assert(compared >= 130, `only ${compared} of ${updates.size} parameter updates compared`);
    } finally {
      dev.destroy();
    }
  },
});

Deno.test({
  name: "Adam and SGD on device tensors equal their fused CPU loops",
  ...OPTS,
  fn: async () => {
    const dev = await WebGpuDevice.create();
    try {
      const p = { w: randomNormal(randomKey(5), [1000]) };
      const g = { w: randomNormal(randomKey(6), [1000]) };
      for (
        const opt of [
          adam({ lr: 1e-3, weightDecay: 1e-3 }),
          adamw({ lr: 1e-3, amsgrad: true }),
          sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }),
        ]
      ) {
        let sc = opt.step(p, g, opt.init(p));
        let sg = opt.step(stateToDevice(p, dev), stateToDevice(g, dev), opt.init(p));
        for (let i = 0; i < 3; i++) {
          sc = opt.step(sc.params, g, sc.state);
          sg = opt.step(sg.params, stateToDevice(g, dev), sg.state);
        }
        const d = spread(sc.params.w.data, await sg.params.w.read());
        assert(d.diff <= 1e-6 * d.scale, `${opt.name}: parameters differ by ${d.diff}`);
        for (const slot of opt.slots) {
          const s = spread(sc.state.slots[slot].w.data, await sg.state.slots[slot].w.read());
          assert(s.diff <= 1e-6 * s.scale, `${opt.name}: ${slot} differs by ${s.diff}`);
        }
      }
    } finally {
      dev.destroy();
    }
  },
});

Deno.test({
  name: "1,000 training steps on WebGPU: the buffer count and bytes stop growing",
  ...OPTS,
  fn: async () => {
    const dev = await WebGpuDevice.create();
    try {
      const model = new Sequential(
        new Conv2d(1, 4, 3, { padding: 1, bias: false }),
        new BatchNorm2d(4),
        new ReLU(),
        new Flatten(),
        new Linear(4 * 6 * 6, 3),
      );
      const opt = adam({ lr: 1e-2 });
      const step = makeTrainStep(model, opt);
      let ts = createTrainState(model, stateToDevice(initState(model, randomKey(7)), dev), opt);
      const x = toDevice(randomNormal(randomKey(8), [2, 1, 6, 6]), dev);
      const y = fromArray(Int32Array.of(0, 2), [2]);
      const seen: { buffers: number; bytes: number; inUse: number }[] = [];
      let first = 0, last = 0;
      for (let i = 0; i < 1000; i++) {
        const out = tidy(() => step(ts, x, y, { key: randomKey(i) }));
        disposeTree(ts, out.state);
        const loss = (await out.lossTensor!.read())[0];
        out.lossTensor!.dispose();
        out.logits.dispose();
        ts = out.state;
        if (i === 0) first = loss;
        last = loss;
        if (i % 100 === 99) {
          const s = dev.stats();
          seen.push({ buffers: s.buffers, bytes: s.bytes, inUse: s.inUse });
        }
      }
      // After the first hundred steps nothing grows.
      for (const s of seen.slice(1)) {
        assert(
          s.buffers === seen[0].buffers && s.bytes === seen[0].bytes && s.inUse === seen[0].inUse,
          `GPU memory grew: ${JSON.stringify(seen)}`,
        );
      }
      assert(last < first, `training did not lower the loss: ${first} -> ${last}`);
    } finally {
      dev.destroy();
    }
  },
});

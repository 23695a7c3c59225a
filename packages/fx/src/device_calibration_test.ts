/**
 * Calibration on WebGPU gives the CPU's calibrated state bit for bit, for every calibration method:
 * observer by observer over random batches (the input QuantStub's observer sees the batch itself), and
 * for a small network whose activations and per-channel weights are all observed.
 * @module
 */
import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { March } from "@hqat/march-bayes";
import {
  Conv2d,
  DeQuantStub,
  initState,
  MaxPool2d,
  type Module,
  QuantStub,
  ReLU,
  ReLU6,
  Sequential,
  type StateDict,
} from "@hqat/nn";
import { CALIB_METHODS, type CalibMethod, calibQConfigFor, FakeQuantState } from "@hqat/qtensor";
import {
  fromArray,
  probeWebGpu,
  randomKey,
  randomNormal,
  type Tensor,
  toDevice,
  WebGpuDevice,
} from "@hqat/tensor";
import { forward } from "@hqat/nn";
import { calibrateBatchesOnDevice } from "./device_calibration.ts";
import { ptqMix, ptqMixOnDevice } from "./calib_search.ts";
import { calibrateBatches, ptq, ptqOnDevice } from "./ptq.ts";
import { prepareQatFx, qatStateFromFloat, setFakeQuantize } from "./qat_model.ts";

const GPU = (await probeWebGpu()).available;
const OPTS = { ignore: !GPU, sanitizeResources: false, sanitizeOps: false };

/** Each state entry's bits, so that -0 and +0 (and NaN payloads) differ. */
function stateBits(s: StateDict): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(s)) {
    const d = t.data;
    out[k] = d instanceof Float32Array
      ? Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length))
      : Array.from(d);
  }
  return out;
}

function prepare(float: Module, method: CalibMethod, example: Tensor) {
  const calib = prepareQatFx(float, { "": calibQConfigFor(method) }, {
    march: March.BAYES,
    exampleInput: example,
    warn: () => {},
  });
  return { calib, s0: qatStateFromFloat(calib, initState(float, randomKey(0))) };
}

/** Values that matter to the observers: zeros of both signs, histogram bin edges, subnormals, outliers. */
const value = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 2 ** -140, 1000),
  fc.integer({ min: 0, max: 2048 }).map((j) => Math.fround(j / 2048)),
  fc.float({ min: -4, max: 4, noNaN: true }),
);

Deno.test({
  name: "calibrateBatchesOnDevice() leaves each method's observer state bit for bit as on the CPU",
  ...OPTS,
  async fn() {
    const dev = await WebGpuDevice.create();
    const float = new Sequential(new QuantStub(), new DeQuantStub());
    try {
      for (const method of CALIB_METHODS) {
        const { calib, s0 } = prepare(float, method, fromArray(new Float32Array(4), [1, 1, 1, 4]));
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.array(value, { minLength: 1, maxLength: 3000 }), { minLength: 1, maxLength: 3 }),
            fc.boolean(),
            async (batches, constant) => {
              const xs = batches.map((b) => {
                const v = Float32Array.from(constant ? b.map(() => b[0]) : b);
                return fromArray(v, [1, 1, 1, v.length]);
              });
              const cpu = calibrateBatches(calib, s0, xs);
              const gpu = await calibrateBatchesOnDevice(calib, s0, xs, dev);
              assertEquals(stateBits(gpu), stateBits(cpu), method);
            },
          ),
          { seed: 3, numRuns: method === "mse" ? 8 : 15 },
        );
      }
    } finally {
      dev.destroy();
    }
  },
});

/**
 * A network whose float ops are each one correctly rounded operation per value (1×1 convolutions of one
 * input channel, clamps, max pooling), so both backends give the observers the same activations; a
 * convolution summing several products may differ in the last bit between backends.
 */
function exactNetwork(): Module {
  return new Sequential(
    new QuantStub(),
    new Conv2d(1, 8, 1, { bias: false }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(8, 8, 1, { groups: 8, bias: false }),
    new ReLU6(),
    new DeQuantStub(),
  );
}

Deno.test({
  name: "calibrateBatchesOnDevice() calibrates a network's activations and weights bit for bit as on the CPU",
  ...OPTS,
  async fn() {
    const float = exactNetwork();
    const xs = [1, 2, 3].map((k) => randomNormal(randomKey(k), [2, 1, 24, 24]));
    const dev = await WebGpuDevice.create();
    try {
      for (const method of CALIB_METHODS) {
        const { calib, s0 } = prepare(float, method, xs[0]);
        const cpu = calibrateBatches(calib, s0, xs);
        const gpu = await calibrateBatchesOnDevice(
          calib,
          s0,
          (async function* () {
            for (const x of xs) yield toDevice(x, dev);
          })(),
          dev,
        );
        assertEquals(stateBits(gpu), stateBits(cpu), method);
      }
    } finally {
      dev.destroy();
    }
  },
});

Deno.test({
  name: "ptqOnDevice() and ptqMixOnDevice() give ptq()'s and ptqMix()'s state, choices and fixed-point model",
  ...OPTS,
  async fn() {
    const float = exactNetwork(), floatState = initState(float, randomKey(0));
    const x = randomNormal(randomKey(4), [6, 1, 16, 16]);
    const common = { march: March.BAYES, batchSize: 4, warn: () => {} };
    const dev = await WebGpuDevice.create();
    try {
      const opts = { ...common, qconfig: { "": calibQConfigFor("kl") } };
      const cpu = ptq(float, floatState, x, opts);
      const gpu = await ptqOnDevice(float, floatState, x, { ...opts, device: dev });
      assertEquals([gpu.batches, gpu.images], [2, 6]);
      assertEquals(stateBits(gpu.state), stateBits(cpu.state));
      assertEquals(JSON.stringify(gpu.intModel), JSON.stringify(cpu.intModel));
      const mixOpts = { ...common, qconfig: (m: CalibMethod) => ({ "": calibQConfigFor(m) }) };
      const mix = ptqMix(float, floatState, x, mixOpts);
      const mixGpu = await ptqMixOnDevice(float, floatState, x, { ...mixOpts, device: dev });
      assertEquals(mixGpu.choice, mix.choice);
      assertEquals(mixGpu.methodError, mix.methodError);
      assertEquals(stateBits(mixGpu.state), stateBits(mix.state));
    } finally {
      dev.destroy();
    }
  },
});

Deno.test({
  name:
    "a histogram observer on WebGPU refuses to update outside calibrateBatchesOnDevice(), naming the quantizer",
  ...OPTS,
  async fn() {
    const float = new Sequential(new QuantStub(), new DeQuantStub());
    const x = fromArray(Float32Array.of(1, -2, 3, 4), [1, 1, 1, 4]);
    const { calib, s0 } = prepare(float, "percentile", x);
    const dev = await WebGpuDevice.create();
    try {
      const cm = setFakeQuantize(calib, FakeQuantState.CALIBRATION);
      assertThrows(() => forward(cm, s0, toDevice(x, dev)), RangeError, "calibrateBatchesOnDevice()");
      // Frozen (VALIDATION), its scale comes from the state on the device, as a MinMax observer's.
      const vm = setFakeQuantize(calib, FakeQuantState.VALIDATION);
      const state = calibrateBatches(calib, s0, [x]);
      assertEquals(
        Array.from(await forward(vm, state, toDevice(x, dev)).y.read()),
        Array.from(forward(vm, state, x).y.data),
      );
    } finally {
      dev.destroy();
    }
  },
});

/**
 * QAT on WebGPU: the MinMax observers' running state and scales stay on the device (no read back per
 * step) and follow the CPU's observers; a QAT training step with the state on the device gives the CPU's
 * loss and keeps every parameter, buffer and observer state on the device.
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { March } from "@hqat/march-bayes";
import {
  adam,
  BatchNorm2d,
  Conv2d,
  createTrainState,
  DeQuantStub,
  Flatten,
  initState,
  Linear,
  makeTrainStep,
  modelState,
  QuantStub,
  ReLU6,
  Sequential,
  trainStateToCpu,
  trainStateToDevice,
} from "@hqat/nn";
import { default_qat_8bit_fake_quant_qconfig as q8, FakeQuantState, minMaxObserver } from "@hqat/qtensor";
import {
  fromArray,
  probeWebGpu,
  randomKey,
  randomNormal,
  tensor,
  toCpu,
  toDevice,
  WebGpuDevice,
} from "@hqat/tensor";
import { observeMinMax } from "./device_observer.ts";
import { calibrateBatches } from "./ptq.ts";
import { prepareQatFx, qatStateFromFloat, setFakeQuantize } from "./qat_model.ts";

const GPU = (await probeWebGpu()).available;
const OPTS = { ignore: !GPU, sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "observeMinMax() on WebGPU gives the CPU observer's running min and max bit for bit, and its scale",
  ...OPTS,
  async fn() {
    const dev = await WebGpuDevice.create();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(fc.float({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 40 }), {
            minLength: 1,
            maxLength: 4,
          }),
          fc.constantFrom(0.01, 0.5, 1),
          async (batches, c) => {
            const cpu = minMaxObserver({ averagingConstant: c });
            let st = cpu.initialState;
            const nan = fromArray(Float32Array.of(NaN), [1]);
            let dstate = { min: toDevice(nan, dev), max: toDevice(nan, dev) };
            let scale = undefined as unknown as Awaited<ReturnType<typeof toCpu>>;
            for (const b of batches) {
              st = cpu.update(st, Float32Array.from(b));
              const r = observeMinMax(toDevice(tensor(b), dev), dstate, {
                averagingConstant: c,
                perChannel: false,
                qmin: -128,
                qmax: 127,
              }, true);
              dstate = r.state;
              scale = await toCpu(r.scale);
            }
            assertEquals((await toCpu(dstate.min)).data, st.min);
            assertEquals((await toCpu(dstate.max)).data, st.max);
            const want = cpu.scale(st)[0], got = scale.data[0];
            // WGSL's float division may differ from the correctly rounded one by an ulp or two.
            assert(Math.abs(got - want) <= 4 * 2 ** -23 * want, `${got} vs ${want}`);
          },
        ),
        { numRuns: 25, seed: 11 },
      );
    } finally {
      dev.destroy();
    }
  },
});

Deno.test({
  name: "a QAT step runs on WebGPU with its state on the device, with the CPU's loss",
  ...OPTS,
  async fn() {
    const float = new Sequential(
      new QuantStub({ scale: 1 / 64 }),
      new Conv2d(3, 8, 3, { padding: 1, bias: false }),
      new BatchNorm2d(8),
      new ReLU6(),
      new Conv2d(8, 8, 3, { padding: 1, groups: 8, bias: false }),
      new BatchNorm2d(8),
      new ReLU6(),
      new Flatten(),
      new Linear(8 * 8 * 8, 4),
      new DeQuantStub(),
    );
    const x = randomNormal(randomKey(1), [4, 3, 8, 8]), y = tensor([0, 1, 2, 3], { dtype: "int32" });
    const qat = prepareQatFx(float, { "": q8 }, { march: March.BAYES, exampleInput: x, warn: () => {} });
    const state = calibrateBatches(qat, qatStateFromFloat(qat, initState(float, randomKey(0))), [x]);
    const qm = setFakeQuantize(qat, FakeQuantState.QAT), opt = adam({ lr: 1e-3 });
    const step = makeTrainStep(qm, opt);
    const cpu = step(createTrainState(qm, state, opt), x, y, { key: randomKey(5) });
    const dev = await WebGpuDevice.create();
    try {
      const ts = trainStateToDevice(createTrainState(qm, state, opt), dev);
      const gpu = step(ts, toDevice(x, dev), toDevice(y, dev), { key: randomKey(5) });
      for (const [k, t] of Object.entries({ ...gpu.state.params, ...gpu.state.buffers })) {
        // Batch norm's step counter is an integer the host keeps.
        if (!k.endsWith("num_batches_tracked")) assertEquals(t.device, "webgpu", k);
      }
      const loss = (await gpu.lossTensor!.read())[0];
      assert(Math.abs(loss - cpu.loss) <= 1e-5 * Math.abs(cpu.loss), `${loss} vs ${cpu.loss}`);
      // The first quantized activation sees the same input on both: its observer moved alike.
      const a = modelState(qm, cpu.state), b = modelState(qm, await trainStateToCpu(gpu.state));
      const first = "1.activation_post_process";
      for (const k of ["min_val", "max_val"]) {
        const p = a[`${first}.${k}`].item(), q = b[`${first}.${k}`].item();
        assert(Math.abs(p - q) <= 1e-5 * Math.abs(p), `${first}.${k}: ${q} vs ${p}`);
      }
    } finally {
      dev.destroy();
    }
  },
});

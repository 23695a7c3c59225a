/**
 * Every fixture network, imported, computes PyTorch's output and onnxruntime's within 1e-4 relative, on
 * the CPU and on WebGPU; together the fixtures use every supported operator of the list.
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { forward } from "@hqat/nn";
import { probeWebGpu, stateToDevice, toDevice, WebGpuDevice } from "@hqat/tensor";
import { decodeOnnx } from "./proto.ts";
import { loadOnnx } from "./load.ts";
import { fixtureData, fixtures, ORT_AVAILABLE, ortOutput, relativeDifference } from "./fixture_util.ts";

const TOLERANCE = 1e-4;
const GPU = (await probeWebGpu()).available;
const FIXTURES = await fixtures();

/** The operators the fixtures must use between them (the list). */
const REQUIRED = [
  "Conv",
  "ConvTranspose",
  "Gemm",
  "MatMul",
  "BatchNormalization",
  "Relu",
  "Clip",
  "LeakyRelu",
  "Sigmoid",
  "HardSigmoid",
  "HardSwish",
  "Tanh",
  "Softmax",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Concat",
  "Split",
  "Slice",
  "Reshape",
  "Transpose",
  "Flatten",
  "Squeeze",
  "Unsqueeze",
  "MaxPool",
  "AveragePool",
  "GlobalAveragePool",
  "ReduceMean",
  "Resize",
  "Upsample",
  "Pad",
  "Dropout",
  "Shape",
  "Gather",
  "Cast",
  "Constant",
];

Deno.test("the fixtures use every operator of the issue's list and opsets from 9 to 17", async () => {
  const seen = new Set<string>();
  for (const f of FIXTURES) {
    const m = decodeOnnx((await fixtureData(f.name)).bytes);
    assertEquals(m.opset, f.opset);
    for (const n of m.graph.nodes) seen.add(n.opType);
  }
  // Identity nodes are written by PyTorch in some exports; the reader's own tests cover them.
  const missing = REQUIRED.filter((op) => !seen.has(op));
  assertEquals(missing, []);
  const opsets = new Set(FIXTURES.map((f) => f.opset));
  for (const o of [9, 11, 12, 13, 14, 15, 16, 17]) assert(opsets.has(o), `no fixture at opset ${o}`);
});

for (const f of FIXTURES) {
  Deno.test(`loadOnnx() on ${f.name} (opset ${f.opset}) computes PyTorch's output on the CPU`, async () => {
    const { bytes, input, torch } = await fixtureData(f.name);
    const model = loadOnnx(bytes, { source: `${f.name}.onnx` });
    const { y } = forward(model, model.initialState(), input);
    assertEquals(y.shape, torch.shape);
    const d = relativeDifference(y.data, torch.data);
    assert(d <= TOLERANCE, `${f.name}: ${d.toExponential(2)} from PyTorch`);
  });

  Deno.test({
    name: `loadOnnx() on ${f.name} computes onnxruntime's output on the CPU`,
    ignore: !ORT_AVAILABLE,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const { bytes, input, torch } = await fixtureData(f.name);
      const ort = await ortOutput(bytes, input);
      assertEquals(ort.shape, torch.shape);
      const model = loadOnnx(bytes, { source: `${f.name}.onnx` });
      const { y } = forward(model, model.initialState(), input);
      const d = relativeDifference(y.data, ort.data);
      assert(d <= TOLERANCE, `${f.name}: ${d.toExponential(2)} from onnxruntime`);
      // The references agree with each other, so both comparisons mean something.
      assert(
        relativeDifference(ort.data, torch.data) <= TOLERANCE,
        `${f.name}: onnxruntime differs from PyTorch`,
      );
    },
  });

  Deno.test({
    name: `loadOnnx() on ${f.name} computes the same output on WebGPU`,
    ignore: !GPU,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const { bytes, input, torch } = await fixtureData(f.name);
      const model = loadOnnx(bytes, { source: `${f.name}.onnx` });
      const dev = await WebGpuDevice.create();
      try {
        const state = stateToDevice(model.initialState(), dev);
        const { y } = forward(model, state, toDevice(input, dev));
        assertEquals(y.device, "webgpu");
        const got = await y.read();
        const cpu = forward(model, model.initialState(), input).y;
        const d = relativeDifference(got, torch.data);
        assert(d <= TOLERANCE, `${f.name}: ${d.toExponential(2)} from PyTorch on WebGPU`);
        assert(relativeDifference(got, cpu.data) <= TOLERANCE, `${f.name}: WebGPU differs from the CPU`);
      } finally {
        dev.destroy();
      }
    },
  });
}

import fc from "fast-check";
import { fromArray } from "../tensor.ts";
import { assertClose, GPU_FC, GPU_TEST, randomTensor, runBoth } from "./gpu_test_util.ts";

const bnShape = fc.oneof(
  fc.tuple(
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 1, max: 6 }),
  ),
  fc.tuple(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 5 })),
).map((s) => [...s]);

/**
 * batchNormTrain on a random `s`-shaped input (with `clampMax` when given) and then its backward kernel on
 * random cotangents (with the clamped output as the eighth input), each on the GPU and the CPU, compared.
 */
async function checkBatchNorm(s: number[], seed: number, clampMax?: number): Promise<void> {
  const c = s[1];
  const x = randomTensor("float32", s, seed, -3, 3);
  const gamma = randomTensor("float32", [c], seed + 1), beta = randomTensor("float32", [c], seed + 2);
  const attrs = clampMax === undefined ? { eps: 1e-5 } : { eps: 1e-5, clampMax };
  const f = await runBoth("batchNormTrain", [x, gamma, beta], attrs);
  for (let k = 0; k < 3; k++) {
    assertClose(f.gpu[k], f.cpu[k], { abs: 1e-5 }, `batchNormTrain output ${k}`);
  }
  const ins = [
    randomTensor("float32", s, seed + 3),
    randomTensor("float32", [c], seed + 4),
    randomTensor("float32", [c], seed + 5),
    x,
    gamma,
    fromArray(f.cpu[1], [c]),
    fromArray(f.cpu[2], [c]),
    ...(clampMax === undefined ? [] : [fromArray(f.cpu[0], s)]),
  ];
  const b = await runBoth("batchNormTrainBackward", ins, attrs);
  const count = s.reduce((p, d) => p * d, 1) / c;
  assertClose(b.gpu[0], b.cpu[0], { abs: 1e-5 }, "dx");
  assertClose(b.gpu[1], b.cpu[1], { abs: 1e-5 * count }, "dgamma");
  assertClose(b.gpu[2], b.cpu[2], { abs: 1e-5 * count }, "dbeta");
}

Deno.test({
  name: "batchNormTrainGpu() and its gradient agree with the CPU",
  ...GPU_TEST,
  async fn() {
    await fc.assert(fc.asyncProperty(bnShape, fc.nat(), (s, seed) => checkBatchNorm(s, seed)), GPU_FC);
  },
});

Deno.test({
  name:
    "batchNormTrainBackward with a fused clamp (clampMax, the clamped output as an eighth input) agrees with the CPU",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        bnShape,
        fc.nat(),
        fc.constantFrom(6, Infinity),
        (s, seed, m) => checkBatchNorm(s, seed, m),
      ),
      GPU_FC,
    );
  },
});

Deno.test({
  name: "channelAffineGpu() scales and shifts along axis 1 like the CPU",
  ...GPU_TEST,
  async fn() {
    for (const s of [[2, 3], [2, 3, 4, 5], [1, 4, 7]]) {
      const ins = [
        randomTensor("float32", s, 1),
        randomTensor("float32", [s[1]], 2),
        randomTensor("float32", [s[1]], 3),
      ];
      const r = await runBoth("channelAffine", ins, {});
      assertClose(r.gpu[0], r.cpu[0], { abs: 1e-6 }, "channelAffine");
    }
  },
});

import fc from "fast-check";
import type { OpAttrs } from "../ops.ts";
import { fromArray } from "../tensor.ts";
import { assertExact, GPU_FC, GPU_TEST, randomTensor, rng, runBoth } from "./gpu_test_util.ts";

const qdtype = fc.constantFrom("qint8" as const, "qint16" as const);
const activation = fc.constantFrom(undefined, "relu" as const, "relu6" as const);
const scale = fc.integer({ min: 0, max: 1000 }).map((k) => Math.fround(2 ** (-9 + k / 100)));

Deno.test({
  name: "addFakeGpu() runs SPEC.md's integer add bit-exactly, for either scale order",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        scale,
        scale,
        scale,
        qdtype,
        qdtype,
        activation,
        fc.nat(),
        async (sa, sb, so, dtypeIn, dtype, act, seed) => {
          const range = dtypeIn === "qint8" ? 128 : 32768;
          const a = randomTensor("float32", [37], seed, -range * sa * 1.2, range * sa * 1.2);
          const b = randomTensor("float32", [37], seed + 1, -range * sb * 1.2, range * sb * 1.2);
          const attrs: OpAttrs["addFake"] = {
            scaleA: sa,
            scaleB: sb,
            dtypeIn,
            outScale: so,
            dtype,
            activation: act,
          };
          const r = await runBoth("addFake", [a, b], attrs);
          assertExact(r.gpu[0], r.cpu[0], "addFake");
        },
      ),
      { ...GPU_FC, numRuns: 8 },
    );
  },
});

Deno.test({
  name: "avgPoolFakeGpu() pools the integers and requantizes bit-exactly, adaptive pooling included",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 2 }),
        fc.boolean(),
        scale,
        scale,
        qdtype,
        fc.nat(),
        async (
          k,
          s,
          pad,
          si,
          so,
          dtype,
          seed,
        ) => {
          const x = randomTensor("float32", [2, 3, 6, 5], seed, -200 * si, 200 * si);
          const p = pad ? Math.floor(k / 2) : 0;
          for (const kernel of [[k, k], [0, 0]] as const) {
            const attrs: OpAttrs["avgPoolFake"] = {
              kernel,
              stride: [s, s],
              padding: [p, p],
              scaleIn: si,
              dtypeIn: dtype,
              outScale: so,
              dtype,
            };
            const r = await runBoth("avgPoolFake", [x], attrs);
            assertExact(r.gpu[0], r.cpu[0], `avgPoolFake ${kernel}`);
          }
        },
      ),
      GPU_FC,
    );
  },
});

const output = fc.oneof(
  fc.record({ dtype: qdtype, scale }),
  fc.constant({ dtype: "qint32" as const }),
);

Deno.test({
  name: "intLayerFakeGpu() runs the integer conv and linear layers bit-exactly (bias, groups, every output)",
  ...GPU_TEST,
  async fn() {
    await fc.assert(
      fc.asyncProperty(
        output,
        activation,
        qdtype,
        fc.constantFrom(1, 2),
        fc.constantFrom(1, 9),
        fc.nat(),
        async (
          out,
          act,
          dtypeIn,
          groups,
          cog,
          seed,
        ) => {
          const r = rng(seed);
          const co = cog * groups, cg = 2;
          const sw = Array.from({ length: co }, () => Math.fround(2 ** (-8 + 3 * r())));
          const sx = Math.fround(2 ** (-6 + 2 * r()));
          const x = randomTensor("float32", [2, cg * groups, 5, 6], seed, -150 * sx, 150 * sx);
          const w = randomTensor("float32", [co, cg, 3, 3], seed + 1, -130, 130);
          const wScaled = fromArray(
            (w.data as Float32Array).map((v, i) => v * sw[Math.floor(i / (cg * 9))]),
            w.shape,
          );
          const bias = randomTensor("float32", [co], seed + 2, -2, 2);
          const base = { sx, dtypeIn, sw, output: out, activation: act, dilation: [1, 2] as const, groups };
          const conv: OpAttrs["intLayerFake"] = { ...base, linear: false, stride: [2, 1], padding: [1, 2] };
          const rc = await runBoth("intLayerFake", seed % 2 ? [x, wScaled, bias] : [x, wScaled], conv);
          assertExact(rc.gpu[0], rc.cpu[0], "conv");
          const lin: OpAttrs["intLayerFake"] = {
            ...base,
            linear: true,
            groups: 1,
            stride: [1, 1],
            padding: [0, 0],
          };
          const xl = randomTensor("float32", [3, 2, 18], seed + 3, -150 * sx, 150 * sx);
          const wl = fromArray(wScaled.data, [co, 18]);
          const rl = await runBoth("intLayerFake", seed % 2 ? [xl, wl, bias] : [xl, wl], lin);
          assertExact(rl.gpu[0], rl.cpu[0], "linear");
        },
      ),
      { ...GPU_FC, numRuns: 6 },
    );
  },
});

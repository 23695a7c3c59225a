import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { concat, fromArray, grad, mulFake, requantFake, sum, type Tensor, WebGpuDevice } from "@hqat/tensor";
import { type CatInstr, type MulInstr, requantOf } from "@hqat/program";
import {
  assertBits,
  assertTwinGpuEqualsCpu,
  dequantized,
  HAS_GPU,
  intValue,
  qvalues,
  runInstruction,
  scaleArb,
} from "../../testdata/check_kind.ts";

const dtype = fc.constantFrom("qint8" as const, "qint16" as const);

Deno.test("cat equals requantFake() of each input, concatenated, on the dequantized integers", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), scaleArb(fc), dtype), { minLength: 1, maxLength: 4 }),
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 3 }),
      fc.nat(),
      scaleArb(fc),
      dtype,
      fc.integer(),
      (parts, rest, a, so, dout, seed) => {
        const axis = 1 + (a % rest.length), base = [2, ...rest];
        const ins = parts.map(([len, s, d], k) => {
          const shape = base.map((v, i) => (i === axis ? len : v));
          return intValue(qvalues(d, shape.reduce((p, q) => p * q, 1), seed + k), shape, d, s);
        });
        const shape = base.map((v, i) => (i === axis ? parts.reduce((p, q) => p + q[0], 0) : v));
        const instr: CatInstr = {
          op: "cat",
          name: "y",
          inputs: ins.map((_, k) => k),
          output: ins.length,
          epilogue: [],
          axis,
          requants: ins.map((x) => requantOf(x.scale, 1, { dtype: dout, scale: so }, "none", "y")),
        };
        const y = runInstruction(instr, ins, { name: "y", shape, dtype: dout, scale: Float32Array.of(so) });
        const twin = concat(
          ins.map((x, k) =>
            requantFake(fromArray(dequantized(x), x.shape), {
              scaleIn: parts[k][1],
              dtypeIn: parts[k][2],
              outScale: so,
              dtype: dout,
            })
          ),
          axis,
        );
        assertBits(twin.data as Float32Array, dequantized(y), "cat");
      },
    ),
    { seed: 191, numRuns: 250 },
  );
});

Deno.test("mul equals mulFake() on the dequantized integers, the second operand broadcast", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.boolean()), { minLength: 1, maxLength: 3 }),
      fc.tuple(scaleArb(fc), scaleArb(fc), scaleArb(fc)),
      fc.tuple(dtype, dtype, dtype),
      fc.constantFrom(undefined, "relu" as const, "relu6" as const),
      fc.integer(),
      (dims, [sa, sb, so], [da, db, dout], act, seed) => {
        const aShape = [2, ...dims.map((d) => d[0])], bShape = [2, ...dims.map((d) => (d[1] ? 1 : d[0]))];
        const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
        const a = intValue(qvalues(da, size(aShape), seed), aShape, da, sa);
        const b = intValue(qvalues(db, size(bShape), seed + 1), bShape, db, sb);
        const instr: MulInstr = {
          op: "mul",
          name: "y",
          inputs: [0, 1],
          output: 2,
          epilogue: [{ kind: "requant", ...requantOf([sa * sb], 1, { dtype: dout, scale: so }, act, "y") }],
        };
        const y = runInstruction(instr, [a, b], {
          name: "y",
          shape: aShape,
          dtype: dout,
          scale: Float32Array.of(so),
        });
        const twin = mulFake(fromArray(dequantized(a), aShape), fromArray(dequantized(b), bShape), {
          scaleA: sa,
          scaleB: sb,
          dtypeA: da,
          dtypeB: db,
          outScale: so,
          dtype: dout,
          activation: act,
        });
        assertBits(twin.data as Float32Array, dequantized(y), "mul");
      },
    ),
    { seed: 192, numRuns: 250 },
  );
});

Deno.test("mulFake() and requantFake() pass gradients straight through, masked as addFake's", () => {
  const a = fromArray(Float32Array.of(1, 2, 60), [1, 3]), b = fromArray(Float32Array.of(2), [1, 1]);
  const o = { scaleA: 1, scaleB: 1, dtypeA: "qint8", dtypeB: "qint8", outScale: 1, dtype: "qint8" } as const;
  // 60 · 2 = 120 stays in range; the gradient of a is b, of b the sum of a.
  assertEquals(Array.from(grad((x: Tensor) => sum(mulFake(x, b, o)))(a).data), [2, 2, 2]);
  assertEquals(Array.from(grad((x: Tensor) => sum(mulFake(a, x, o)))(b).data), [63]);
  const r = { scaleIn: 1, dtypeIn: "qint8", outScale: 0.5, dtype: "qint8", activation: "relu" } as const;
  // ReLU clamps -3 to 0: no gradient there.
  assertEquals(
    Array.from(grad((x: Tensor) => sum(requantFake(x, r)))(fromArray(Float32Array.of(3, -3), [2])).data),
    [1, 0],
  );
});

Deno.test({
  name: "requantFake() and mulFake() on WebGPU equal the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const device = await WebGpuDevice.create();
    try {
      const x = fromArray(Float32Array.from(qvalues("qint16", 60, 3), (q) => q / 256), [3, 20]);
      await assertTwinGpuEqualsCpu(device, "requantFake", [x], {
        scaleIn: 1 / 256,
        dtypeIn: "qint16",
        outScale: 1 / 3,
        dtype: "qint8",
      });
      const b = fromArray(Float32Array.from(qvalues("qint8", 3, 4), (q) => q / 64), [3, 1]);
      await assertTwinGpuEqualsCpu(device, "mulFake", [x, b], {
        scaleA: 1 / 256,
        scaleB: 1 / 64,
        dtypeA: "qint16",
        dtypeB: "qint8",
        outScale: 1 / 10,
        dtype: "qint16",
        activation: "relu",
      });
    } finally {
      device.destroy();
    }
  },
});

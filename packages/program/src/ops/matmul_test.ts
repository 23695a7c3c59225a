import { assertThrows } from "@std/assert";
import fc from "fast-check";
import { fromArray, matmulFake, WebGpuDevice } from "@hqat/tensor";
import { type MatmulInstr, type Program, requantOf } from "@hqat/program";
import { prng, ProgramBuilder, randomInput } from "../../testdata/build.ts";
import {
  assertBits,
  assertEveryLevel,
  assertGpuEqualsCpu,
  assertTwinGpuEqualsCpu,
  dequantized,
  HAS_GPU,
  intValue,
  qvalues,
  runInstruction,
  scaleArb,
} from "../../testdata/check_kind.ts";

const dtype = fc.constantFrom("qint8" as const, "qint16" as const);

Deno.test("matmul equals matmulFake() on the dequantized integers, batch dimensions broadcast", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 }),
      fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 })), { maxLength: 2 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 4 }),
      fc.tuple(scaleArb(fc), scaleArb(fc), scaleArb(fc)),
      fc.tuple(dtype, dtype, dtype),
      fc.constantFrom(undefined, "relu" as const, "relu6" as const),
      fc.integer(),
      (nb, batch, m, k, n, [sa, sb, so], [da, db0, dout], act, seed) => {
        // int16 by int16 fits int32 only for k = 1.
        const db = da === "qint16" && k > 1 ? "qint8" : db0;
        const ab = batch.map(([d, w]) => (w === 0 ? [d, d] : w === 1 ? [1, d] : [d, 1]));
        const aShape = [nb, ...ab.map((p) => p[0]), m, k], bShape = [nb, ...ab.map((p) => p[1]), k, n];
        const out = [nb, ...ab.map((p) => Math.max(p[0], p[1])), m, n];
        const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
        const a = intValue(qvalues(da, size(aShape), seed), aShape, da, sa);
        const b = intValue(qvalues(db, size(bShape), seed + 1), bShape, db, sb);
        const instr: MatmulInstr = {
          op: "matmul",
          name: "y",
          inputs: [0, 1],
          output: 2,
          epilogue: [{ kind: "requant", ...requantOf([sa * sb], 1, { dtype: dout, scale: so }, act, "y") }],
        };
        const y = runInstruction(instr, [a, b], {
          name: "y",
          shape: out,
          dtype: dout,
          scale: Float32Array.of(so),
        });
        const twin = matmulFake(fromArray(dequantized(a), aShape), fromArray(dequantized(b), bShape), {
          scaleA: sa,
          scaleB: sb,
          dtypeA: da,
          dtypeB: db,
          outScale: so,
          dtype: dout,
          activation: act,
        });
        assertBits(twin.data as Float32Array, dequantized(y), "matmul");
      },
    ),
    { seed: 121, numRuns: 250 },
  );
});

/** quant [N, 2, 3, 4] × its transpose, then × a constant [N, 1, 3, 5] broadcast over the heads. */
function matmulModel(seed: number): Program {
  const r = prng(seed);
  const b = new ProgramBuilder(r, [2, 2, 3, 4]);
  const q = b.quantize("quant", 1 / 64);
  const t = b.transpose("t", q, [0, 1, 3, 2]);
  const g = b.matmul("gram", q, t, { dtype: "qint16", scale: 1 / 4000 + r() / 8000 });
  const c = b.constant(
    "c",
    Int8Array.from({ length: 15 }, () => Math.round(r() * 255 - 128)),
    [1, 3, 5],
    1 / 50,
  );
  const y = b.matmul("proj", g, c, { dtype: "qint8", scale: 1 / 20 }, "relu");
  b.dequantize("dequant", y);
  return b.build();
}

Deno.test("matmul runs the same at every opt level and through the container", () => {
  for (const seed of [1, 2]) {
    assertEveryLevel(matmulModel(seed), randomInput([3, 2, 3, 4], seed), [3, 2, 3, 4]);
  }
});

Deno.test("matmul's rule refuses shapes that do not multiply and products that may leave int32", () => {
  const b = new ProgramBuilder(prng(1), [1, 2, 3]);
  const q = b.quantize("q", 0.1, "qint16");
  b.dequantize("d", b.matmul("m", q, b.transpose("t", q, [0, 2, 1]), { dtype: "qint8", scale: 1 }));
  assertThrows(() => b.build(), Error, "3 products of qint16 by qint16 can reach 3221225472");
  const c = new ProgramBuilder(prng(1), [1, 2, 3]);
  const p = c.quantize("q", 0.1);
  c.dequantize("d", c.matmul("m", p, p, { dtype: "qint8", scale: 1 }));
  assertThrows(() => c.build(), Error, "are not [N, ..., m, k] and [N, ..., k, n]");
});

Deno.test({
  name: "matmul and matmulFake() on WebGPU equal the CPU bit for bit",
  ignore: !HAS_GPU,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await assertGpuEqualsCpu(
      [1, 2].map((seed) => ({
        model: matmulModel(seed),
        x: randomInput([2, 2, 3, 4], seed),
        shape: [2, 2, 3, 4],
      })),
    );
    const device = await WebGpuDevice.create();
    try {
      const a = fromArray(randomInput([2, 3, 2, 5], 1).map((v) => Math.round(v * 128) / 64), [2, 3, 2, 5]);
      const b = fromArray(randomInput([2, 1, 5, 4], 2).map((v) => Math.round(v * 128) / 32), [2, 1, 5, 4]);
      await assertTwinGpuEqualsCpu(device, "matmulFake", [a, b], {
        scaleA: 1 / 64,
        scaleB: 1 / 32,
        dtypeA: "qint8",
        dtypeB: "qint8",
        outScale: 1 / 16,
        dtype: "qint8",
        activation: "relu6",
      });
    } finally {
      device.destroy();
    }
  },
});

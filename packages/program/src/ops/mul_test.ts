import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import {
  decodeProgram,
  encodeProgram,
  type IntModel,
  lowerProgram,
  runIntModel,
  runIntModelGpu,
} from "@hqat/program";
import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";
import { prng, ProgramBuilder, randomInput } from "../../testdata/build.ts";

/** quant → a per-channel gate (global pooling) → mul(quant, gate) with `act` → dequant. */
function gated(seed: number, act?: "relu" | "relu6"): IntModel {
  const r = prng(seed);
  const b = new ProgramBuilder(r, [1, 4, 3, 3]);
  const q = b.quantize("quant", 1 / 64);
  const gate = b.globalAvgPool("gate", q, { dtype: "qint8", scale: 0.004 + 0.01 * r() });
  const y = b.mul("mul", q, gate, { dtype: "qint8", scale: 0.002 + 0.01 * r() }, act);
  b.dequantize("dequant", y);
  return b.build();
}

Deno.test("mul requantizes the exact product of its operands to within one step of the real product", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 1, max: 3 }), (seed, n) => {
      const model = gated(seed);
      const x = randomInput([n, 4, 3, 3], seed + 1);
      const r = runIntModel(model, x, [n, 4, 3, 3], { keepAll: true });
      const q = r.all!.get("quant")!, g = r.all!.get("gate")!, y = r.all!.get("mul")!;
      const m = (q.scale[0] * g.scale[0]) / y.scale[0];
      for (let i = 0; i < y.data.length; i++) {
        const c = Math.floor(i / 9) % 4, frame = Math.floor(i / 36);
        const real = q.data[i] * g.data[frame * 4 + c] * m;
        const expected = Math.min(127, Math.max(-128, real));
        assert(Math.abs(y.data[i] - expected) <= 0.5 + Math.abs(real) * 2 ** -14, `${y.data[i]} vs ${real}`);
      }
    }),
    { seed: 5, numRuns: 60 },
  );
});

Deno.test("mul runs the same at every opt level and survives the container", () => {
  const model = gated(3, "relu");
  const x = randomInput([2, 4, 3, 3], 9);
  const ref = runIntModel(model, x, [2, 4, 3, 3]);
  assert(ref.raw.data.every((v) => v >= 0), "the fused ReLU clamps");
  for (const opt of ["O1", "O2", "O3"] as const) {
    const p = decodeProgram(encodeProgram(lowerProgram(model, { opt })), { fileName: opt });
    assertEquals(runIntModel(p, x, [2, 4, 3, 3]).raw, ref.raw);
  }
});

Deno.test({
  name: "mul on WebGPU equals the CPU bit for bit",
  ignore: !(await probeWebGpu()).available,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const device = await WebGpuDevice.create();
    for (const seed of [1, 2]) {
      const model = gated(seed, "relu6");
      const x = randomInput([3, 4, 3, 3], seed);
      const gpu = await runIntModelGpu(model, x, [3, 4, 3, 3], { device, keepAll: true });
      const cpu = runIntModel(model, x, [3, 4, 3, 3], { keepAll: true });
      for (const [name, q] of cpu.all!) assertEquals(gpu.all!.get(name), q, name);
      assertEquals(gpu.output, cpu.output);
    }
    device.destroy();
  },
});

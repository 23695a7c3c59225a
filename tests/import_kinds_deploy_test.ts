/**
 * The instruction kinds of imported networks through the deployment tools: a model using every one of them
 * passes `checkModel`, is drawn by `visualizeModel` with each kind's label, costed by the performance model
 * at every opt level (GEMMs for matmul and the transposed convolution) and compiled to the same integers;
 * and each limit of the new BAYES entries is named, with the op, when a layer breaks it.
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { checkModel, compileProgram, estimatePerformance, loadHbm, visualizeModel } from "@hqat/hbdk";
import { March } from "@hqat/march-bayes";
import {
  crc32,
  type IntModel,
  ProgramFormatError,
  ProgramRunError,
  runIntModel,
  runIntModelGpu,
} from "@hqat/program";
import { probeWebGpu, WebGpuDevice } from "@hqat/tensor";
import { prng, ProgramBuilder, randomInput } from "../packages/program/testdata/build.ts";
import { everyKindModel as everyKind } from "../packages/program/testdata/programs.ts";

Deno.test("checkModel() passes a model of every new kind; visualizeModel() and the performance model read them", async () => {
  const model = everyKind();
  const lines: string[] = [];
  const report = checkModel(model, [{ shape: [1, 4, 8, 8] }], {
    march: March.BAYES,
    log: (l) => lines.push(l),
  });
  assertEquals(lines, ["This model is supported!", "HBDK model check PASS"]);
  assert(report.supported);
  const v = await visualizeModel(model, [{ shape: [1, 4, 8, 8] }]);
  const text = [...v.labels.values()].flat().join("\n");
  for (
    const label of [
      "hardswish (lut)",
      "transpose 0,2,1,3,4",
      "max_pool2d 3×3 s2 ceil",
      "avg_pool2d 2×2 s1 no pad",
      "mean axes 2,3 keep",
      "conv_transpose2d 2×2 s2",
      "resize linear 12×12 half_pixel",
      "pad edge",
      "constant ×8",
      "sub",
      "matmul k144",
      "softmax axis 1",
    ]
  ) assert(text.includes(label), `the drawing shows "${label}"`);
  const x = randomInput([2, 4, 8, 8], 1), ref = runIntModel(model, x, [2, 4, 8, 8]);
  for (const opt of ["O0", "O1", "O2", "O3"] as const) {
    const { program } = compileProgram(model, [{ shape: [2, 4, 8, 8] }], { opt, log: () => {} });
    assertEquals(runIntModel(program, x, [2, 4, 8, 8]).raw, ref.raw, opt);
    const e = estimatePerformance(program);
    const byOp = new Map(e.layers.map((l) => [l.name, l]));
    assert(byOp.get("gram")!.macs === 2 * 8 * 8 * 144, "matmul is a GEMM");
    assert(byOp.get("up")!.macs === 2 * 6 * 6 * 4 * 4 * 4, "the transposed convolution scatters its MACs");
    assert(e.layers.every((l) => l.latencyUs > 0), opt);
  }
});

/** A one-layer model for a limit. */
function oneLayer(
  build: (b: ProgramBuilder, q: number) => number,
  shape: number[],
  dtype: "qint8" | "qint16" = "qint8",
) {
  const b = new ProgramBuilder(prng(1), shape);
  b.dequantize("dequant", build(b, b.quantize("quant", 1 / 64, dtype)));
  return b.build();
}

Deno.test("checkModel() names the op and the limit a new kind breaks", () => {
  const cases: [IntModel, number[], string][] = [
    [
      oneLayer(
        (b, q) =>
          b.resize("down", q, [4, 4], {
            mode: "nearest",
            coordinateTransformation: "asymmetric",
            nearestMode: "floor",
          }),
        [1, 2, 8, 8],
      ),
      [1, 2, 8, 8],
      "interpolate.nearest_alignment",
    ],
    [oneLayer((b, q) => b.pad("pad", q, [[0, 0], [0, 0], [1, 1], [1, 1]], "reflect"), [1, 2, 8, 8]), [
      1,
      2,
      8,
      8,
    ], "pad.padding_mode"],
    [
      oneLayer((b, q) => b.convTranspose("up", q, { cout: 2, k: 2, s: 20 }, { dtype: "qint8", scale: 1 }), [
        1,
        2,
        2,
        2,
      ]),
      [1, 2, 2, 2],
      "conv_transpose2d.stride",
    ],
    [
      oneLayer((b, q) => b.matmul("mm", q, b.transpose("t", q, [0, 2, 1]), { dtype: "qint8", scale: 1 }), [
        1,
        2,
        9000,
      ]),
      [1, 2, 9000],
      "matmul.k",
    ],
    [
      oneLayer(
        (b, q) =>
          b.resize("up", q, [4, 4], { mode: "linear", coordinateTransformation: "half_pixel" }, {
            dtype: "qint8",
            scale: 1,
          }),
        [1, 2, 2, 2],
        "qint16",
      ),
      [1, 2, 2, 2],
      "interpolate.dtype",
    ],
  ];
  for (const [model, shape, limit] of cases) {
    const lines: string[] = [];
    const r = checkModel(model, [{ shape }], { march: March.BAYES, log: (l) => lines.push(l) });
    const v = r.violations.find((x) => x.limit === limit);
    assert(v, `${limit}: ${lines.join(" | ")}`);
    assert(lines.some((l) => l.includes(v.op) && l.includes(v.layer)), lines.join(" | "));
    assertEquals(lines.at(-1), "HBDK model check FAIL");
  }
});

Deno.test({
  name: "runIntModelGpu() runs a model of every new kind, compiled at O3, as the CPU does",
  ignore: !(await probeWebGpu()).available,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { program } = compileProgram(everyKind(), [{ shape: [3, 4, 8, 8] }], { opt: "O3", log: () => {} });
    const x = randomInput([3, 4, 8, 8], 5), device = await WebGpuDevice.create();
    try {
      const cpu = runIntModel(program, x, [3, 4, 8, 8], { keepAll: true });
      const gpu = await runIntModelGpu(program, x, [3, 4, 8, 8], { device, keepAll: true });
      for (const [name, q] of cpu.all!) assertEquals(gpu.all!.get(name), q, name);
      assertEquals(gpu.output, cpu.output);
    } finally {
      device.destroy();
    }
  },
});

Deno.test("loadHbm() and runIntModel() survive 2,000 mutated files of every new kind: each is rejected or runs", () => {
  const good = compileProgram(everyKind(), [{ shape: [2, 4, 8, 8] }], { opt: "O2", log: () => {} }).bytes;
  const rand = prng(99), x = randomInput([2, 4, 8, 8], 3);
  const pick = (n: number) => Math.floor(rand() * n);
  let rejected = 0, ran = 0;
  for (let c = 0; c < 2000; c++) {
    const bytes = good.slice();
    const v = new DataView(bytes.buffer);
    for (let e = 0; e <= pick(3); e++) {
      if (rand() < 0.5) bytes[64 + pick(bytes.length - 64)] ^= 1 + pick(255);
      else {v.setUint32(
          64 + 4 * pick((bytes.length - 68) >> 2),
          [0, 1, 2, 255, 65536, 0x7fffffff, 0xffffffff][pick(7)],
          true,
        );}
    }
    // The CRCs made right again, so that the checks past them see the edits.
    const [mo, ml, po, pl] = [20, 24, 28, 32].map((o) => v.getUint32(o, true));
    v.setUint32(36, crc32(bytes.subarray(mo, mo + ml)), true);
    v.setUint32(40, crc32(bytes.subarray(po, po + pl)), true);
    v.setUint32(44, crc32(bytes.subarray(0, 44)), true);
    let program;
    try {
      program = loadHbm(bytes, { fileName: `case${c}.hbm` });
    } catch (e) {
      if (!(e instanceof ProgramFormatError)) throw new Error(`case ${c}: loadHbm threw ${e}`, { cause: e });
      rejected++;
      continue;
    }
    try {
      runIntModel(program, x, [2, 4, 8, 8]);
      ran++;
    } catch (e) {
      if (!(e instanceof ProgramRunError)) {
        throw new Error(`case ${c}: a loaded program threw ${e}`, { cause: e });
      }
    }
  }
  assert(rejected > 1000 && ran > 10, `${rejected} rejected, ${ran} ran`);
});

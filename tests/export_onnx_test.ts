/**
 * The QDQ ONNX export of whole networks in onnxruntime: the quick start's MobileNetV2 int model (int8,
 * and with int16 blocks), through `hqat export-onnx` too, and every ONNX fixture network that converts
 * through PTQ. For each: onnxruntime runs the export, its output has cosine ≥ 0.999 to the fixed-point
 * model's dequantized output, and the instructions the report calls integer run as integer ops in
 * onnxruntime's optimized graph (those it calls float have a float op there). Each network's figures are
 * printed.
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { main } from "@hqat/cli/main";
import { ptq } from "@hqat/fx";
import { compileProgram } from "@hqat/hbdk";
import { parseNpy } from "@hqat/io";
import { March } from "@hqat/march-bayes";
import { decodeOnnx, loadOnnx } from "@hqat/onnx";
import { type Program, saveIntModel } from "@hqat/program";
import {
  default_calib_16bit_fake_quant_qconfig as c16,
  default_calib_8bit_fake_quant_qconfig as q8,
} from "@hqat/qtensor";
import { randomKey, randomNormal, randomUniform } from "@hqat/tensor";
import { mobileNetV2IntModel } from "../packages/hbdk/testdata/mobilenet_v2.ts";
import { compareWithOrt } from "../packages/onnx/src/qdq_ort_util.ts";

const ORT = {
  ignore: Deno.permissions.querySync({ name: "ffi" }).state !== "granted",
  sanitizeResources: false,
  sanitizeOps: false,
} as const;

/** Exports `program`, compares in onnxruntime on `x`, prints the figures and checks them. */
async function check(name: string, program: Program, x: Float32Array, shape: readonly number[]) {
  const c = await compareWithOrt(program, { data: x, shape });
  const float = c.exported.report.filter((r) => !r.integer);
  console.log(
    `${name}: cosine ${c.cosine.toFixed(6)}, max |diff| ${c.maxAbsDiff.toPrecision(3)}\n` +
      `  onnxruntime integer ops: ${c.integerOps.join(", ")}\n` +
      `  onnxruntime float ops: ${c.floatOps.join(", ") || "none"}\n` +
      float.map((r) => `  float: ${r.instruction} (${r.op}): ${r.reason}`).join("\n"),
  );
  assertEquals(c.mismatches, [], `${name}: the report against onnxruntime's graph`);
  assert(c.cosine >= 0.999, `${name}: cosine ${c.cosine}`);
  return c;
}

Deno.test({
  name:
    "exportQdq() on MobileNetV2 (int8, and int16 blocks): onnxruntime runs QLinearConv, QLinearAdd and QGemm",
  ...ORT,
  async fn() {
    const shape = [8, 3, 32, 32];
    const x = randomUniform(randomKey(31), shape, { min: -1, max: 1 }).data as Float32Array;
    const c = await check("MobileNetV2 int8", mobileNetV2IntModel(), x, shape);
    for (const op of ["QLinearConv ×52", "QLinearAdd ×10", "QGemm ×1"]) assert(c.integerOps.includes(op), op);
    assertEquals(c.floatOps, [], "every instruction integer");
    await check(
      "MobileNetV2 int16 blocks",
      mobileNetV2IntModel({ "features.1": c16, "features.2": c16 }),
      x,
      shape,
    );
    // The compiled program (O3: folded stages, the classifier reading the pooled buffer flat) exports alike.
    const { program } = compileProgram(mobileNetV2IntModel(), [{ shape }], { opt: "O3", log: () => {} });
    const o3 = await check("MobileNetV2 int8, compiled at O3", program, x, shape);
    assert(o3.integerOps.includes("QGemm ×1"), o3.integerOps.join());
  },
});

Deno.test({
  name: "hqat export-onnx writes the QDQ model and its JSON report",
  ...ORT,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await saveIntModel(`${dir}/int_model`, mobileNetV2IntModel());
      assertEquals(
        await main(["export-onnx", "--model", `${dir}/int_model`, "--output", `${dir}/q.onnx`]),
        0,
      );
      const m = decodeOnnx(await Deno.readFile(`${dir}/q.onnx`));
      assert(m.opset >= 13 && m.graph.nodes.some((n) => n.opType === "QuantizeLinear"));
      const report = JSON.parse(await Deno.readTextFile(`${dir}/q.onnx.json`));
      assertEquals(report.float, []);
      assertEquals(await main(["export-onnx", "--model", `${dir}/int_model`, "--output", `${dir}/q.txt`]), 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const DIR = new URL("../packages/onnx/testdata/", import.meta.url);
const FIXTURES: { name: string }[] = JSON.parse(await Deno.readTextFile(new URL("manifest.json", DIR)));

/** A fixture through PTQ on 16 calibration-like inputs (as tests/import_quantize_test.ts), or why not. */
async function converted(name: string): Promise<{ program: Program; frame: number[] } | { error: string }> {
  try {
    const model = loadOnnx(await Deno.readFile(new URL(`${name}.onnx`, DIR)), {
      source: `${name}.onnx`,
      quantStubScale: null,
    });
    const frame = parseNpy(await Deno.readFile(new URL(`${name}.input.npy`, DIR))).shape.slice(1);
    const r = ptq(model, model.initialState(), randomNormal(randomKey(3), [16, ...frame]), {
      qconfig: { "": q8 },
      march: March.BAYES,
      batchSize: 8,
      warn: () => {},
    });
    return { program: r.intModel, frame };
  } catch (e) {
    return { error: (e as Error).message.split("\n")[0] };
  }
}

for (const { name } of FIXTURES) {
  Deno.test({
    name:
      `exportQdq() on the ${name} fixture after PTQ: onnxruntime within cosine 0.999 of the fixed-point model`,
    ...ORT,
    async fn() {
      const r = await converted(name);
      if ("error" in r) {
        console.log(`${name}: does not convert (${r.error})`);
        return;
      }
      const shape = [4, ...r.frame];
      await check(name, r.program, randomNormal(randomKey(9), shape).data as Float32Array, shape);
    },
  });
}

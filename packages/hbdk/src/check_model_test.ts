import { assert, assertEquals, assertThrows } from "@std/assert";
import { type Graph, graphLayers, type IntModel, trace, verifyGraph } from "@hqat/fx";
import { checkModel } from "@hqat/hbdk";
import { March } from "@hqat/march-bayes";
import { Conv2d, DeQuantStub, initState, QuantStub, Sequential } from "@hqat/nn";
import { randomKey, zeros } from "@hqat/tensor";
import { prng, ProgramBuilder } from "../../program/testdata/build.ts";
import { mobileNetV2IntModel, tinyIntModel } from "../testdata/mobilenet_v2.ts";

function run(
  model: Parameters<typeof checkModel>[0],
  shape: number[],
  options: { state?: Record<string, { shape: number[] }> } = {},
) {
  const lines: string[] = [];
  const report = checkModel(model, [{ shape }], {
    march: March.BAYES,
    inputSource: "ddr",
    ...options,
    log: (l) => lines.push(l),
  });
  return { report, lines };
}

/** quant → one conv (`cout` channels, `k`×`k`, stride, dilation) → dequant. */
function convModel(
  o: { cin: number; cout: number; k: number; hw: number; stride?: number; dilation?: number },
): IntModel {
  const b = new ProgramBuilder(prng(1), [1, o.cin, o.hw, o.hw]);
  const q = b.quantize("quant", 1 / 128);
  const c = b.conv("conv", q, { cout: o.cout, k: o.k, s: o.stride, d: o.dilation }, {
    dtype: "qint8",
    scale: 0.1,
  });
  b.dequantize("dq", c);
  return b.build();
}

Deno.test("checkModel() passes the converted MobileNetV2 and prints HBDK's two lines", () => {
  const lines: string[] = [];
  const r = checkModel(mobileNetV2IntModel(), [{ shape: [1, 3, 32, 32] }], {
    inputSource: "pyramid",
    log: (l) => lines.push(l),
  });
  assertEquals(lines, ["This model is supported!", "HBDK model check PASS"]);
  assert(r.supported && r.violations.length === 0);
  assertEquals(r.nodes.length, mobileNetV2IntModel().instructions.length);
  assert(r.nodes.every((n) => n.supported && n.violations.length === 0));
  assertEquals(r.nodes[0], { name: "quant", op: "quant", supported: true, violations: [] });
});

Deno.test("checkModel() fails a 33×33 kernel, 9,000 channels and dilation with stride 2, naming limit and value", () => {
  const kernel = run(convModel({ cin: 1, cout: 2, k: 33, hw: 40 }), [1, 1, 40, 40]);
  assertEquals(kernel.lines, [
    "conv: conv2d kernel 33×33 exceeds the BAYES limit (kernel < 32 per side)",
    "HBDK model check FAIL",
  ]);
  assertEquals(kernel.report.nodes.find((n) => n.name === "conv")!.violations.map((v) => v.limit), [
    "conv2d.kernel",
  ]);
  const channels = run(convModel({ cin: 9000, cout: 2, k: 1, hw: 1 }), [1, 9000, 1, 1]);
  assertEquals(channels.report.violations.map((v) => [v.limit, v.actual]), [["conv2d.in_channels", "9000"]]);
  assert(channels.lines[0].includes("input channels 9000 exceeds the BAYES limit (input channels ≤ 8192)"));
  const dilation = run(convModel({ cin: 4, cout: 4, k: 3, hw: 16, stride: 2, dilation: 2 }), [1, 4, 16, 16]);
  assertEquals(dilation.report.violations.map((v) => v.limit), ["conv2d.dilation_stride"]);
  assert(
    dilation.lines[0].includes(
      "stride 2×2 with dilation 2×2 exceeds the BAYES limit (dilation > 1 only with stride 1)",
    ),
  );
  assertEquals(dilation.lines.at(-1), "HBDK model check FAIL");
});

Deno.test("checkModel() fails reflect padding in a traced float graph", () => {
  const m = new Sequential(
    new QuantStub({ scale: 1 / 128 }),
    new Conv2d(3, 8, 3, { padding: 1 }),
    new DeQuantStub(),
  );
  const state = initState(m, randomKey(0));
  const traced = trace(m, state, zeros([1, 3, 16, 16]));
  // The float kernels compute zero padding only, so the graph is traced with it and then given the
  // padding mode the model declares, as a model with `paddingMode: "reflect"` would trace.
  const reflect: Graph = verifyGraph({
    nodes: traced.nodes.map((n) =>
      n.kind.op === "conv2d" ? { ...n, kind: { ...n.kind, paddingMode: "reflect" } } : n
    ),
  });
  const { report, lines } = run(reflect, [1, 3, 16, 16], { state: { "1.weight": { shape: [8, 3, 3, 3] } } });
  assertEquals(report.violations.map((v) => [v.layer, v.limit, v.actual]), [[
    "1",
    "conv2d.padding_mode",
    "reflect",
  ]]);
  assertEquals(lines, [
    "1: conv2d padding mode reflect is not supported by BAYES (reflect padding unsupported)",
    "HBDK model check FAIL",
  ]);
  assertEquals(run(traced, [1, 3, 16, 16]).lines.at(-1), "HBDK model check PASS");
  assertEquals(graphLayers(traced).map((l) => l.attrs.kernel?.join()), [undefined, "3,3", undefined]);
});

Deno.test("checkModel() fails an op the table lacks, in a graph or a layer list", () => {
  const t = (dtype: "float32" | "qint8") => ({ shape: [1, 8], dtype });
  const graph: Graph = verifyGraph({
    nodes: [
      { name: "x", kind: { op: "input", index: 0 }, inputs: [], shape: [1, 8], dtype: "float32" },
      {
        name: "quant",
        kind: { op: "quant_stub", module: "quant", scale: 1 / 128 },
        inputs: ["x"],
        shape: [1, 8],
        dtype: "float32",
      },
      {
        name: "sqrt",
        kind: { op: "prim", prim: "sqrt", attrs: {} },
        inputs: ["quant"],
        shape: [1, 8],
        dtype: "float32",
      },
      {
        name: "dequant",
        kind: { op: "dequant_stub", module: "dequant" },
        inputs: ["sqrt"],
        shape: [1, 8],
        dtype: "float32",
      },
      { name: "output", kind: { op: "output" }, inputs: ["dequant"], shape: [1, 8], dtype: "float32" },
    ],
  });
  const g = run(graph, [1, 8]);
  assertEquals(
    g.lines[0],
    'sqrt: op "sqrt" is not supported by BAYES (no entry in the BAYES operator table)',
  );
  assertEquals(g.report.nodes.map((n) => n.supported), [true, false, true]);
  const l = run([{ name: "act", op: "gelu", inputs: [t("qint8")], output: t("qint8"), attrs: {} }], [1, 8]);
  assertEquals(l.report.violations[0].limit, "op.supported");
});

Deno.test("checkModel() rejects an example input that does not fit the model", () => {
  assertThrows(
    () => checkModel(tinyIntModel(1), [{ shape: [1, 3, 9, 8] }], { march: March.BAYES, log: () => {} }),
    RangeError,
    "[N,3,8,8]",
  );
  assertThrows(
    () => checkModel(tinyIntModel(1), [], { march: March.BAYES, log: () => {} }),
    RangeError,
    "one example input",
  );
  assertThrows(
    () =>
      checkModel(tinyIntModel(1), [{ shape: [1, 3, 8, 8], data: new Float32Array(3) }], {
        march: March.BAYES,
        log: () => {},
      }),
    RangeError,
    "has 3 values",
  );
});

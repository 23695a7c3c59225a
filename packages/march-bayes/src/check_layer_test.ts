import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { checkLayer, checkLayers } from "./check_layer.ts";
import type { LayerAttrs, LayerDesc, QDtype } from "./layer_desc.ts";
import { clearMarch, March, setMarch } from "./march.ts";
import { mobileNetV2Layers } from "./mobilenet_v2_layers.ts";

const BAYES = { march: March.BAYES } as const;

function conv(attrs: LayerAttrs, cin = 16, cout = 16, extra: Partial<LayerDesc> = {}): LayerDesc {
  return {
    name: "x",
    op: "conv2d",
    inputs: [{ shape: [1, cin, 4, 4], dtype: "qint8" }],
    output: { shape: [1, cout, 4, 4], dtype: "qint8" },
    attrs,
    ...extra,
  };
}

function unary(
  op: string,
  dtype: QDtype = "qint8",
  outDtype: QDtype = dtype,
  attrs: LayerAttrs = {},
): LayerDesc {
  return {
    name: "u",
    op,
    inputs: [{ shape: [1, 8, 4, 4], dtype }],
    output: { shape: [1, 8, 4, 4], dtype: outDtype },
    attrs,
  };
}

const ids = (layer: LayerDesc, options = {}) =>
  checkLayer(layer, { ...BAYES, ...options }).map((v) => v.limit);

Deno.test("checkLayer() rejects a 33×33 kernel with a message naming the limit and the value", () => {
  const [v, ...rest] = checkLayer(conv({ kernel: [33, 33] }, 3, 32, { name: "features.0.0" }), BAYES);
  assertEquals(rest, []);
  assertEquals(v.message, "features.0.0: conv2d kernel 33×33 exceeds the BAYES limit (kernel < 32 per side)");
  assertEquals([v.layer, v.limit, v.actual, v.allowed], ["features.0.0", "conv2d.kernel", "33×33", "≤ 31"]);
  assert(v.source.includes("torch.nn.Conv2d"));
  assertEquals(ids(conv({ kernel: [31, 1] })), []);
  assertEquals(ids(conv({ kernel: [1, 32] })), ["conv2d.kernel"]);
});

Deno.test("checkLayer() rejects 9000 channels, and allows them on a model output up to 16384", () => {
  const [out] = checkLayer(conv({}, 16, 9000), BAYES);
  assertEquals(
    out.message,
    "x: conv2d output channels 9000 exceeds the BAYES limit (output channels ≤ 8192, ≤ 16384 as a model output)",
  );
  assertEquals(ids(conv({}, 9000, 16)), ["conv2d.in_channels"]);
  assertEquals(
    checkLayer(conv({}, 9000, 16), BAYES)[0].message,
    "x: conv2d input channels 9000 exceeds the BAYES limit (input channels ≤ 8192)",
  );
  assertEquals(ids(conv({ isModelOutput: true }, 16, 9000)), []);
  assertEquals(ids(conv({ isModelOutput: true }, 16, 16385)), ["conv2d.out_channels_model_output"]);
  assertEquals(ids(conv({}, 8192, 8192)), []);
});

Deno.test("checkLayer() rejects dilation with stride 2, and dilation over 16", () => {
  const [v] = checkLayer(conv({ dilation: [2, 2], stride: [2, 2] }), BAYES);
  assertEquals(
    v.message,
    "x: conv2d stride 2×2 with dilation 2×2 exceeds the BAYES limit (dilation > 1 only with stride 1)",
  );
  assertEquals(ids(conv({ dilation: [16, 2], stride: [1, 1] })), []);
  assertEquals(ids(conv({ dilation: [1, 1], stride: [2, 2] })), []);
  assertEquals(
    checkLayer(conv({ dilation: [17, 1] }), BAYES)[0].message,
    "x: conv2d dilation 17×1 exceeds the BAYES limit (dilation ≤ 16)",
  );
});

Deno.test("checkLayer() rejects reflect padding in a convolution and in pad", () => {
  const [v] = checkLayer(conv({ padding: [1, 1], paddingMode: "reflect" }), BAYES);
  assertEquals(
    v.message,
    "x: conv2d padding mode reflect is not supported by BAYES (reflect padding unsupported)",
  );
  assertEquals(v.allowed, "not supported");
  assertEquals(ids(conv({ padding: [1, 1], paddingMode: "replicate" })), []);
  assertEquals(ids(unary("pad", "qint8", "qint8", { paddingMode: "reflect" })), ["pad.padding_mode"]);
  assertEquals(ids(unary("pad", "qint16", "qint16", { paddingMode: "zeros" })), []);
});

Deno.test("checkLayer() reports an op the table lacks as not supported", () => {
  const v = checkLayer(unary("gelu"), BAYES);
  assertEquals(v.length, 1);
  assertEquals(v[0].message, 'u: op "gelu" is not supported by BAYES (no entry in the BAYES operator table)');
  assertEquals([v[0].limit, v[0].actual], ["op.supported", "gelu"]);
});

Deno.test("checkLayer() checks padding, weight size and the stride of a fused add", () => {
  assertEquals(
    checkLayer(conv({ padding: [257, 0] }), BAYES)[0].message,
    "x: conv2d padding 257×0 exceeds the BAYES limit (padding ≤ 256)",
  );
  assertEquals(ids(conv({ kernel: [3, 3] }, 8192, 16)), ["conv2d.weight_size"]);
  assertEquals(ids(conv({ kernel: [3, 3], groups: 8192 }, 8192, 8192)), []);
  const sumin = (s: number) =>
    conv({ fusedAdd: true, stride: [s, s] }, 16, 16, {
      inputs: [{ shape: [1, 16, 4, 4], dtype: "qint8" }, { shape: [1, 16, 4, 4], dtype: "qint8", from: "y" }],
    });
  assertEquals(ids(sumin(2)), []);
  assertEquals(
    checkLayer(sumin(3), BAYES)[0].message,
    "x: conv2d stride with a fused add 3×3 is not supported by BAYES (a conv with a fused add takes stride 1×1 or 2×2)",
  );
});

Deno.test("checkLayer() checks input and output dtypes", () => {
  const badIn = conv({}, 16, 16, { inputs: [{ shape: [1, 16, 4, 4], dtype: "float32" }] });
  assertEquals(
    checkLayer(badIn, BAYES)[0].message,
    "x: conv2d input 0 dtype float32 is not supported by BAYES (conv2d takes qint8, qint16)",
  );
  assertEquals(ids(conv({}, 16, 16, { output: { shape: [1, 16, 4, 4], dtype: "qint32" } })), []);
  assertEquals(
    checkLayer(unary("relu6", "qint8", "qint16"), BAYES)[0].message,
    "u: relu6 output dtype qint16 is not supported by BAYES (relu6 gives qint8)",
  );
  assertEquals(ids(unary("relu", "qint32")), ["relu.dtype"]);
  assertEquals(ids(unary("quant", "float32", "qint8")), []);
  assertEquals(ids(unary("dequant", "qint32", "float32")), []);
  assertEquals(ids(unary("identity", "qint32")), []);
});

Deno.test("checkLayer() checks the input count of add and cat", () => {
  const t = { shape: [1, 8, 4, 4], dtype: "qint8" } as const;
  const add = (n: number): LayerDesc => ({
    name: "a",
    op: "add",
    inputs: Array(n).fill(t),
    output: t,
    attrs: {},
  });
  assertEquals(ids(add(2)), []);
  assertEquals(
    checkLayer(add(3), BAYES)[0].message,
    "a: add input count 3 exceeds the BAYES limit (2 inputs)",
  );
  const cat = (n: number): LayerDesc => ({
    name: "c",
    op: "cat",
    inputs: Array(n).fill(t),
    output: t,
    attrs: {},
  });
  assertEquals(
    checkLayer(cat(1), BAYES)[0].message,
    "c: cat input count 1 is below the BAYES limit (2 to 1024 inputs)",
  );
  assertEquals(ids(cat(1024)), []);
});

Deno.test("checkLayer() checks broadcasting, H·W·C, pooling and general tensor limits", () => {
  const add = (a: number[], b: number[]): LayerDesc => ({
    name: "a",
    op: "add",
    inputs: [{ shape: a, dtype: "qint8" }, { shape: b, dtype: "qint8" }],
    output: { shape: a, dtype: "qint8" },
    attrs: {},
  });
  assertEquals(ids(add([1, 8, 4, 4], [1, 8, 1, 1])), []);
  assertEquals(ids(add([2, 8, 4, 4], [1, 8, 4, 4])), ["add.broadcast"]);
  assertEquals(ids(add([1, 8, 1, 4], [1, 8, 4, 1])), ["add.broadcast"]);
  const big = { shape: [1, 64, 32, 33], dtype: "qint8" } as const;
  assertEquals(ids({ name: "c", op: "cat", inputs: [big, big], output: big, attrs: {} }), ["cat.hwc"]);
  assertEquals(ids(unary("avg_pool2d", "qint8", "qint8", { kernel: [300, 2] })), ["avg_pool2d.kernel"]);
  assertEquals(ids(unary("max_pool2d", "qint8", "qint8", { padding: [256, 0] })), ["max_pool2d.padding"]);
  assertEquals(ids(unary("avg_pool2d", "qint8", "qint8", { padding: [256, 0] })), []);
  const adaptive: LayerDesc = {
    name: "p",
    op: "adaptive_avg_pool2d",
    inputs: [{ shape: [1, 8, 512, 512], dtype: "qint8" }],
    output: { shape: [1, 8, 1, 1], dtype: "qint8" },
    attrs: {},
  };
  assertEquals(
    checkLayer(adaptive, BAYES)[0].message,
    "p: adaptive_avg_pool2d equivalent kernel 512×512 exceeds the BAYES limit (kernel ≤ 256 (it runs as AvgPool2d))",
  );
  const huge: LayerDesc = {
    ...unary("relu"),
    inputs: [{ shape: [5000, 8, 4, 4], dtype: "qint8" }],
    output: { shape: [5000, 8, 4, 4], dtype: "qint8" },
  };
  assertEquals(ids(huge), ["tensor.batch"]);
  assertEquals(ids({ ...unary("relu"), inputs: [{ shape: [1, 8, 1, 70000], dtype: "qint8" }] }), [
    "tensor.hwc",
  ]);
});

Deno.test("checkLayer() checks a pyramid input's size and channels only for pyramid and resizer", () => {
  const quant = (c: number, h: number, w: number): LayerDesc => ({
    name: "quant",
    op: "quant",
    inputs: [{ shape: [1, c, h, w], dtype: "float32" }],
    output: { shape: [1, c, h, w], dtype: "qint8" },
    attrs: {},
  });
  assertEquals(ids(quant(3, 31, 32), { inputSource: "ddr" }), []);
  assertEquals(
    checkLayer(quant(3, 31, 32), { ...BAYES, inputSource: "pyramid" })[0].message,
    "quant: quant pyramid input size 31×32 is not supported by BAYES (NV12 input needs even H and W)",
  );
  assertEquals(ids(quant(4, 32, 32), { inputSource: "resizer" }), ["quant.pyramid_channels"]);
  assertEquals(ids(quant(1, 32, 32), { inputSource: "pyramid" }), []);
});

Deno.test("checkLayers() passes torchvision's MobileNetV2, fused and unfused, for every input source", () => {
  for (const fused of [true, false]) {
    for (const inputSource of ["ddr", "pyramid", "resizer"] as const) {
      assertEquals(checkLayers(mobileNetV2Layers({ fused }), { ...BAYES, inputSource }), []);
    }
  }
  assertEquals(
    checkLayers(mobileNetV2Layers({ inputSize: 224, numClasses: 1000, batch: 4 }), { march: March.BAYES_E }),
    [],
  );
});

Deno.test("checkLayer() uses the march set with setMarch(), and throws without one or for BERNOULLI2", () => {
  clearMarch();
  assertThrows(() => checkLayer(conv({})), RangeError, "checkLayer: no march given and none set");
  setMarch(March.BAYES);
  assertEquals(checkLayer(conv({ kernel: [40, 1] }))[0].limit, "conv2d.kernel");
  clearMarch();
  assertThrows(
    () => checkLayer(conv({}), { march: March.BERNOULLI2 }),
    RangeError,
    'no operator table for march "bernoulli2"',
  );
  assertThrows(() => checkLayer({ ...conv({}), name: "" }, BAYES), TypeError, "non-empty name");
});

Deno.test("checkLayer() accepts convolutions within every limit and names the one limit pushed past its bound", () => {
  const within = fc.record({
    k: fc.integer({ min: 1, max: 31 }),
    dil: fc.integer({ min: 1, max: 16 }),
    stride: fc.integer({ min: 1, max: 4 }),
    pad: fc.integer({ min: 0, max: 256 }),
    cin: fc.integer({ min: 1, max: 8192 }),
    cout: fc.integer({ min: 1, max: 8192 }),
  });
  const breaks = ["kernel", "dilation", "stride", "padding", "cout", "reflect"] as const;
  fc.assert(
    fc.property(within, fc.constantFrom(...breaks), fc.integer({ min: 1, max: 100 }), (p, which, over) => {
      const cin = Math.min(p.cin, Math.floor(65534 / (p.k * p.k)));
      const stride = p.dil > 1 ? 1 : p.stride;
      const base: LayerAttrs = {
        kernel: [p.k, p.k],
        dilation: [p.dil, p.dil],
        stride: [stride, stride],
        padding: [p.pad, p.pad],
      };
      if (ids(conv(base, cin, p.cout)).length !== 0) return false;
      const [attrs, cout, expected] = which === "kernel"
        ? [{ ...base, kernel: [p.k, 31 + over] as [number, number] }, p.cout, "conv2d.kernel"]
        : which === "dilation"
        ? [
          { ...base, stride: [1, 1] as [number, number], dilation: [16 + over, 1] as [number, number] },
          p.cout,
          "conv2d.dilation",
        ]
        : which === "stride"
        ? [
          { ...base, dilation: [2, 2] as [number, number], stride: [1, 1 + over] as [number, number] },
          p.cout,
          "conv2d.dilation_stride",
        ]
        : which === "padding"
        ? [{ ...base, padding: [256 + over, 0] as [number, number] }, p.cout, "conv2d.padding"]
        : which === "cout"
        ? [base, 8192 + over, "conv2d.out_channels"]
        : [{ ...base, paddingMode: "reflect" as const }, p.cout, "conv2d.padding_mode"];
      const got = ids(conv(attrs, cin, cout));
      return got.includes(expected) && got.every((id) => id === expected || id === "conv2d.weight_size");
    }),
    { seed: 42, numRuns: 300 },
  );
});

Deno.test("checkLayer() bounds a tensor's bytes, counting the element size", () => {
  const layer = (dtype: QDtype): LayerDesc => {
    const t = { shape: [1, 2048, 128, 2048], dtype };
    return { name: "i", op: "identity", inputs: [t], output: t, attrs: {} };
  };
  assertEquals(ids(layer("qint8")), []);
  assertEquals(ids(layer("qint16")), []);
  const [v] = checkLayer(layer("qint32"), BAYES);
  assertEquals([v.limit, v.actual], ["tensor.bytes", String(2 ** 31)]);
});

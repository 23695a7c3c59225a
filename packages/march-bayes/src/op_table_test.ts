import { assert, assertEquals, assertThrows } from "@std/assert";
import { March } from "./march.ts";
import { BAYES_OP_TABLE, GENERAL_LIMITS, opTable } from "./op_table.ts";

Deno.test("BAYES_OP_TABLE has an entry for every op the graph IR names", () => {
  const ops = [
    "conv2d",
    "linear",
    "add",
    "sub",
    "mul",
    "cat",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "max_pool2d",
    "relu",
    "relu6",
    "pad",
    "interpolate",
    "quant",
    "dequant",
    "identity",
    "dropout",
    "flatten",
    "reshape",
    "constant",
    "sigmoid",
    "tanh",
    "hardswish",
    "hardsigmoid",
    "silu",
    "leaky_relu",
    "clip",
    "exp",
    "transpose",
    "slice",
    "mean",
    "matmul",
    "conv_transpose2d",
    "softmax",
  ];
  assertEquals(Object.keys(BAYES_OP_TABLE).sort(), [...ops].sort());
  for (const [op, entry] of Object.entries(BAYES_OP_TABLE)) {
    assertEquals(entry.op, op);
    assert(entry.inputDtypes.length > 0 && entry.minInputs <= entry.maxInputs, op);
    assert(entry.dtypeSource.length > 20, `${op} says where its dtypes come from`);
  }
});

Deno.test("BAYES_OP_TABLE limits each carry a rule and a published or hqat source", () => {
  const seen = new Set<string>();
  for (const limit of [...Object.values(BAYES_OP_TABLE).flatMap((e) => e.limits), ...GENERAL_LIMITS]) {
    seen.add(limit.id);
    assert(limit.rule.length > 0, limit.id);
    assert(/horizon_plugin_pytorch|rdk_doc|hqat choice/.test(limit.source), `${limit.id}: ${limit.source}`);
  }
  assert(seen.size >= 25);
});

Deno.test("BAYES_OP_TABLE holds the published conv2d, linear and pooling bounds", () => {
  const bound = (op: string, id: string) => BAYES_OP_TABLE[op].limits.find((l) => l.id === id)!.bound;
  assertEquals(bound("conv2d", "conv2d.kernel"), 31);
  assertEquals(bound("conv2d", "conv2d.in_channels"), 8192);
  assertEquals(bound("conv2d", "conv2d.out_channels"), 8192);
  assertEquals(bound("conv2d", "conv2d.out_channels_model_output"), 16384);
  assertEquals(bound("conv2d", "conv2d.dilation"), 16);
  assertEquals(bound("conv2d", "conv2d.padding"), 256);
  assertEquals(bound("linear", "linear.in_features"), 8192);
  assertEquals(bound("avg_pool2d", "avg_pool2d.kernel"), 256);
  assertEquals(bound("max_pool2d", "max_pool2d.padding"), 255);
  assertEquals(bound("cat", "cat.hwc"), 65536);
});

Deno.test("opTable() shares the BAYES table with BAYES_E and throws for BERNOULLI2", () => {
  assertEquals(opTable(March.BAYES), BAYES_OP_TABLE);
  assertEquals(opTable(March.BAYES_E), BAYES_OP_TABLE);
  assertThrows(() => opTable(March.BERNOULLI2), RangeError, 'no operator table for march "bernoulli2"');
});

import { assertEquals, assertThrows } from "@std/assert";
import { qtensor } from "./dtypes.ts";
import { checkAccumulator, prepareIntLayer } from "./int_accumulate.ts";

Deno.test("prepareIntLayer() validates operands and resolves bias and accumulator scales", () => {
  const x = qtensor(new Int8Array(6), { shape: [2, 3], scale: 0.5 });
  const w = qtensor(new Int8Array(6), { shape: [2, 3], scale: [0.25, 0.5], axis: 0 });
  const l = prepareIntLayer(x, w, { quantizedBias: Int32Array.of(3, -3), op: "fc" });
  assertEquals([Array.from(l.bias ?? []), Array.from(l.accScale)], [[3, -3], [0.125, 0.25]]);
  assertThrows(
    () => prepareIntLayer(x, w, { bias: [1, 1], quantizedBias: Int32Array.of(1, 1), op: "fc" }),
    TypeError,
    "either",
  );
  assertThrows(() => prepareIntLayer(x, w, { bias: [1], op: "fc" }), RangeError, "biases");
  const w16 = qtensor(new Int16Array(6), { shape: [2, 3], scale: 1 });
  assertThrows(() => prepareIntLayer(x, w16, { op: "fc" }), TypeError, "weight must be qint8");
  const xpc = qtensor(new Int8Array(6), { shape: [2, 3], scale: [1, 1], axis: 0 });
  assertThrows(() => prepareIntLayer(xpc, w, { op: "fc" }), RangeError, "per-tensor");
  const wBad = qtensor(new Int8Array(6), { shape: [2, 3], scale: [1, 1, 1], axis: 1 });
  assertThrows(() => prepareIntLayer(x, wBad, { op: "fc" }), RangeError, "axis 0");
});

Deno.test("checkAccumulator() names the layer and channel that can overflow", () => {
  const w = new Int8Array(2 * 70000);
  w.fill(127, 70000);
  const e = assertThrows(
    () =>
      checkAccumulator(w, { channels: 2, inputRange: { qmin: -32768, qmax: 32767 }, layer: "layer4.conv" }),
    RangeError,
  );
  assertEquals(e.message.startsWith("layer4.conv: output channel 1 can reach"), true);
  assertThrows(
    () => checkAccumulator(new Int8Array(5), { channels: 2, inputRange: { qmin: -1, qmax: 1 } }),
    RangeError,
  );
});

import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { dtypeBytes, elementsPerFrame, type LayerDesc, nchwOf, validateLayerDesc } from "./layer_desc.ts";

const relu: LayerDesc = {
  name: "r",
  op: "relu",
  inputs: [{ shape: [1, 8, 4, 4], dtype: "qint8" }],
  output: { shape: [1, 8, 4, 4], dtype: "qint8" },
  attrs: {},
};

Deno.test("dtypeBytes() gives 1, 2, 4 and 4 bytes", () => {
  assertEquals(["qint8", "qint16", "qint32", "float32"].map((d) => dtypeBytes(d as "qint8")), [1, 2, 4, 4]);
});

Deno.test("nchwOf() reads 4-D, 2-D, 3-D and 5-D shapes", () => {
  assertEquals(nchwOf([2, 3, 5, 7]), { n: 2, c: 3, h: 5, w: 7 });
  assertEquals(nchwOf([4, 10]), { n: 4, c: 10, h: 1, w: 1 });
  assertEquals(nchwOf([1, 6, 9]), { n: 1, c: 6, h: 1, w: 9 });
  assertEquals(nchwOf([1, 2, 3, 4, 5]), { n: 1, c: 2, h: 12, w: 5 });
});

Deno.test("nchwOf() keeps every element: c·h·w equals elementsPerFrame()", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }), (shape) => {
      const d = nchwOf(shape);
      return d.n === shape[0] && d.c * d.h * d.w === elementsPerFrame(shape);
    }),
    { seed: 42, numRuns: 200 },
  );
});

Deno.test("validateLayerDesc() accepts a well-formed layer", () => {
  validateLayerDesc(relu);
});

Deno.test("validateLayerDesc() names the layer and the field of a malformed description", () => {
  assertThrows(() => validateLayerDesc({ ...relu, name: "" }), TypeError, "needs a non-empty name");
  assertThrows(() => validateLayerDesc({ ...relu, op: "" }), TypeError, "r: op must be a non-empty string");
  assertThrows(
    () => validateLayerDesc({ ...relu, inputs: [{ shape: [1, 2.5], dtype: "qint8" }] }),
    TypeError,
    "r.inputs[0]: shape [1,2.5] has a dimension that is not a positive integer",
  );
  assertThrows(
    () => validateLayerDesc({ ...relu, output: { shape: [1, 8], dtype: "int8" as "qint8" } }),
    TypeError,
    'r.output: unknown dtype "int8"',
  );
  assertThrows(
    () => validateLayerDesc({ ...relu, attrs: { kernel: [3, 0] } }),
    TypeError,
    "r.attrs.kernel: expected a pair of integers ≥ 1, got [3,0]",
  );
  assertThrows(
    () => validateLayerDesc({ ...relu, attrs: { groups: 0 } }),
    TypeError,
    "r.attrs.groups: expected a positive integer",
  );
  assertThrows(
    () => validateLayerDesc({ ...relu, output: { shape: [], dtype: "qint8" } }),
    TypeError,
    "non-empty array",
  );
});

import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { hardwareFigures } from "./hardware.ts";
import { March } from "./march.ts";

Deno.test("hardwareFigures() gives BAYES figures, each with a unit and a source", () => {
  const f = hardwareFigures(March.BAYES);
  assertEquals(f.march, "bayes");
  for (const [key, value] of Object.entries(f)) {
    if (key === "march") continue;
    const figure = value as { unit: string; source: string };
    assert(figure.unit.length > 0, `${key} has a unit`);
    assert(figure.source.length > 20, `${key} has a source`);
    assert(
      /hqat choice|derived|published|rdk_doc|J5/i.test(figure.source),
      `${key} says where it comes from`,
    );
  }
});

Deno.test("hardwareFigures() MAC array matches the published 128 TOPS over two cores at the chosen clock", () => {
  const f = hardwareFigures(March.BAYES);
  const a = f.macArray.value.qint8;
  const topsPerChip = a.pixels * a.reduction * a.outputs * 2 * f.clockHz.value * f.cores.value / 1e12;
  assertAlmostEquals(topsPerChip / 128, 1, 0.03);
  const b = f.macArray.value.qint16;
  assertEquals(b.pixels * b.reduction * b.outputs * 2, a.pixels * a.reduction * a.outputs);
});

Deno.test("hardwareFigures() feature block holds 256 elements, the published alignment step", () => {
  const { h, w, c } = hardwareFigures(March.BAYES).featureBlock.value;
  assertEquals(h * w * c, hardwareFigures(March.BAYES).ioAlignment.value.channelByteBase);
});

Deno.test("hardwareFigures() throws for a march without figures", () => {
  assertThrows(
    () => hardwareFigures(March.BAYES_E),
    RangeError,
    'hardware figures for march "bayes" only, not "bayes-e"',
  );
  assertThrows(() => hardwareFigures(March.BERNOULLI2), RangeError, 'not "bernoulli2"');
});

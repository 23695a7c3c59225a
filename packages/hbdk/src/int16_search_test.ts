import { assert, assertEquals, assertGreater, assertLessOrEqual } from "@std/assert";
import { ptq } from "@hqat/fx";
import { March } from "@hqat/march-bayes";
import { Conv2d, DeQuantStub, initState, QuantStub, ReLU, Sequential } from "@hqat/nn";
import { default_calib_8bit_fake_quant_qconfig as q8 } from "@hqat/qtensor";
import { randomKey, randomNormal } from "@hqat/tensor";
import { formatInt16Steps, searchInt16 } from "../mod.ts";

const m = new Sequential(
  new QuantStub(),
  new Conv2d(3, 16, 3, { padding: 1 }),
  new ReLU(),
  new Conv2d(16, 16, 3, { padding: 1 }),
  new ReLU(),
  new Conv2d(16, 4, 1),
  new DeQuantStub(),
);
const x = randomNormal(randomKey(1), [8, 3, 16, 16]);
const r = ptq(m, initState(m, randomKey(0)), x, { qconfig: { "": q8 }, march: March.BAYES });

Deno.test("searchInt16() promotes the most helpful layers until the cosine target, with a loose budget", () => {
  const s = searchInt16(r.prepared, r.state, { minCosine: 0.99997, batches: [x], maxLatencyUs: 1e9 });
  assertEquals(s.steps[0].int16, []);
  assert(s.reached, formatInt16Steps(s.steps));
  assertGreater(s.int16.length, 0);
  assertEquals(s.int16[0], s.ranking[0].node);
  const kept = s.steps.filter((t) => t.accepted);
  for (let i = 1; i < kept.length; i++) {
    assertGreater(kept[i].int16.length, kept[i - 1].int16.length);
    assertGreater(kept[i].cosine, kept[i - 1].cosine);
  }
  assertGreater(kept.at(-1)!.cosine, kept[0].cosine);
  assert(s.intModel.buffers.some((b) => b.dtype === "qint16"));
  assert(formatInt16Steps(s.steps).includes("int8 everywhere"));
});

Deno.test("searchInt16() never keeps a step over the latency budget", () => {
  const base = searchInt16(r.prepared, r.state, { minCosine: 0, batches: [x] }).steps[0];
  const s = searchInt16(r.prepared, r.state, {
    minCosine: 0.99999999,
    batches: [x],
    maxLatencyUs: base.latencyUs,
  });
  for (const t of s.steps.filter((t) => t.accepted)) assertLessOrEqual(t.latencyUs, base.latencyUs);
  const over = s.steps.filter((t) => !t.accepted && t.reason === "over the budget");
  for (const t of over) assertGreater(t.latencyUs, base.latencyUs);
  assertGreater(over.length, 0, formatInt16Steps(s.steps));
  const f = searchInt16(r.prepared, r.state, { minCosine: 0.99999999, batches: [x], minFps: base.fps });
  for (const t of f.steps.filter((t) => t.accepted)) assert(t.fps >= base.fps);
});

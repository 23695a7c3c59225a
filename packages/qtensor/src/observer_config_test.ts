import { assertEquals, assertThrows } from "@std/assert";
import { createObserver, type ObserverConfig } from "./observer_config.ts";

Deno.test("createObserver() builds each kind with its options, name and range", () => {
  const configs: ObserverConfig[] = [
    { kind: "minMax", averagingConstant: 0.5, axis: 0 },
    { kind: "percentile", percentile: 99, bins: 64 },
    { kind: "mse", stride: 5 },
    { kind: "kl", bins: 512 },
    { kind: "fixedScale", scale: 1 / 128 },
  ];
  for (const c of configs) {
    const obs = createObserver(c, { name: `m.${c.kind}`, dtype: "qint16" });
    assertEquals([obs.kind, obs.name, obs.qmin, obs.qmax], [c.kind, `m.${c.kind}`, -32768, 32767]);
    assertThrows(() => obs.update(obs.initialState, [NaN], { shape: [1] }), RangeError, `"m.${c.kind}"`);
  }
  const mm = createObserver({ kind: "minMax", averagingConstant: 0.5 });
  const st = mm.update(mm.update(mm.initialState, [0, 2]), [0, 4]);
  assertEquals(st.max[0], 3);
  assertThrows(() => createObserver({ kind: "entropy" } as unknown as ObserverConfig), TypeError, "entropy");
});

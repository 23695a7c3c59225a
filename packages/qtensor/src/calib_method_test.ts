import { assertEquals, assertThrows } from "@std/assert";
import { CALIB_METHODS, calibObserverConfig, calibQConfigFor, isCalibMethod } from "./calib_method.ts";
import { createObserver } from "./observer_config.ts";

Deno.test("calibQConfigFor() gives each method's observer on activations and MinMax weights", () => {
  for (const m of CALIB_METHODS) {
    for (const dtype of ["qint8", "qint16"] as const) {
      const q = calibQConfigFor(m, { dtype });
      assertEquals(q.activation?.observer, calibObserverConfig(m));
      assertEquals([q.activation?.dtype, q.output.dtype, q.weight.observer.kind], [dtype, dtype, "minMax"]);
      assertEquals(createObserver(q.activation!.observer, { dtype }).qmax, dtype === "qint8" ? 127 : 32767);
    }
  }
  assertEquals(calibQConfigFor("mse").name, "calib_8bit_mse_fake_quant_qconfig");
  assertEquals(isCalibMethod("mix"), false);
  assertThrows(() => calibObserverConfig("mix" as never), TypeError, "mix");
});

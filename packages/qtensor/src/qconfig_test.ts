import { assert, assertEquals } from "@std/assert";
import { createObserver } from "./observer_config.ts";
import {
  default_calib_16bit_fake_quant_qconfig,
  default_calib_8bit_fake_quant_qconfig,
  default_calib_8bit_weight_32bit_out_fake_quant_qconfig,
  default_qat_16bit_fake_quant_qconfig,
  default_qat_8bit_fake_quant_qconfig,
  default_qat_8bit_weight_32bit_out_fake_quant_qconfig,
  defaultCalib16bitFakeQuantQconfig,
  defaultCalib8bitFakeQuantQconfig,
  defaultCalib8bitWeight32bitOutFakeQuantQconfig,
  defaultQat16bitFakeQuantQconfig,
  defaultQat8bitFakeQuantQconfig,
  defaultQat8bitWeight32bitOutFakeQuantQconfig,
  QCONFIG_PRESETS,
} from "./qconfig.ts";

Deno.test("qconfig presets describe activation, weight and output as the seed's qconfigs do", () => {
  const table = [
    [default_calib_8bit_fake_quant_qconfig, defaultCalib8bitFakeQuantQconfig, "qint8", "percentile", "qint8"],
    [default_qat_8bit_fake_quant_qconfig, defaultQat8bitFakeQuantQconfig, "qint8", "minMax", "qint8"],
    [
      default_calib_8bit_weight_32bit_out_fake_quant_qconfig,
      defaultCalib8bitWeight32bitOutFakeQuantQconfig,
      null,
      null,
      "qint32",
    ],
    [
      default_qat_8bit_weight_32bit_out_fake_quant_qconfig,
      defaultQat8bitWeight32bitOutFakeQuantQconfig,
      null,
      null,
      "qint32",
    ],
    [
      default_calib_16bit_fake_quant_qconfig,
      defaultCalib16bitFakeQuantQconfig,
      "qint16",
      "percentile",
      "qint16",
    ],
    [default_qat_16bit_fake_quant_qconfig, defaultQat16bitFakeQuantQconfig, "qint16", "minMax", "qint16"],
  ] as const;
  for (const [q, twin, actDtype, actObserver, out] of table) {
    assert(q === twin);
    assert(QCONFIG_PRESETS[q.name] === q);
    assertEquals(q.activation?.dtype ?? null, actDtype);
    assertEquals(q.activation?.observer.kind ?? null, actObserver);
    assertEquals(q.output.dtype, out);
    assertEquals(q.weight.dtype, "qint8");
    assertEquals(q.weight.axis, 0);
    assertEquals(q.weight.observer, { kind: "minMax", averagingConstant: 0.01, axis: 0 });
    assertEquals(q.weight.fakeQuant, { QAT: true, CALIBRATION: false, VALIDATION: true });
    if (q.activation !== null) {
      assertEquals(q.activation.fakeQuant, { QAT: true, CALIBRATION: false, VALIDATION: true });
    }
    assert(Object.isFrozen(q));
  }
  assertEquals(default_calib_8bit_fake_quant_qconfig.activation?.observer, {
    kind: "percentile",
    percentile: 99.99,
    bins: 2048,
    averagingConstant: 0.01,
  });
});

Deno.test("qconfig observers build into working observers", () => {
  const q = default_calib_16bit_fake_quant_qconfig;
  const act = createObserver(q.activation!.observer, { name: "conv1", dtype: q.activation!.dtype });
  const wt = createObserver(q.weight.observer, { name: "conv1.weight", dtype: q.weight.dtype });
  assertEquals([act.kind, act.qmax, wt.kind, wt.axis], ["percentile", 32767, "minMax", 0]);
  const st = wt.update(wt.initialState, [1, -2, 3, 4], { shape: [2, 2] });
  assertEquals(wt.scale(st).length, 2);
});

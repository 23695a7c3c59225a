import { assertEquals, assertThrows } from "@std/assert";
import { FAKE_QUANT_STATE_TABLE, FakeQuantState, parseFakeQuantState } from "./fake_quant_state.ts";

Deno.test("FAKE_QUANT_STATE_TABLE holds the SPEC.md table", () => {
  assertEquals(FAKE_QUANT_STATE_TABLE[FakeQuantState.QAT], {
    modelMode: "train",
    observersUpdate: true,
    fakeQuant: true,
  });
  assertEquals(FAKE_QUANT_STATE_TABLE[FakeQuantState.CALIBRATION], {
    modelMode: "eval",
    observersUpdate: true,
    fakeQuant: false,
  });
  assertEquals(FAKE_QUANT_STATE_TABLE[FakeQuantState.VALIDATION], {
    modelMode: "eval",
    observersUpdate: false,
    fakeQuant: true,
  });
  assertEquals(Object.keys(FakeQuantState), ["QAT", "CALIBRATION", "VALIDATION"]);
});

Deno.test("parseFakeQuantState() accepts the three names only", () => {
  assertEquals(parseFakeQuantState("VALIDATION"), FakeQuantState.VALIDATION);
  assertThrows(() => parseFakeQuantState("qat"), TypeError, "QAT, CALIBRATION or VALIDATION");
});

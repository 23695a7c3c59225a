import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { parseDeviceChoice, selectDevice } from "./select.ts";
import { GPU_TEST } from "./gpu_test_util.ts";

const none = { available: false, software: false, reason: "requestAdapter() found no adapter" } as const;
const software = {
  available: true,
  software: true,
  reason: "software adapter llvmpipe (LLVM 15.0.6, 256 bits)",
} as const;

Deno.test("parseDeviceChoice accepts auto, cpu and webgpu and names them when rejecting", () => {
  for (const d of ["auto", "cpu", "webgpu"] as const) assertEquals(parseDeviceChoice(d), d);
  assertThrows(() => parseDeviceChoice("gpu"), RangeError, "auto, cpu, webgpu");
});

Deno.test("auto falls back to the CPU without an adapter and says why; webgpu is an error there", async () => {
  const s = await selectDevice("auto", { probe: none });
  assert(s.kind === "cpu" && s.reason.includes("no adapter"));
  await assertRejects(() => selectDevice("webgpu", { probe: none }), Error, "WebGPU is unavailable");
});

Deno.test("auto prefers the CPU over a software adapter and says so", async () => {
  const s = await selectDevice("auto", { probe: software });
  assert(s.kind === "cpu" && s.gpu === undefined);
  assert(s.reason.includes("llvmpipe") && s.reason.includes("--device webgpu"), s.reason);
});

Deno.test({
  name: "webgpu opens the adapter, software or not",
  ...GPU_TEST,
  fn: async () => {
    const s = await selectDevice("webgpu");
    try {
      assert(s.kind === "webgpu" && s.gpu !== undefined && s.reason.startsWith("device: webgpu"));
    } finally {
      s.gpu?.destroy();
    }
  },
});

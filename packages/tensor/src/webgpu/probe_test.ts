import { assert, assertEquals } from "@std/assert";
import { isSoftwareAdapter, probeWebGpu } from "./probe.ts";
import { GPU_AVAILABLE } from "./gpu_test_util.ts";

Deno.test("probeWebGpu() reports an adapter exactly when a device opens, and names it", async () => {
  const p = await probeWebGpu();
  assertEquals(p.available, GPU_AVAILABLE);
  if (p.available) {
    assert(p.adapterInfo !== undefined && p.reason.includes("adapter"));
    assertEquals(p.software, isSoftwareAdapter(p.adapterInfo));
  } else {
    assert(p.reason.length > 0);
  }
});

Deno.test("isSoftwareAdapter() recognises software rasterizers and fallback adapters", () => {
  const info = (description: string, vendor = "") => ({ vendor, architecture: "", device: "", description });
  for (
    const d of [
      "llvmpipe (LLVM 15.0.6, 256 bits)",
      "Lavapipe",
      "SwiftShader Device (Subzero)",
      "Microsoft Basic Render Driver (WARP)",
    ]
  ) {
    assert(isSoftwareAdapter(info(d)), d);
  }
  assert(isSoftwareAdapter({ ...info("Some GPU"), isFallbackAdapter: true }));
  assert(!isSoftwareAdapter(info("NVIDIA H100 80GB HBM3", "nvidia")));
});

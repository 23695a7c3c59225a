import { assertEquals, assertThrows } from "@std/assert";
import {
  getKernelSpin,
  getKernelThreads,
  readyThreads,
  runParts,
  setKernelSpin,
  setKernelThreads,
} from "./thread_pool.ts";
import { kernelRuntime } from "./wasm_runtime.ts";

async function twoThreads(): Promise<void> {
  setKernelThreads(2);
  kernelRuntime();
  for (let i = 0; i < 500 && readyThreads() < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assertEquals(readyThreads(), 2, "a worker should be ready");
}

Deno.test("runParts() runs every part exactly once, whether the worker wakes in time or its post is taken back", async () => {
  const before = [getKernelThreads(), getKernelSpin()] as const;
  try {
    await twoThreads();
    const rt = kernelRuntime()!;
    for (const spin of [0, 100, 2000]) {
      setKernelSpin(spin);
      rt.reset();
      const slots = 8, width = 4096;
      const y = rt.put(new Float32Array(slots * width));
      const one = rt.put(Float32Array.of(1));
      const kernel = rt.kernelIndex("add_bias");
      const want = new Float32Array(slots * width);
      // Tiny parts (done by the calling thread before the worker wakes: the post is taken back) alternate
      // with large ones (the worker takes some), and the part count varies from 1 to 8.
      for (let i = 0; i < 1500; i++) {
        const count = 1 + (i % slots), len = i % 3 === 0 ? width : 1 + (i % 7);
        const parts: number[][] = [];
        for (let s = 0; s < count; s++) {
          // add_bias(y, bias, n = 1, co = 1, p = len): y[0..len) += bias[0]
          parts.push([y + 4 * s * width, one, 1, 1, len]);
          for (let j = 0; j < len; j++) want[s * width + j]++;
        }
        runParts(kernel, parts);
      }
      assertEquals(rt.take(y, slots * width), want, `spin ${spin} µs`);
    }
  } finally {
    setKernelThreads(before[0]);
    setKernelSpin(before[1]);
  }
});

Deno.test("setKernelSpin() takes 0 to 10,000 µs", () => {
  const before = getKernelSpin();
  try {
    setKernelSpin(0);
    assertEquals(getKernelSpin(), 0);
    setKernelSpin(10_000);
    assertEquals(getKernelSpin(), 10_000);
    assertThrows(() => setKernelSpin(-1), RangeError, "0 to 10000");
    assertThrows(() => setKernelSpin(1.5), RangeError, "0 to 10000");
    assertThrows(() => setKernelSpin(10_001), RangeError, "0 to 10000");
  } finally {
    setKernelSpin(before);
  }
});

import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { BufferPool, sizeClass } from "./buffer_pool.ts";
import { GPU_TEST, testDevice } from "./gpu_test_util.ts";

Deno.test("sizeClass() rounds up by less than a quarter, to at least 256 bytes", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (n) => {
      const c = sizeClass(n);
      return c >= n && c >= 256 && (n <= 256 || c < n * 1.25 + 1) && c % 4 === 0 && sizeClass(c) === c;
    }),
    { seed: 42, numRuns: 500 },
  );
  assertThrows(() => sizeClass(-1), RangeError);
});

Deno.test({
  name: "BufferPool reuses freed buffers of a class, holds releases back until settle(), and counts",
  ...GPU_TEST,
  async fn() {
    const dev = await testDevice();
    const pool = new BufferPool(dev.gpu, { maxFreeBytes: 4096 });
    const a = pool.acquire("storage", 1000);
    assertEquals(pool.stats().inUseBytes, 1024);
    pool.holdReleases();
    pool.release(a);
    const b = pool.acquire("storage", 1000);
    assert(a !== b, "a held-back buffer is not reused before settle()");
    pool.settle();
    const c = pool.acquire("storage", 900);
    assert(c === a, "a settled buffer is reused");
    assert(pool.acquire("uniform", 900) !== a, "kinds do not share buffers");
    assertThrows(
      () => {
        pool.release(b);
        pool.release(b);
      },
      Error,
      "released twice",
    );
    const big = [pool.acquire("storage", 3000), pool.acquire("storage", 3000)];
    big.forEach((x) => pool.release(x));
    const s = pool.stats();
    assert(s.bytes - s.inUseBytes <= 4096, "free bytes stay under maxFreeBytes");
    assertEquals(s.created, 5);
    pool.destroy();
    assertEquals(pool.stats().buffers, 0);
  },
});

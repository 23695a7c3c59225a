import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { gemmDescriptor, type GemmSpec, gemmWasm, rowMajor } from "./gemm.ts";
import { forgetKept, keptPacked } from "./kept.ts";
import { getKernelThreads, readyThreads, setKernelThreads } from "./thread_pool.ts";
import { kernelRuntime } from "./wasm_runtime.ts";
import { lcgFloats } from "./lcg_test_util.ts";

const rt = kernelRuntime()!;

const bits = (a: Float32Array) => Array.from(new Int32Array(a.slice().buffer));

/** C = A · B (+ C, or with an epilogue) for row-major A [m, k], with A's panels packed once or packed by the call. */
function product(
  m: number,
  n: number,
  k: number,
  options: { packed: boolean; accumulate: boolean; epilogue: boolean; seed: number },
): Float32Array {
  const a = lcgFloats(m * k, options.seed),
    b = lcgFloats(k * n, options.seed + 1),
    c = lcgFloats(m * n, options.seed + 2);
  rt.reset();
  const { raw, packed } = options.packed ? rt.keepPacked(a, m) : { raw: rt.put(a), packed: 0 };
  assert(!options.packed || packed !== 0, "the packed copy is kept right after a reset");
  const bp = rt.put(b), cp = rt.put(c);
  const epilogue = options.epilogue
    ? rt.putInts([rt.put(lcgFloats(m, 9)), rt.put(lcgFloats(m, 10)), rt.put(Float32Array.of(-0.5, 0.75)), 0])
    : undefined;
  const spec: GemmSpec = {
    m,
    n,
    k,
    a: rowMajor(raw >> 2, k),
    b: rowMajor(bp >> 2, n),
    c: rowMajor(cp >> 2, n),
    accumulate: options.accumulate,
    epilogue,
    packedA: options.packed ? packed : undefined,
  };
  gemmWasm(rt, spec);
  const out = rt.take(cp, m * n);
  rt.reset();
  return out;
}

Deno.test("gemmWasm() with A packed once gives the bits of packing it on every call", async () => {
  const before = getKernelThreads();
  try {
    for (const threads of [1, 2]) {
      setKernelThreads(threads);
      for (let i = 0; i < 300 && readyThreads() < threads; i++) await new Promise((r) => setTimeout(r, 10));
      fc.assert(
        fc.property(
          // rows past one row block (96) and ragged against the panels (6), k past one panel (256)
          fc.integer({ min: 1, max: 200 }),
          fc.integer({ min: 1, max: 300 }),
          fc.integer({ min: 1, max: 600 }),
          fc.boolean(),
          fc.boolean(),
          fc.nat(1000),
          (m, n, k, accumulate, epilogue, seed) => {
            const once = product(m, n, k, { packed: true, accumulate, epilogue, seed });
            const each = product(m, n, k, { packed: false, accumulate, epilogue, seed });
            assertEquals(bits(once), bits(each));
          },
        ),
        { numRuns: 25 },
      );
    }
  } finally {
    setKernelThreads(before);
  }
});

Deno.test("gemm_run() packs A itself for a block of rows that does not start on a panel", () => {
  const m = 20, n = 16, k = 40;
  const a = lcgFloats(m * k, 3), b = lcgFloats(k * n, 4);
  const rows = (packedA: boolean) => {
    rt.reset();
    const { raw, packed } = rt.keepPacked(a, m);
    const bp = rt.put(b), cp = rt.put(new Float32Array(m * n));
    const desc = gemmDescriptor(rt, {
      m,
      n,
      k,
      a: rowMajor(raw >> 2, k),
      b: rowMajor(bp >> 2, n),
      c: rowMajor(cp >> 2, n),
      packedA: packedA ? packed : undefined,
    });
    rt.run("gemm_run", [[desc, 1, m, 0, n]], rt.gemmScratch());
    return rt.take(cp, m * n);
  };
  const got = rows(true);
  assertEquals(bits(got), bits(rows(false)));
  assert(got[0] === 0 && got[n] !== 0, "row 0 is left, the rows from 1 on are computed");
});

Deno.test("keepPacked() packs once, finds the panels again, and packs afresh once the array is written", () => {
  const a = lcgFloats(30 * 50, 5);
  rt.reset();
  const first = rt.keepPacked(a, 30);
  rt.reset();
  assertEquals(rt.keepPacked(a, 30), first);
  assertEquals(keptPacked(a, 30)?.ptr, first.packed);
  assertEquals(keptPacked(a, 15), undefined, "another row count is another packing");
  forgetKept(a);
  assertEquals(keptPacked(a, 30), undefined);
  rt.reset();
  rt.alloc(4);
  assertEquals(rt.keepPacked(a, 30).packed, 0, "nothing is kept once the operation has allocated");
  rt.reset();
});

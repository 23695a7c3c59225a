import { assert, assertEquals, assertThrows } from "@std/assert";
import { intRequantFast } from "./int_requant.ts";
import { residentBytes } from "./resident.ts";
import { kernelRuntime } from "./wasm_runtime.ts";

Deno.test("resident bytes: integer views go into the kernels without a copy and outlive resets", () => {
  const rt = kernelRuntime();
  const r = residentBytes(4096);
  if (!rt || !r) return; // no WebAssembly kernels here: nothing resident to test
  const ints = new Int32Array(r.buffer, r.byteOffset, 1024);
  ints.set(Array.from({ length: 1024 }, (_, i) => i * 1000 - 500_000));
  assertEquals(rt.putBytes(ints), ints.byteOffset);
  // A copy for any other array, at a fresh address past the region.
  const elsewhere = Int32Array.from(ints);
  assert(rt.putBytes(elsewhere) >= r.byteOffset + r.length + 64);
  rt.reset();
  // The kernels' scratch (and growth of the memory) never lands in the region.
  const big = rt.alloc(1 << 22);
  assert(big >= r.byteOffset + r.length + 64);
  rt.reset();
  const params = {
    multiplier: Int32Array.of(16384),
    shift: Uint8Array.of(15),
    lo: -128,
    hi: [127],
    bytes: 1 as const,
  };
  const fromResident = intRequantFast(ints, {
    layout: { outer: 1, channels: 1, inner: 1024 },
    requant: params,
  });
  const fromCopy = intRequantFast(elsewhere, {
    layout: { outer: 1, channels: 1, inner: 1024 },
    requant: params,
  });
  assertEquals([...fromResident], [...fromCopy]);
  // The kernels only read it.
  assertEquals([...ints], Array.from({ length: 1024 }, (_, i) => i * 1000 - 500_000));
});

Deno.test("resident bytes: a larger region starts at the same address and keeps earlier views valid", () => {
  const small = residentBytes(256);
  if (!small) return;
  small.fill(7);
  const large = residentBytes(64 << 20);
  assert(large !== undefined && large.byteOffset === small.byteOffset && large.length === 64 << 20);
  large[0] = 42;
  assertEquals(small[0], 42);
  assertEquals(small[255], 7);
  assertThrows(() => residentBytes(-1), RangeError);
});

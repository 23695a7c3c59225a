import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { returnFloat32 } from "./float_pool.ts";
import { forgetKept, keptCopy } from "./kept.ts";
import { sgdUpdateReference } from "./optim_reference.ts";
import { kernelRuntime } from "./wasm_runtime.ts";

const rt = kernelRuntime()!;

/** `floats` floats counting up from `from`. */
const ramp = (floats: number, from = 0) => Float32Array.from({ length: floats }, (_, i) => from + i);

/** What the kernels read at the address `keep` gives for `a`, right after a reset. */
function kept(a: Float32Array): { ptr: number; values: Float32Array } {
  rt.reset();
  const ptr = rt.keep(a);
  return { ptr, values: rt.take(ptr, a.length, new Float32Array(a.length)) };
}

Deno.test("keep() copies an array once and finds the copy again after resets", () => {
  const a = ramp(1 << 16);
  const first = kept(a);
  assertEquals(first.values, a);
  rt.reset();
  rt.alloc(1 << 16); // an operation's scratch, then the next one's
  rt.reset();
  const second = kept(a);
  assertEquals(second.ptr, first.ptr);
  assertEquals(second.values, a);
});

Deno.test("keep() copies afresh once the array was written through any in-place path", () => {
  const a = ramp(1 << 15, 1);
  kept(a);
  // a kernel's result copied into the array
  rt.reset();
  const p = rt.put(ramp(1 << 15, 7));
  rt.take(p, a.length, a);
  assertEquals(keptCopy(a), undefined);
  assertEquals(kept(a).values, ramp(1 << 15, 7));
  // an optimizer's in-place update (the reference kernels write into the arrays marked inPlace)
  const [r] = sgdUpdateReference(
    [{ param: a, grad: new Float32Array(a.length).fill(1), inPlace: true }],
    { negLr: -1, weightDecay: 0, momentum: 0, keep: 1, nesterov: false, first: true },
  );
  assert(r.param === a);
  assertEquals(kept(a).values, ramp(1 << 15, 6));
  // the float pool taking it back (its next holder writes it)
  assert(returnFloat32(a));
  assertEquals(keptCopy(a), undefined);
  // and the explicit call
  kept(a);
  forgetKept(a);
  assertEquals(keptCopy(a), undefined);
});

Deno.test("keep() after an allocation copies into fresh slots and keeps nothing", () => {
  const a = ramp(1000);
  rt.reset();
  rt.alloc(16);
  const ptr = rt.keep(a);
  assertEquals(rt.take(ptr, a.length), a);
  assertEquals(keptCopy(a), undefined);
});

Deno.test("keep() drops every copy when the resident region grows, and past its budget", () => {
  const a = ramp(4096, 3);
  const before = kept(a).ptr;
  const r = rt.resident(1 << 20);
  rt.resident(r.byteOffset + (8 << 20)); // more than any test asked for so far
  const after = kept(a);
  assertNotEquals(after.ptr, before);
  assertEquals(after.values, a);
  // two arrays over the 64 MiB budget: the second goes into fresh slots while the first stays valid for the
  // operation, and the next reset drops every copy
  const big = [ramp(9 << 20), ramp(9 << 20, 1)];
  rt.reset();
  const first = rt.keep(big[0]), second = rt.keep(big[1]);
  assertEquals(keptCopy(big[1]), undefined);
  assertEquals(rt.take(first, 8), big[0].subarray(0, 8));
  assertEquals(rt.take(second, 8), big[1].subarray(0, 8));
  const generation = keptCopy(big[0])!.generation;
  const again = kept(big[1]);
  assertEquals(again.ptr, after.ptr, "the region starts over");
  assertEquals(again.values[5], 6);
  assert(keptCopy(big[1])!.generation > generation);
  assertEquals(kept(big[0]).values[5], 5);
});

import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { type KernelSpec, packUniforms, shaderOf, uniformLayout, type WgslFn } from "./kernel_spec.ts";

Deno.test("uniformLayout() packs scalars and arrays word by word, padded to whole vec4s", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 8 }), (lengths) => {
      const decls = lengths.map((l, i) => ({
        name: `u${i}`,
        type: "u32" as const,
        length: l === 0 ? undefined : l,
      }));
      const layout = uniformLayout(decls);
      const words = lengths.reduce((s, l) => s + Math.max(1, l), 0);
      assertEquals(layout.words, Math.max(4, Math.ceil(words / 4) * 4));
      let off = 0;
      decls.forEach((d, i) => {
        assertEquals(layout.offsets.get(d.name), off);
        off += Math.max(1, lengths[i]);
      });
    }),
    { seed: 42, numRuns: 100 },
  );
  assertThrows(
    () => uniformLayout([{ name: "a", type: "u32" }, { name: "a", type: "f32" }]),
    TypeError,
    "declared twice",
  );
});

Deno.test("packUniforms() writes f32 bit patterns and two's-complement integers, and checks every value", () => {
  const decls = [
    { name: "s", type: "f32" as const },
    { name: "k", type: "i32" as const },
    { name: "v", type: "u32" as const, length: 2 },
  ];
  const w = packUniforms(decls, { s: -2, k: -5, v: [7, 2 ** 32 - 1] });
  assertEquals([...w.subarray(0, 4)], [0xc0000000, 0xfffffffb, 7, 0xffffffff]);
  assertThrows(() => packUniforms(decls, { s: 1, k: 1 }), TypeError, `"v" has no value`);
  assertThrows(() => packUniforms(decls, { s: 1, k: 1, v: [1] }), RangeError, "needs 2 values");
  assertThrows(() => packUniforms(decls, { s: [1], k: 1, v: [1, 2] }), RangeError, "needs a scalar");
});

Deno.test("shaderOf() binds uniforms, inputs then outputs, and emits each function once after its dependencies", () => {
  const base: WgslFn = { code: "fn base() -> f32 { return 1.0; }" };
  const a: WgslFn = { code: "fn a() -> f32 { return base(); }", deps: [base] };
  const b: WgslFn = { code: "fn b() -> f32 { return base() + a(); }", deps: [base, a] };
  const spec: KernelSpec = {
    name: "t",
    inputs: [{ name: "x", type: "f32" }, { name: "q", type: "u32" }],
    outputs: [{ name: "y", type: "i32" }],
    uniforms: [{ name: "n", type: "u32" }, { name: "st", type: "i32", length: 3 }],
    workgroupSize: [8, 4, 1],
    shared: ["tile: array<f32, 32>"],
    functions: [b, a],
    body: "y[0] = i32(b());",
  };
  const code = shaderOf(spec);
  const at = (s: string) => code.indexOf(s);
  assert(at("@binding(0) var<uniform> P") < at("@binding(1) var<storage, read> x: array<f32>"));
  assert(
    at("@binding(2) var<storage, read> q: array<u32>") <
      at("@binding(3) var<storage, read_write> y: array<i32>"),
  );
  assert(code.includes("fn u_st(k: u32) -> i32 { let j = 1u + k;"));
  assert(code.includes("var<workgroup> tile: array<f32, 32>;") && code.includes("@workgroup_size(8, 4, 1)"));
  assertEquals(code.split("fn base()").length, 2);
  assert(at("fn base()") < at("fn a()") && at("fn a()") < at("fn b()"));
});

Deno.test("shaderOf() declares an atomic output as array<atomic<T>> and refuses an atomic f32", () => {
  const spec: KernelSpec = {
    name: "h",
    inputs: [],
    outputs: [{ name: "hist", type: "u32", atomic: true }],
    uniforms: [],
    workgroupSize: [1, 1, 1],
    body: "atomicAdd(&hist[0], 1u);",
  };
  assert(shaderOf(spec).includes("var<storage, read_write> hist: array<atomic<u32>>;"));
  assertThrows(
    () => shaderOf({ ...spec, outputs: [{ name: "y", type: "f32", atomic: true }] }),
    TypeError,
    "cannot be atomic f32",
  );
});

/**
 * The kernel-spec format of the WebGPU backend: a kernel declares its storage inputs and outputs, its
 * uniforms, its workgroup size and the WGSL functions it needs, apart from its body. {@linkcode shaderOf}
 * writes the whole WGSL module from a spec, so the binding layout, the uniform accessors and the entry
 * point are generated in one place and never pasted per op.
 * @module
 */

/** A WGSL scalar type. */
export type WgslType = "f32" | "i32" | "u32";

/** A storage buffer of a kernel: `array<type>` bound under `name`. */
export interface BufferDecl {
  /** The WGSL variable name. */
  readonly name: string;
  /** The element type of the array. */
  readonly type: WgslType;
  /** An output of `atomic<u32>` or `atomic<i32>` elements (histograms, running extremes). */
  readonly atomic?: boolean;
}

/** A uniform value: a scalar, or an array of `length` scalars. Read in WGSL as `u_<name>()` or `u_<name>(k)`. */
export interface UniformDecl {
  /** The name; the accessor is `u_<name>`. */
  readonly name: string;
  /** The scalar type. */
  readonly type: WgslType;
  /** Array length (an array accessor taking an index), absent for a scalar. */
  readonly length?: number;
}

/** A WGSL function (or constant) at module scope, with the functions it calls. */
export interface WgslFn {
  /** The WGSL text. */
  readonly code: string;
  /** Functions this one calls; they are emitted first, each once. */
  readonly deps?: readonly WgslFn[];
}

/** A compute kernel. */
export interface KernelSpec {
  /** A label for errors and profiles. */
  readonly name: string;
  /** Read-only storage buffers, bound after the uniforms in this order. */
  readonly inputs: readonly BufferDecl[];
  /** Read-write storage buffers, bound after the inputs in this order. */
  readonly outputs: readonly BufferDecl[];
  /** Uniform values, packed in declaration order. */
  readonly uniforms: readonly UniformDecl[];
  /** Workgroup size [x, y, z]. */
  readonly workgroupSize: readonly [number, number, number];
  /** Workgroup-shared declarations, e.g. `tile: array<f32, 1024>`. */
  readonly shared?: readonly string[];
  /** Module-scope functions the body calls. */
  readonly functions?: readonly WgslFn[];
  /**
   * Statements of the entry point; in scope: `gid`, `lid`, `wid`, `nwg` (vec3<u32> builtins) and `lidx`
   * (the local invocation index).
   */
  readonly body: string;
}

/** Where each uniform lives in the packed uniform words. */
export interface UniformLayout {
  /** Number of 32-bit words (a multiple of 4, at least 4). */
  readonly words: number;
  /** Word offset of each uniform by name. */
  readonly offsets: ReadonlyMap<string, number>;
}

/**
 * The packed layout of a spec's uniforms: each scalar or array element takes one 32-bit word.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { uniformLayout } from "./kernel_spec.ts";
 * const l = uniformLayout([{ name: "n", type: "u32" }, { name: "shape", type: "u32", length: 3 }]);
 * assert(l.words === 4 && l.offsets.get("shape") === 1);
 * ```
 */
export function uniformLayout(uniforms: readonly UniformDecl[]): UniformLayout {
  const offsets = new Map<string, number>();
  let w = 0;
  for (const u of uniforms) {
    if (offsets.has(u.name)) throw new TypeError(`Uniform "${u.name}" is declared twice`);
    offsets.set(u.name, w);
    w += u.length ?? 1;
  }
  return { words: Math.max(4, Math.ceil(w / 4) * 4), offsets };
}

/**
 * Packs uniform values into words: `f32` by bit pattern, `i32`/`u32` as 32-bit integers. Every declared
 * uniform needs a value (an array of exactly `length` numbers for an array uniform).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { packUniforms } from "./kernel_spec.ts";
 * const w = packUniforms([{ name: "n", type: "i32" }, { name: "s", type: "f32" }], { n: -1, s: 1 });
 * assert(w[0] === 0xffffffff && w[1] === 0x3f800000);
 * ```
 */
export function packUniforms(
  uniforms: readonly UniformDecl[],
  values: Readonly<Record<string, number | readonly number[]>>,
): Uint32Array<ArrayBuffer> {
  const layout = uniformLayout(uniforms);
  const words = new Uint32Array(layout.words);
  const f32 = new Float32Array(words.buffer);
  const i32 = new Int32Array(words.buffer);
  for (const u of uniforms) {
    const v = values[u.name];
    if (v === undefined) throw new TypeError(`Uniform "${u.name}" has no value`);
    const list = typeof v === "number" ? [v] : v;
    const len = u.length ?? 1;
    if ((u.length === undefined) !== (typeof v === "number") || list.length !== len) {
      throw new RangeError(
        `Uniform "${u.name}" needs ${u.length ?? "a scalar"} values, got ${JSON.stringify(v)}`,
      );
    }
    const off = layout.offsets.get(u.name)!;
    for (let k = 0; k < len; k++) {
      if (u.type === "f32") f32[off + k] = list[k];
      else if (u.type === "i32") i32[off + k] = list[k];
      else words[off + k] = list[k] >>> 0;
    }
  }
  return words;
}

/** The functions and their dependencies, dependencies first, each once. */
function orderedFunctions(functions: readonly WgslFn[]): string[] {
  const seen = new Set<WgslFn>();
  const out: string[] = [];
  const visit = (h: WgslFn) => {
    if (seen.has(h)) return;
    seen.add(h);
    for (const d of h.deps ?? []) visit(d);
    out.push(h.code.trim());
  };
  functions.forEach(visit);
  return out;
}

function accessor(u: UniformDecl, off: number): string {
  if (u.length === undefined) {
    // The component is taken before the bitcast: `bitcast<i32>(vec4<u32>)` is not WGSL (Chromium refuses it).
    const word = `P.v[${off >> 2}][${off & 3}]`;
    return `fn u_${u.name}() -> ${u.type} { return ${
      u.type === "u32" ? word : `bitcast<${u.type}>(${word})`
    }; }`;
  }
  return `fn u_${u.name}(k: u32) -> ${u.type} { let j = ${off}u + k; return ${
    u.type === "u32" ? "P.v[j >> 2u][j & 3u]" : `bitcast<${u.type}>(P.v[j >> 2u][j & 3u])`
  }; }`;
}

/**
 * The complete WGSL module of a spec: binding 0 holds the uniforms, then one binding per input
 * (read-only storage) and per output (read-write storage), then the functions and the entry point `main`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { shaderOf } from "./kernel_spec.ts";
 * const code = shaderOf({
 *   name: "copy", inputs: [{ name: "x", type: "f32" }], outputs: [{ name: "y", type: "f32" }],
 *   uniforms: [{ name: "n", type: "u32" }], workgroupSize: [64, 1, 1],
 *   body: "if (gid.x < u_n()) { y[gid.x] = x[gid.x]; }",
 * });
 * assert(code.includes("var<storage, read> x: array<f32>;") && code.includes("fn u_n() -> u32"));
 * ```
 */
export function shaderOf(spec: KernelSpec): string {
  const layout = uniformLayout(spec.uniforms);
  const lines: string[] = [
    `// kernel ${spec.name}`,
    `struct Params { v: array<vec4<u32>, ${layout.words / 4}> }`,
    "@group(0) @binding(0) var<uniform> P: Params;",
  ];
  let b = 1;
  for (const x of spec.inputs) {
    lines.push(`@group(0) @binding(${b++}) var<storage, read> ${x.name}: array<${x.type}>;`);
  }
  for (const x of spec.outputs) {
    if (x.atomic && x.type === "f32") {
      throw new TypeError(`Kernel ${spec.name}: output ${x.name} cannot be atomic f32`);
    }
    const t = x.atomic ? `atomic<${x.type}>` : x.type;
    lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${x.name}: array<${t}>;`);
  }
  for (const s of spec.shared ?? []) lines.push(`var<workgroup> ${s};`);
  for (const u of spec.uniforms) lines.push(accessor(u, layout.offsets.get(u.name)!));
  lines.push(...orderedFunctions(spec.functions ?? []));
  const [x, y, z] = spec.workgroupSize;
  lines.push(
    `@compute @workgroup_size(${x}, ${y}, ${z})`,
    "fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,",
    "        @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,",
    "        @builtin(local_invocation_index) lidx: u32) {",
    spec.body,
    "}",
  );
  return lines.join("\n");
}

import { assertEquals } from "@std/assert";
import { WASM_KERNELS_BASE64 } from "./wasm_module.ts";
import { KERNEL_NAMES } from "./wasm_runtime.ts";

/** Debian's clang 14 and wasm-ld keep their unversioned names here. */
const LLVM14 = "/usr/lib/llvm-14/bin";

/** PATH with Debian's LLVM 14 first where it is installed, so that build.sh finds `clang` and `wasm-ld`. */
function buildPath(): string {
  const path = Deno.env.get("PATH") ?? "";
  try {
    Deno.statSync(`${LLVM14}/clang`);
    return `${LLVM14}:${path}`;
  } catch {
    return path;
  }
}

function hasTool(name: string): boolean {
  try {
    return new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      env: { PATH: buildPath() },
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

function clangMajor(): number {
  try {
    const out = new Deno.Command("clang", { args: ["--version"], env: { PATH: buildPath() }, stderr: "null" })
      .outputSync();
    return Number(/clang version (\d+)/.exec(new TextDecoder().decode(out.stdout))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

// The committed module comes from clang 14; another clang makes different (equally valid) bytes.
const tools = ["bash", "clang", "wasm-ld", "wasm2wat", "wat2wasm"];
const canBuild = tools.every(hasTool) && clangMajor() === 14;

Deno.test({
  name: "wasm_module.ts is what wasm/build.sh makes from the C sources",
  ignore: !canBuild,
  fn: async () => {
    const out = await Deno.makeTempFile({ suffix: ".ts" });
    try {
      const script = new URL("../../wasm/build.sh", import.meta.url).pathname;
      const run = await new Deno.Command("bash", {
        args: [script, out],
        env: { PATH: buildPath() },
        stderr: "piped",
      })
        .output();
      assertEquals(run.success, true, new TextDecoder().decode(run.stderr));
      const committed = await Deno.readTextFile(new URL("./wasm_module.ts", import.meta.url));
      assertEquals(await Deno.readTextFile(out), committed, "rerun packages/tensor/wasm/build.sh");
    } finally {
      await Deno.remove(out);
    }
  },
});

Deno.test("wasm_module.ts exports every kernel the runtime calls", () => {
  const raw = atob(WASM_KERNELS_BASE64);
  const bytes = Uint8Array.from(raw, (ch) => ch.charCodeAt(0));
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((e) => e.name);
  for (
    const name of [
      ...KERNEL_NAMES,
      "gemm_scratch_floats",
      "depthwise_scratch_floats",
      "int_gemm_scratch_bytes",
      "int_depthwise_scratch_bytes",
      "__heap_base",
    ]
  ) {
    assertEquals(exports.includes(name), true, `missing export ${name}`);
  }
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes)).map((i) =>
    `${i.module}.${i.name}`
  );
  assertEquals(imports, ["env.memory"]);
});

/**
 * Every workspace package passes `deno publish --dry-run` (slow types, license, exports, file set) and
 * `deno doc --lint` (JSDoc on every export, every type its public API names exported), so a release
 * needs no fix-ups.
 * @module
 */
import { assert } from "@std/assert";

const ROOT = new URL("../", import.meta.url);
const PACKAGES = [
  "io",
  "tensor",
  "qtensor",
  "nn",
  "data",
  "program",
  "fx",
  "march-bayes",
  "hbdk",
  "cli",
  "onnx",
];

Deno.test({
  name: "deno publish --dry-run succeeds for every package",
  permissions: { run: true, read: true, env: true, write: true },
  fn: async (t) => {
    for (const p of PACKAGES) {
      await t.step(p, async () => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["publish", "--dry-run", "--allow-dirty", "--no-check=remote"],
          cwd: new URL(`packages/${p}/`, ROOT),
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assert(out.success && text.includes("Dry run complete"), `@hqat/${p}:\n${text.slice(-3000)}`);
      });
    }
  },
});

Deno.test({
  name: "deno doc --lint is clean for every package",
  permissions: { run: true, read: true, env: true, write: true },
  fn: async (t) => {
    for (const p of PACKAGES) {
      await t.step(p, async () => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["doc", "--lint", `packages/${p}/mod.ts`],
          cwd: ROOT,
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assert(out.success, `@hqat/${p}:\n${text.slice(-3000)}`);
      });
    }
  },
});

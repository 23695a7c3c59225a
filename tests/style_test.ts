/**
 * The tree is formatted (`deno fmt --check`) and lint-clean (`deno lint`), so that a run of the test
 * command catches what the tools would.
 * @module
 */
import { assert } from "@std/assert";

const ROOT = new URL("../", import.meta.url);

for (const args of [["fmt", "--check"], ["lint"]]) {
  Deno.test({
    name: `deno ${args.join(" ")} passes on the whole tree`,
    permissions: { run: true, read: true, env: true },
    fn: async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: ROOT,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert(out.success, `deno ${args.join(" ")}:\n${text.slice(-3000)}`);
    },
  });
}

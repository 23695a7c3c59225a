// Runs the `hqat` command line in a subprocess, for the CLI tests.
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Runs `hqat ...args` and returns its exit code and output. */
export async function hqat(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

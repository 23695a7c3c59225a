/**
 * The commands' output checks, run before any work: the `--out` folder taken for the run (created,
 * writable, locked against a second run, dead runs' temporary files removed), and every output file
 * checked against the run's inputs and for a folder that takes it. Failures exit with 1.
 * @module
 */

import { checkOutputs, lockOutputFolder } from "@hqat/io";
import { CliError } from "./models.ts";

async function asCli<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw new CliError((e as Error).message, 1);
  }
}

/**
 * Takes the folder `out` for `hqat <command>` and checks `files` (outputs, in `out` or elsewhere)
 * against `inputs`. The lock goes when the run ends.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { runEndNow } from "@hqat/io";
 * import { claimOut } from "./outputs.ts";
 * const dir = await Deno.makeTempDir();
 * await claimOut(`${dir}/out`, "train", { files: [`${dir}/out/float-checkpoint.safetensors`] });
 * runEndNow(); // the lock goes; its (empty) file stays
 * assert(await Deno.readTextFile(`${dir}/out/.hqat.lock`) === "");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function claimOut(
  out: string,
  command: string,
  options: {
    readonly files?: readonly (string | undefined)[];
    readonly inputs?: readonly (string | undefined)[];
  } = {},
): Promise<void> {
  await asCli(() => lockOutputFolder(out, { command: `hqat ${command}` }));
  await checkFiles(options.files ?? [], options.inputs ?? []);
}

/**
 * Checks the output `files` of a run against its `inputs` (never the same file), and that each can be
 * written (folders created when missing).
 *
 * @example
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { checkFiles } from "./outputs.ts";
 * await assertRejects(() => checkFiles(["m.hbm"], ["m.hbm"]), Error, "also an input");
 * ```
 */
export async function checkFiles(
  files: readonly (string | undefined)[],
  inputs: readonly (string | undefined)[],
): Promise<void> {
  const outputs = files.filter((f): f is string => f !== undefined);
  await asCli(() => checkOutputs(outputs, { inputs }));
}

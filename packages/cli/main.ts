/**
 * The `hqat` command line: `deno task hqat <command> [options]`.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { main } from "@hqat/cli/main";
 * assert(await main(["--help"]) === 0);
 * ```
 * @module
 */
import { type Command, inspectCommand, predictCommand } from "./src/commands.ts";
import { deployCommands } from "./src/deploy_commands.ts";
import { exportOnnxCommand } from "./src/export_onnx_command.ts";
import { pipelineCommands } from "./src/pipeline_commands.ts";
import { ptqCommand } from "./src/ptq_command.ts";
import { analyzeCommand } from "./src/analyze_command.ts";
import { CliError } from "./src/models.ts";
import { cleanUpOnSignals, runEndNow } from "@hqat/io";

const COMMANDS: Record<string, Command> = {
  inspect: inspectCommand,
  predict: predictCommand,
  ...pipelineCommands,
  ptq: ptqCommand,
  analyze: analyzeCommand,
  ...deployCommands,
  "export-onnx": exportOnnxCommand,
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`);
  return `hqat — quantization-aware training and BPU deployment\n\nUsage: hqat <command> [options]\n\nCommands:\n${
    lines.join("\n")
  }\n\nRun "hqat <command> --help" for a command's options.`;
}

/**
 * Runs the command line with `args`; returns the exit code. Errors print one line on stderr.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { main } from "@hqat/cli/main";
 * assert(await main(["no-such-command"]) === 2);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`hqat: unknown command "${name}". Run "hqat --help" for the list.`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof CliError) {
      console.error(`hqat ${name}: ${e.message}`);
      return e.exitCode;
    }
    console.error(`hqat ${name}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    // The run's lock files and unfinished temporary files go, whatever the outcome.
    runEndNow();
  }
}

/**
 * Mesa's Vulkan drivers print an error on stderr when `XDG_RUNTIME_DIR` is unset (containers, CI, ssh
 * sessions) although nothing is wrong; probing for a WebGPU adapter would show it on every command. The
 * command line gives them a private folder instead.
 */
function quietGpuDrivers(): string | undefined {
  try {
    if (Deno.build.os === "linux" && !Deno.env.get("XDG_RUNTIME_DIR")) {
      const dir = Deno.makeTempDirSync({ prefix: "hqat-runtime-" });
      Deno.env.set("XDG_RUNTIME_DIR", dir);
      return dir;
    }
  } catch {
    // Without the permissions the message stays; it is harmless.
  }
  return undefined;
}

if (import.meta.main) {
  cleanUpOnSignals();
  const runtimeDir = quietGpuDrivers();
  const code = await main(Deno.args);
  if (runtimeDir) Deno.removeSync(runtimeDir, { recursive: true });
  Deno.exit(code);
}

/**
 * A training run killed with SIGKILL while it writes its checkpoint: the last good checkpoint stays in
 * place and loads, the next run removes the dead run's temporary file, and `--resume` continues to the
 * same bytes as a run that was never interrupted.
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { hqat } from "./testdata/run_hqat.ts";
import { tinyFashionMnist } from "./testdata/tiny_data.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

Deno.test("hqat train killed with SIGKILL during its checkpoint write keeps the last good checkpoint, and --resume continues bit-identically", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await tinyFashionMnist(`${dir}/data`, 64);
    const common = (out: string, epochs: number) => [
      "train",
      "--epochs",
      String(epochs),
      "--data-dir",
      `${dir}/data`,
      "--batch-size",
      "32",
      "--out",
      out,
      "--device",
      "cpu",
      "--no-progress",
    ];
    // The run that is never interrupted.
    let r = await hqat(...common(`${dir}/ref`, 2));
    assertEquals(r.code, 0, r.stderr);
    const want = await Deno.readFile(`${dir}/ref/float-last.safetensors`);
    // One epoch, then a second one that is killed while float-last.safetensors is being replaced.
    const out = `${dir}/killed`;
    r = await hqat(...common(out, 1));
    assertEquals(r.code, 0, r.stderr);
    const good = await Deno.readFile(`${out}/float-last.safetensors`);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, ...common(out, 2), "--resume"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    let killedAt: string | undefined;
    const done = child.status.then(() => true);
    while (!killedAt) {
      const temp = [...Deno.readDirSync(out)].find((e) => e.name.startsWith(".float-last.safetensors."));
      if (temp) {
        child.kill("SIGKILL");
        killedAt = temp.name;
      } else if (await Promise.race([done, new Promise<false>((res) => setTimeout(() => res(false), 1))])) {
        break;
      }
    }
    const status = await child.status;
    assert(killedAt, "the run ended before its checkpoint write was seen");
    assertEquals(status.signal, "SIGKILL");
    // The last good checkpoint is still there, whole.
    assertEquals(await Deno.readFile(`${out}/float-last.safetensors`), good);
    assert(
      [...Deno.readDirSync(out)].some((e) => e.name === killedAt),
      "the killed write's temporary file is left",
    );
    // The next run removes the temporary file and continues from epoch 1 to the same bytes.
    r = await hqat(...common(out, 2), "--resume");
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.includes("Resuming from"), r.stdout);
    assertEquals(await Deno.readFile(`${out}/float-last.safetensors`), want);
    const left = [...Deno.readDirSync(out)].map((e) => e.name).filter((n) => n.endsWith(".tmp"));
    assertEquals(left, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  atomicWriteFile,
  checkOutputs,
  LOCK_FILE,
  lockOutputFolder,
  OutputPathError,
  parseTempName,
  prepareOutputFolder,
  removeStaleTemps,
  runEndNow,
} from "@hqat/io";

async function inTemp(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("checkOutputs() refuses an output that is an input, by path, link or a second name", () =>
  inTemp(async (dir) => {
    await Deno.writeFile(`${dir}/m.hbm`, new Uint8Array(1));
    await Deno.link(`${dir}/m.hbm`, `${dir}/hard.hbm`);
    for (const out of [`${dir}/m.hbm`, `${dir}/./m.hbm`, `${dir}/hard.hbm`]) {
      await assertRejects(
        () => checkOutputs([out], { inputs: [`${dir}/m.hbm`] }),
        OutputPathError,
        "it is also an input of this run",
      );
    }
    await assertRejects(() => checkOutputs([`${dir}/a`, `${dir}/./a`]), OutputPathError, "the same file");
    await assertRejects(() => checkOutputs([dir]), OutputPathError, "it is a folder");
    await checkOutputs([`${dir}/new/sub/y.npy`], { inputs: [`${dir}/m.hbm`, undefined] });
    assert((await Deno.stat(`${dir}/new/sub`)).isDirectory);
    // A killed earlier write of m2.hbm left its temporary file; another output's is not ours to remove.
    await Deno.writeFile(`${dir}/.m2.hbm.4242-0a1b2c3d.tmp`, new Uint8Array(1));
    await Deno.writeFile(`${dir}/.other.4242-0a1b2c3d.tmp`, new Uint8Array(1));
    await checkOutputs([`${dir}/m2.hbm`]);
    const left = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).filter((n) =>
      n.endsWith(".tmp")
    );
    assertEquals(left, [".other.4242-0a1b2c3d.tmp"]);
  }));

Deno.test("prepareOutputFolder() names a folder that does not take files, and a file in the way", () =>
  inTemp(async (dir) => {
    await Deno.writeFile(`${dir}/file`, new Uint8Array(1));
    await assertRejects(
      () => prepareOutputFolder(`${dir}/file`),
      OutputPathError,
      "it is a file, not a folder",
    );
    await assertRejects(() => prepareOutputFolder(`${dir}/file/sub`), OutputPathError, `"${dir}/file/sub"`);
    await Deno.mkdir(`${dir}/ro`, { mode: 0o555 });
    const writable = await Deno.writeFile(`${dir}/ro/x`, new Uint8Array(0)).then(() => true, () => false);
    if (!writable) { // (root writes anywhere)
      await assertRejects(() => prepareOutputFolder(`${dir}/ro`), OutputPathError, "does not take new files");
    }
    await Deno.chmod(`${dir}/ro`, 0o755);
  }));

Deno.test("lockOutputFolder() refuses a folder another process holds, naming its PID; a killed holder's lock and temps go", () =>
  inTemp(async (dir) => {
    // Another run: a process that holds the operating-system lock of the lock file.
    const body = (pid: number) => JSON.stringify({ pid, command: "hqat train", started: "then" });
    await Deno.writeTextFile(`${dir}/${LOCK_FILE}`, body(4242));
    const holder = new Deno.Command("flock", { args: ["-o", `${dir}/${LOCK_FILE}`, "sleep", "5"] }).spawn();
    try {
      for (let i = 0; i < 100; i++) {
        const probe = await Deno.open(`${dir}/${LOCK_FILE}`, { read: true });
        const free = await probe.tryLock(true);
        if (free) await probe.unlock();
        probe.close();
        if (!free) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await assertRejects(
        () => lockOutputFolder(dir, { command: "hqat qat" }),
        OutputPathError,
        `another run uses this folder (PID 4242, "hqat train", started then)`,
      );
    } finally {
      holder.kill("SIGKILL");
      await holder.status;
    }
    // The lock is on the open file, which flock's child shares until it closes its copy before running sleep:
    // on a loaded machine that close can come after the kill, so wait until the kernel has dropped the lock.
    for (let i = 0; i < 200; i++) {
      const probe = await Deno.open(`${dir}/${LOCK_FILE}`, { read: true });
      const free = await probe.tryLock(true);
      if (free) await probe.unlock();
      probe.close();
      if (free) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // Killed: the kernel dropped its lock; the temporary file it was writing is removed on the next start.
    await Deno.writeFile(`${dir}/.int_model.4242-0a1b2c3d.tmp`, new Uint8Array(3));
    await Deno.writeFile(`${dir}/.int_model.${Deno.pid}-0a1b2c3d.tmp`, new Uint8Array(3));
    const lock = await lockOutputFolder(dir, { command: "hqat convert" });
    const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assertEquals(names, [`.hqat.lock`, `.int_model.${Deno.pid}-0a1b2c3d.tmp`]);
    assertEquals(JSON.parse(await Deno.readTextFile(lock.path)).pid, Deno.pid);
    runEndNow();
    assertEquals(await Deno.readTextFile(lock.path), "");
    (await lockOutputFolder(dir, { command: "hqat qat" })).release();
    assertEquals(await removeStaleTemps(dir), []);
  }));

Deno.test("atomicWriteFile() names its temporary file with the writer's PID, and an interrupted run removes it", () =>
  inTemp(async (dir) => {
    let seen = "";
    async function* chunks() {
      yield new Uint8Array(1);
      seen = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name)[0];
      runEndNow(); // what SIGINT does while the write is in flight
      yield new Uint8Array(1);
    }
    await assertRejects(() => atomicWriteFile(`${dir}/x.bin`, chunks()));
    assertEquals(parseTempName(seen)?.pid, Deno.pid);
    assertEquals((await Array.fromAsync(Deno.readDir(dir))).length, 0);
  }));

import { assertEquals, assertRejects, assertStrictEquals } from "@std/assert";
import { atomicWriteFile } from "./atomic_write.ts";

const OLD = new TextEncoder().encode("the previous checkpoint");

async function withFolder(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.chmod(dir, 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

const names = async (dir: string) => (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();

/** Whether permission bits stop this process from writing (they do not for root). */
const permissionsApply = await (async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o555);
    await Deno.writeFile(`${dir}/probe`, new Uint8Array(1));
    return false;
  } catch {
    return true;
  } finally {
    await Deno.chmod(dir, 0o755);
    await Deno.remove(dir, { recursive: true });
  }
})();

Deno.test("atomicWriteFile() creates a file and replaces an existing one, leaving no temporary file", async () => {
  await withFolder(async (dir) => {
    const path = `${dir}/model.safetensors`;
    await atomicWriteFile(path, new Uint8Array([1, 2, 3]));
    assertEquals(await Deno.readFile(path), new Uint8Array([1, 2, 3]));
    await atomicWriteFile(new URL(`file://${path}`), OLD);
    assertEquals(await Deno.readFile(path), OLD);
    assertEquals(await names(dir), ["model.safetensors"]);
  });
});

Deno.test("atomicWriteFile() writes chunks from sync and async iterables", async () => {
  await withFolder(async (dir) => {
    await atomicWriteFile(`${dir}/a`, [new Uint8Array([1]), new Uint8Array([2, 3])]);
    assertEquals(await Deno.readFile(`${dir}/a`), new Uint8Array([1, 2, 3]));
    async function* chunks() {
      for (let i = 0; i < 100; i++) yield new Uint8Array(1000).fill(i);
    }
    await atomicWriteFile(`${dir}/b`, chunks());
    const b = await Deno.readFile(`${dir}/b`);
    assertStrictEquals(b.length, 100_000);
    assertStrictEquals(b[99_999], 99);
  });
});

Deno.test("atomicWriteFile() keeps the old file when the data source throws midway", async () => {
  await withFolder(async (dir) => {
    const path = `${dir}/ckpt`;
    await Deno.writeFile(path, OLD);
    async function* failing() {
      yield new Uint8Array(4096).fill(7);
      yield new Uint8Array(4096).fill(8);
      throw new Error("disk source failed");
    }
    await assertRejects(() => atomicWriteFile(path, failing()), Error, "disk source failed");
    assertEquals(await Deno.readFile(path), OLD);
    assertEquals(await names(dir), ["ckpt"]);
    await assertRejects(
      () => atomicWriteFile(path, [new Uint8Array(3), "text" as unknown as Uint8Array]),
      TypeError,
      "yielded a string, not bytes",
    );
    assertEquals(await Deno.readFile(path), OLD);
    assertEquals(await names(dir), ["ckpt"]);
  });
});

Deno.test("atomicWriteFile() removes its temporary file when the rename is refused", async () => {
  await withFolder(async (dir) => {
    await Deno.mkdir(`${dir}/target`);
    await Deno.writeFile(`${dir}/target/inside`, OLD);
    await assertRejects(() => atomicWriteFile(`${dir}/target`, new Uint8Array(10)));
    assertEquals(await Deno.readFile(`${dir}/target/inside`), OLD);
    assertEquals(await names(dir), ["target"]);
  });
});

Deno.test("atomicWriteFile() fails without side effects in a missing folder or for a folder path", async () => {
  await withFolder(async (dir) => {
    await assertRejects(() => atomicWriteFile(`${dir}/missing/x`, OLD), Deno.errors.NotFound);
    await assertRejects(() => atomicWriteFile(`${dir}/`, OLD), TypeError, "the path names a folder");
    await assertRejects(
      () => atomicWriteFile(`${dir}/x`, 42 as unknown as Uint8Array),
      TypeError,
      "data must be",
    );
    assertEquals(await names(dir), []);
  });
});

Deno.test({
  name: "atomicWriteFile() leaves the old file unchanged in a read-only folder",
  ignore: !permissionsApply,
  fn: async () => {
    await withFolder(async (dir) => {
      const path = `${dir}/ckpt`;
      await Deno.writeFile(path, OLD);
      await Deno.chmod(dir, 0o555);
      await assertRejects(() => atomicWriteFile(path, new Uint8Array(10)), Deno.errors.PermissionDenied);
      assertEquals(await Deno.readFile(path), OLD);
      assertEquals(await names(dir), ["ckpt"]);
    });
  },
});

Deno.test("atomicWriteFile() leaves one complete version when writers race", async () => {
  await withFolder(async (dir) => {
    const path = `${dir}/race`;
    const versions = Array.from({ length: 6 }, (_, i) => new Uint8Array(200_000 + i).fill(i + 1));
    await Promise.all(versions.map((v) => atomicWriteFile(path, v)));
    const final = await Deno.readFile(path);
    const i = final[0] - 1;
    assertEquals(final, versions[i]);
    assertEquals(await names(dir), ["race"]);
  });
});

Deno.test({
  name: "atomicWriteFile() keeps the permission bits of the file it replaces unless told otherwise",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withFolder(async (dir) => {
      const path = `${dir}/p`;
      await Deno.writeFile(path, OLD);
      await Deno.chmod(path, 0o640);
      await atomicWriteFile(path, new Uint8Array(1));
      assertStrictEquals((await Deno.stat(path)).mode! & 0o777, 0o640);
      await atomicWriteFile(path, new Uint8Array(1), { mode: 0o600 });
      assertStrictEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    });
  },
});

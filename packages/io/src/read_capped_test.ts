import { assertEquals, assertRejects } from "@std/assert";
import { FileReadError, readFileCapped, readNpy, readSafetensors } from "@hqat/io";

Deno.test("readFileCapped() refuses a device, a folder, a FIFO, a missing file and an oversized file, naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(() => readFileCapped("/dev/zero", { maxBytes: 10 }), FileReadError, "a device");
    await assertRejects(
      () => readFileCapped(dir, { maxBytes: 10 }),
      FileReadError,
      `Cannot read "${dir}": a folder`,
    );
    await assertRejects(
      () => readFileCapped(`${dir}/none`, { maxBytes: 10 }),
      FileReadError,
      `"${dir}/none"`,
    );
    const made = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output().catch(() => undefined);
    // A FIFO with no writer would block an open; it is refused from its kind, without opening it.
    if (made?.success) await assertRejects(() => readNpy(`${dir}/fifo`), FileReadError, "a FIFO");
    await Deno.writeFile(`${dir}/a.bin`, new Uint8Array(11));
    await assertRejects(
      () => readFileCapped(`${dir}/a.bin`, { maxBytes: 10, what: "a test file" }),
      FileReadError,
      "11 bytes is more than the 10 bytes a test file may have",
    );
    assertEquals((await readFileCapped(`${dir}/a.bin`, { maxBytes: 11 })).length, 11);
    await assertRejects(() => readSafetensors("/dev/zero"), FileReadError, "a device");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

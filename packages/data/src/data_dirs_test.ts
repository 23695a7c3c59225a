import { assertEquals } from "@std/assert";
import { dataSearchPath, findFile, hqatCacheDir } from "../mod.ts";

const envOf = (vars: Record<string, string>) => (k: string) => vars[k];

Deno.test("hqatCacheDir() prefers cacheDir, then $XDG_CACHE_HOME/hqat, then ~/.cache/hqat", () => {
  const env = envOf({ XDG_CACHE_HOME: "/x", HOME: "/h" });
  assertEquals(hqatCacheDir({ cacheDir: "/c", env }), "/c");
  assertEquals(hqatCacheDir({ env }), "/x/hqat");
  assertEquals(hqatCacheDir({ env: envOf({ HOME: "/h/" }) }), "/h/.cache/hqat");
  assertEquals(hqatCacheDir({ env: envOf({}) }), undefined);
});

Deno.test("dataSearchPath() lists dataDir, $HQAT_DATA, the cache and the system folder in order", () => {
  assertEquals(dataSearchPath("ds", "/sys", { env: envOf({ HOME: "/h" }) }), ["/h/.cache/hqat/ds", "/sys"]);
  assertEquals(dataSearchPath("ds", undefined, { dataDir: "/d", env: envOf({ HQAT_DATA: "/e" }) }), [
    "/d",
    "/d/ds",
    "/e",
    "/e/ds",
  ]);
});

Deno.test("findFile() returns the first candidate that exists as a file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/b.gz`, new Uint8Array(1));
    await Deno.mkdir(`${dir}/a`);
    assertEquals(findFile(dir, ["a", "b", "b.gz"]), `${dir}/b.gz`);
    assertEquals(findFile(dir, ["c"]), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { gzipSync } from "node:zlib";
import {
  DatasetUnavailableError,
  encodeIdx,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_SOURCE,
  FASHION_MNIST_SYSTEM_DIR,
  loadFashionMnist,
  md5Hex,
  readIdxDataset,
} from "../mod.ts";

/** Writes a split of `count` 28×28 images whose pixels and labels encode `tag`. */
async function writeSplit(dir: string, split: "train" | "test", count: number, tag: number, gzip = true) {
  const prefix = split === "train" ? "train" : "t10k";
  const images = encodeIdx(new Uint8Array(count * 784).fill(tag), [count, 28, 28]);
  const labels = encodeIdx(Uint8Array.from({ length: count }, (_, i) => i % 10), [count]);
  await Deno.mkdir(dir, { recursive: true });
  const ext = gzip ? ".gz" : "";
  await Deno.writeFile(`${dir}/${prefix}-images-idx3-ubyte${ext}`, gzip ? gzipSync(images) : images);
  await Deno.writeFile(`${dir}/${prefix}-labels-idx1-ubyte${ext}`, gzip ? gzipSync(labels) : labels);
}

function assertStringIncludes(text: string, part: string): void {
  assert(text.includes(part), `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`);
}

const noFetch = () => Promise.reject(new TypeError("network is unreachable"));

Deno.test("readIdxDataset() reads a generated gzip pair as 1-channel images", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSplit(dir, "test", 12, 3);
    const ds = await readIdxDataset(`${dir}/t10k-images-idx3-ubyte.gz`, `${dir}/t10k-labels-idx1-ubyte.gz`);
    assertEquals([ds.count, ds.channels, ds.height, ds.width], [12, 1, 28, 28]);
    assertEquals(ds.classes, FASHION_MNIST_CLASSES);
    assertEquals(ds.labels[11], 1);
    assertEquals(ds.images[12 * 784 - 1], 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readIdxDataset() rejects mismatched counts and labels ≥ 10, naming the files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/i`, encodeIdx(new Uint8Array(2 * 4), [2, 2, 2]));
    await Deno.writeFile(`${dir}/l3`, encodeIdx(new Uint8Array(3), [3]));
    await Deno.writeFile(`${dir}/l10`, encodeIdx(new Uint8Array([1, 10]), [2]));
    await assertRejects(() => readIdxDataset(`${dir}/i`, `${dir}/l3`), SyntaxError, "2 images but 3 labels");
    await assertRejects(
      () => readIdxDataset(`${dir}/i`, `${dir}/l10`),
      SyntaxError,
      `"${dir}/l10": label 10 at index 1`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadFashionMnist() searches dataDir, $HQAT_DATA, the cache, then the system folder", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeSplit(`${root}/explicit/fashion-mnist`, "train", 4, 1);
    await writeSplit(`${root}/env`, "train", 5, 2, false);
    await writeSplit(`${root}/xdg/hqat/fashion-mnist`, "train", 6, 3);
    await writeSplit(`${root}/system`, "train", 7, 4);
    const vars: Record<string, string> = { HQAT_DATA: `${root}/env`, XDG_CACHE_HOME: `${root}/xdg` };
    const env = (k: string) => vars[k];
    const opts = { env, systemDir: `${root}/system`, fetch: noFetch };
    assertEquals((await loadFashionMnist({ ...opts, dataDir: `${root}/explicit` })).count, 4);
    assertEquals((await loadFashionMnist(opts)).count, 5);
    delete vars.HQAT_DATA;
    assertEquals((await loadFashionMnist(opts)).count, 6);
    delete vars.XDG_CACHE_HOME;
    vars.HOME = `${root}/nohome`;
    assertEquals((await loadFashionMnist(opts)).count, 7);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadFashionMnist() fails clearly when nothing is found and the download fails", async () => {
  const root = await Deno.makeTempDir();
  try {
    const env = (k: string) => ({ HOME: `${root}/home` } as Record<string, string>)[k];
    const err = await assertRejects(
      () =>
        loadFashionMnist({ split: "test", env, systemDir: null, dataDir: `${root}/empty`, fetch: noFetch }),
      DatasetUnavailableError,
    );
    assertStringIncludes(err.message, "Fashion-MNIST (test) was not found in");
    assertStringIncludes(err.message, `${root}/empty/fashion-mnist`);
    assertStringIncludes(err.message, `${root}/home/.cache/hqat/fashion-mnist`);
    assertStringIncludes(err.message, `${FASHION_MNIST_SOURCE.baseUrl}t10k-images-idx3-ubyte.gz`);
    assertStringIncludes(err.message, "network is unreachable");
    const off = await assertRejects(
      () => loadFashionMnist({ env, systemDir: null, download: false }),
      DatasetUnavailableError,
    );
    assertStringIncludes(off.message, "downloading is off");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadFashionMnist() downloads into the cache, checks MD5s, then reads the cache", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeSplit(`${root}/served`, "train", 8, 5);
    const files = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"];
    const bodies = Object.fromEntries(
      await Promise.all(files.map(async (f) => [f, await Deno.readFile(`${root}/served/${f}`)])),
    );
    const source = {
      baseUrl: "https://mirror.test/fmnist/",
      md5: Object.fromEntries(files.map((f) => [f, md5Hex(bodies[f])])),
    };
    const requested: string[] = [];
    const fetch = (url: string | URL | Request) => {
      requested.push(String(url));
      const name = String(url).slice(source.baseUrl.length);
      return Promise.resolve(bodies[name] ? new Response(bodies[name]) : new Response("no", { status: 404 }));
    };
    const opts = {
      env: () => undefined,
      cacheDir: `${root}/cache`,
      systemDir: null,
      source,
      fetch: fetch as typeof globalThis.fetch,
    };
    const ds = await loadFashionMnist(opts);
    assertEquals(ds.count, 8);
    assertEquals(requested, files.map((f) => source.baseUrl + f));
    assert((await Deno.stat(`${root}/cache/fashion-mnist/train-images-idx3-ubyte.gz`)).isFile);
    // now served from the cache, without the network
    assertEquals((await loadFashionMnist({ ...opts, fetch: noFetch })).count, 8);

    // a body that does not match the published checksum is refused and not cached
    const err = await assertRejects(
      () =>
        loadFashionMnist({
          ...opts,
          split: "test",
          source: { ...source, md5: { ...FASHION_MNIST_SOURCE.md5 } },
          fetch: (() => Promise.resolve(new Response(new Uint8Array([1, 2, 3])))) as typeof globalThis.fetch,
        }),
      DatasetUnavailableError,
    );
    assertStringIncludes(
      err.message,
      "its MD5 is 5289df737df57326fcdd22597afb1fac but the published checksum is bef4ecab320f06d8554ea6380940ec79",
    );
    assertInstanceOf(err.cause, Error);
    const cached = [...Deno.readDirSync(`${root}/cache/fashion-mnist`)].map((e) => e.name).sort();
    assertEquals(cached, files.sort());
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const systemData = (() => {
  try {
    return Deno.statSync(`${FASHION_MNIST_SYSTEM_DIR}/train-images-idx3-ubyte.gz`).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "loadFashionMnist() reads the installed data set: 60000/10000 images, balanced classes",
  ignore: !systemData,
  fn: async () => {
    const opts = { env: () => undefined, download: false };
    for (const [split, count] of [["train", 60000], ["test", 10000]] as const) {
      const ds = await loadFashionMnist({ ...opts, split });
      assertEquals([ds.count, ds.channels, ds.height, ds.width], [count, 1, 28, 28]);
      const hist = new Array(10).fill(0);
      for (const l of ds.labels) hist[l]++;
      assertEquals(hist, new Array(10).fill(count / 10));
    }
  },
});

import { assert, assertEquals, assertRejects } from "@std/assert";
import { downloadVerified, md5Hex, writeFileAtomic } from "../mod.ts";

const respond = (body: BodyInit | null, init?: ResponseInit) =>
  (() => Promise.resolve(new Response(body, init))) as typeof fetch;

Deno.test("md5Hex() matches RFC 1321's test vectors", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assertEquals(md5Hex(enc("")), "d41d8cd98f00b204e9800998ecf8427e");
  assertEquals(md5Hex(enc("abc")), "900150983cd24fb0d6963f7d28e17f72");
  assertEquals(md5Hex(enc("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
});

Deno.test("downloadVerified() returns a body whose MD5 matches", async () => {
  const body = new Uint8Array(100000).map((_, i) => i * 7);
  const got = await downloadVerified("https://x.test/a", md5Hex(body), { fetch: respond(body) });
  assertEquals(got, body);
});

Deno.test("downloadVerified() names the URL on network, HTTP, size and checksum failures", async () => {
  const url = "https://x.test/file.gz";
  await assertRejects(
    () => downloadVerified(url, "0", { fetch: () => Promise.reject(new TypeError("dns error")) }),
    Error,
    `Cannot download ${url}: dns error`,
  );
  await assertRejects(
    () => downloadVerified(url, "0", { fetch: respond("gone", { status: 404 }) }),
    Error,
    "HTTP 404",
  );
  await assertRejects(
    () =>
      downloadVerified(url, "0", {
        fetch: respond(new Uint8Array(50), { headers: { "content-length": "50" } }),
        maxBytes: 10,
      }),
    RangeError,
    "more than the 10 allowed",
  );
  const stream = new ReadableStream({
    pull(c) {
      c.enqueue(new Uint8Array(8));
    },
  });
  await assertRejects(
    () => downloadVerified(url, "0", { fetch: respond(stream), maxBytes: 100 }),
    RangeError,
    "exceeds the 100 bytes allowed",
  );
  await assertRejects(
    () => downloadVerified(url, "00000000000000000000000000000000", { fetch: respond("abc") }),
    Error,
    `Cannot use ${url}: its MD5 is 900150983cd24fb0d6963f7d28e17f72 but the published checksum is 0000`,
  );
});

Deno.test("writeFileAtomic() replaces the file and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFileAtomic(`${dir}/a/b.bin`, new Uint8Array([1, 2]));
    await writeFileAtomic(`${dir}/a/b.bin`, new Uint8Array([3]));
    assertEquals([...await Deno.readFile(`${dir}/a/b.bin`)], [3]);
    assertEquals([...Deno.readDirSync(`${dir}/a`)].map((e) => e.name), ["b.bin"]);
    await assertRejects(() => writeFileAtomic(`${dir}/a/b.bin/c`, new Uint8Array(1)));
    assert([...Deno.readDirSync(`${dir}/a`)].length === 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadVerified() uses https only and turns a missing network permission into hqat's own advice", async () => {
  const body = new Uint8Array([1, 2, 3]);
  await assertRejects(
    () => downloadVerified("http://x.test/a", md5Hex(body), { fetch: respond(body) }),
    Error,
    "hqat downloads over https only",
  );
  const denied = (() => Promise.reject(new Deno.errors.NotCapable("Requires net access"))) as typeof fetch;
  await assertRejects(
    () => downloadVerified("https://www.cs.toronto.edu/a", md5Hex(body), { fetch: denied }),
    Error,
    'no network access to www.cs.toronto.edu. "deno task hqat" allows',
  );
});

Deno.test("The Fashion-MNIST source is https, and its content digests match the files Debian installs", async () => {
  const { FASHION_MNIST_SOURCE, FASHION_MNIST_SYSTEM_DIR, gunzipIfNeeded, sha256Hex } = await import(
    "../mod.ts"
  );
  assert(FASHION_MNIST_SOURCE.baseUrl.startsWith("https://"));
  for (const [file, sha] of Object.entries(FASHION_MNIST_SOURCE.contentSha256 ?? {})) {
    let gz: Uint8Array;
    try {
      gz = await Deno.readFile(`${FASHION_MNIST_SYSTEM_DIR}/${file}`);
    } catch {
      continue; // not installed here
    }
    assertEquals(sha256Hex(gunzipIfNeeded(gz)), sha, file);
  }
});

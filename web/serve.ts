/**
 * `deno task studio`: builds the page into `web/dist` and serves that folder on localhost (any static
 * host serves the same files). `--port N` (default 8123), `--no-build` to serve what is there.
 * @module
 */
import { buildWeb } from "./build.ts";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json",
  svg: "image/svg+xml",
  json: "application/json",
};

/**
 * Serves the files of `dir` on `hostname:port` (port 0 picks a free one); GET and HEAD only, no
 * listing, nothing outside `dir`. A browser asks for `/favicon.ico` of any page without an icon link;
 * where `dir` has none the answer is an empty 204, not a 404 the page's console would report.
 *
 * @example
 * ```ts ignore
 * const server = serveDir("web/dist", { port: 0 });
 * await server.shutdown();
 * ```
 */
export function serveDir(
  dir: string,
  options: { readonly port?: number; readonly hostname?: string; readonly onListen?: (url: string) => void } =
    {},
): Deno.HttpServer {
  const root = dir.replace(/\/$/, "");
  return Deno.serve({
    port: options.port ?? 8123,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: ({ hostname, port }) => options.onListen?.(`http://${hostname}:${port}/`),
  }, async (req) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed", { status: 405 });
    }
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.split("/").includes("..")) return new Response("not found", { status: 404 });
    const file = `${root}${path.endsWith("/") ? `${path}index.html` : path}`;
    try {
      const body = await Deno.readFile(file);
      const type = TYPES[file.split(".").pop() ?? ""] ?? "application/octet-stream";
      return new Response(req.method === "HEAD" ? null : body, {
        headers: { "content-type": type, "cache-control": "no-store" },
      });
    } catch {
      if (path === "/favicon.ico") return new Response(null, { status: 204 });
      return new Response("not found", { status: 404 });
    }
  });
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--port");
  const dir = new URL("./dist", import.meta.url).pathname;
  if (!Deno.args.includes("--no-build")) await buildWeb({ outDir: dir });
  serveDir(dir, {
    port: at >= 0 ? Number(Deno.args[at + 1]) : 8123,
    onListen: (url) => console.log(`hqat studio: ${url}`),
  });
}

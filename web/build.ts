/**
 * `deno task build:web`: the browser bundle and the studio page, with esbuild.
 *
 * - `hqat.js`: `hqat_browser.ts` and everything it imports as one ES module (the WebAssembly kernels
 *   are inside, as the packages embed them), minified, for `<script type="module">` or `import`.
 * - `studio.js`, `index.html`, `studio.css`, `favicon.svg`: the page; `studio.js` imports `./hqat.js`.
 *
 * Prints each file's size, raw and gzip. `--out DIR` (default `web/dist`) picks the folder.
 * @module
 */
import * as esbuild from "esbuild";
import { denoResolver } from "./deno_resolver.ts";

const WEB = new URL("./", import.meta.url);

/** Options of {@linkcode buildWeb}. */
export interface BuildWebOptions {
  /** The output folder (created; default `web/dist`). */
  readonly outDir?: string;
  /** Minify (default true). */
  readonly minify?: boolean;
  /** Where the size lines go (default `console.log`). */
  readonly log?: (line: string) => void;
}

/** One written file and its size. */
export interface BuiltFile {
  /** Its path. */
  readonly path: string;
  /** Its size in bytes. */
  readonly bytes: number;
  /** Its gzip size in bytes. */
  readonly gzipBytes: number;
}

async function gzipSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

async function denoOutput(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`deno ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** The path of `name` in web/. */
function webPath(name: string): string {
  return new URL(name, WEB).pathname;
}

/**
 * Builds the bundle and the page into `outDir`; returns the files written with their sizes.
 *
 * @example
 * ```ts ignore
 * import { buildWeb } from "./build.ts";
 * const files = await buildWeb({ outDir: await Deno.makeTempDir() });
 * console.log(files.map((f) => `${f.path} ${f.bytes}`));
 * ```
 */
export async function buildWeb(options: BuildWebOptions = {}): Promise<BuiltFile[]> {
  const outDir = options.outDir ?? webPath("dist");
  const log = options.log ?? ((line: string) => console.log(line));
  // Deno fetches the npm packages the bundle takes into its cache; the resolver reads them there.
  await denoOutput(["cache", webPath("hqat_browser.ts")]);
  const npmCache = JSON.parse(await denoOutput(["info", "--json"])).npmCache as string;
  await Deno.mkdir(outDir, { recursive: true });
  const common: esbuild.BuildOptions = {
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome113", "firefox141", "safari26"],
    minify: options.minify ?? true,
    sourcemap: "linked",
    legalComments: "none",
    // Built for pages: the packages' probes for a Deno runtime fold to "absent" and their branches drop.
    define: { "globalThis.Deno": "undefined" },
    logLevel: "warning",
    write: true,
  };
  const library = webPath("hqat_browser.ts");
  try {
    await esbuild.build({
      ...common,
      entryPoints: [library],
      outfile: `${outDir}/hqat.js`,
      plugins: [denoResolver({ npmCache })],
    });
    await esbuild.build({
      ...common,
      entryPoints: [webPath("studio/main.ts")],
      outfile: `${outDir}/studio.js`,
      plugins: [{
        name: "hqat-library-external",
        setup(build) {
          // The page loads the library bundle beside it rather than a second copy.
          build.onResolve({ filter: /hqat_browser\.ts$/ }, () => ({ path: "./hqat.js", external: true }));
        },
      }, denoResolver({ npmCache })],
    });
  } finally {
    await esbuild.stop();
  }
  for (const name of ["index.html", "studio.css", "favicon.svg"]) {
    await Deno.copyFile(webPath(`studio/${name}`), `${outDir}/${name}`);
  }
  const files: BuiltFile[] = [];
  for (const name of ["hqat.js", "studio.js", "index.html", "studio.css", "favicon.svg"]) {
    const bytes = await Deno.readFile(`${outDir}/${name}`);
    const file = { path: `${outDir}/${name}`, bytes: bytes.length, gzipBytes: await gzipSize(bytes) };
    files.push(file);
    log(
      `${name.padEnd(11)} ${(file.bytes / 1024).toFixed(1).padStart(8)} KiB  (gzip ${
        (file.gzipBytes / 1024).toFixed(1)
      } KiB)`,
    );
  }
  return files;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--out");
  await buildWeb({ outDir: at >= 0 ? Deno.args[at + 1] : undefined });
}

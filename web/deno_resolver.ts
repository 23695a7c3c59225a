/**
 * An esbuild plugin that resolves imports as Deno does in this workspace: `@hqat/NAME[/sub]` through
 * the packages' `deno.json` (`name`, `exports`), the root import map's `npm:` packages to the
 * self-contained browser build each ships (read from Deno's npm cache, so nothing is downloaded
 * twice), and `node:worker_threads` and `node:path` to the browser shims beside this file. Anything else that is not a
 * relative path fails the build, so a Node or Deno module cannot slip into the bundle.
 * @module
 */
import type * as esbuild from "esbuild";

const ROOT = new URL("../", import.meta.url);

/** The browser build of each npm package the bundle takes, relative to the package folder. */
export const NPM_BROWSER_FILES: Readonly<Record<string, string>> = {
  protobufjs: "dist/light/protobuf.js",
};

/** Node modules the bundle replaces, with the shim that stands in for each. */
export const NODE_SHIMS: Readonly<Record<string, string>> = {
  "node:worker_threads": "web/shims/worker_threads.ts",
  "node:path": "web/shims/path.ts",
};

/** What the plugin needs: the workspace root and Deno's npm cache folder. */
export interface ResolverOptions {
  /** The workspace root (default: the folder above `web/`). */
  readonly root?: URL;
  /** Deno's npm cache (`deno info --json`'s `npmCache`). */
  readonly npmCache: string;
}

interface Workspace {
  readonly packages: Map<string, { dir: string; exports: Record<string, string> }>;
  readonly npm: Map<string, string>;
}

async function readWorkspace(root: URL): Promise<Workspace> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const packages = new Map<string, { dir: string; exports: Record<string, string> }>();
  for (const member of config.workspace as string[]) {
    const dir = new URL(`${member.replace(/\/?$/, "/")}`, root);
    const pkg = JSON.parse(await Deno.readTextFile(new URL("deno.json", dir)));
    const exports = typeof pkg.exports === "string" ? { ".": pkg.exports } : pkg.exports;
    packages.set(pkg.name, { dir: dir.pathname, exports });
  }
  const npm = new Map<string, string>();
  for (const [name, target] of Object.entries(config.imports as Record<string, string>)) {
    const m = /^npm:(@?[^@]+)@(.+)$/.exec(target);
    if (m) npm.set(name, `${m[1]}@${m[2]}`);
  }
  return { packages, npm };
}

/**
 * The plugin (see the module description).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { denoResolver } from "./deno_resolver.ts";
 * assert(denoResolver({ npmCache: "/tmp/npm" }).name === "hqat-deno-resolver");
 * ```
 */
export function denoResolver(options: ResolverOptions): esbuild.Plugin {
  const root = options.root ?? ROOT;
  return {
    name: "hqat-deno-resolver",
    setup(build) {
      const workspace = readWorkspace(root);
      build.onResolve({ filter: /^@hqat\// }, async (args) => {
        const [scope, name, ...sub] = args.path.split("/");
        const pkg = (await workspace).packages.get(`${scope}/${name}`);
        const target = pkg?.exports[sub.length ? `./${sub.join("/")}` : "."];
        if (!pkg || !target) return { errors: [{ text: `No workspace package exports "${args.path}"` }] };
        return { path: new URL(target, `file://${pkg.dir}`).pathname };
      });
      build.onResolve({ filter: /^node:/ }, (args) => {
        const shim = NODE_SHIMS[args.path];
        if (!shim) return { errors: [{ text: `"${args.path}" has no browser shim (${args.importer})` }] };
        return { path: new URL(shim, root).pathname };
      });
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith("/")) return undefined;
        const id = (await workspace).npm.get(args.path);
        const file = NPM_BROWSER_FILES[args.path];
        if (!id || !file) {
          return {
            errors: [{
              text: `"${args.path}" is not an npm package the browser bundle takes (${args.importer})`,
            }],
          };
        }
        const at = id.lastIndexOf("@");
        return {
          path: `${options.npmCache}/registry.npmjs.org/${id.slice(0, at)}/${id.slice(at + 1)}/${file}`,
        };
      });
    },
  };
}

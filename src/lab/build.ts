/**
 * How the lab page is built: one esbuild bundle of `page/main.ts` (acktor, RxJS and Chart.js
 * included), next to `page/index.html` and `page/style.css`. The dev server
 * (`serve.ts`) and the lab's tests build it the same way.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import type { BuildOptions } from "esbuild";

/** The folder of the page's files: the dev server's root. */
export const PAGE_DIR = fileURLToPath(new URL("./page/", import.meta.url));

/** The static files of the page besides the bundle, by URL path, with their type. */
export const STATIC_FILES = {
  "/index.html": "text/html; charset=utf-8",
  "/style.css": "text/css; charset=utf-8",
} as const;

/** esbuild options for the page: served from memory as `/main.js`, never written to disk. */
export function pageBuildOptions(): BuildOptions {
  return {
    entryPoints: { main: `${PAGE_DIR}main.ts` },
    outdir: PAGE_DIR,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: "linked",
    write: false,
    logLevel: "warning",
  };
}

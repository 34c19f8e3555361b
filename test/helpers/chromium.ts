/**
 * Headless Chromium for the browser runtime: the system's Debian `chromium` (or
 * `chromium-headless-shell`), driven by `playwright-core`, which downloads no browser of its
 * own. Pages are served from a made-up origin through request interception, so module
 * scripts, `fetch` and WebSockets behave as on a real site without a server process to leak.
 */
import { existsSync } from "node:fs";
import { builtinModules, SourceMap } from "node:module";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { build, type BuildOptions, type Metafile, type Plugin } from "esbuild";

/** The origin every test page is served from. */
export const ORIGIN = "http://acktor.test";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-headless-shell", "/usr/lib/chromium/chromium"];

/** The browser binary: `ACKTOR_CHROMIUM`, else Debian's; throws saying how to install one. */
export function chromiumPath(): string {
  const chosen = process.env.ACKTOR_CHROMIUM;
  if (chosen !== undefined && chosen !== "") return chosen;
  const found = CANDIDATES.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      `no Chromium found (looked for ${CANDIDATES.join(", ")}): install Debian's (apt-get install chromium), ` +
        "or set ACKTOR_CHROMIUM to a Chromium or Chrome binary",
    );
  }
  return found;
}

/** Launches headless Chromium; close it in a `finally`. */
export function launchChromium(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
  return chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox"], headless: true });
}

/** Options for {@link bundleForBrowser}: esbuild's, and the environment the page sees. */
export interface BrowserBundleOptions extends BuildOptions {
  /** What `process.env` holds in the page (`node:process` is bundled as an environment); default empty. */
  readonly env?: Record<string, string | undefined>;
}

/**
 * Bundles `entry` (a path) for the browser as one ES module, in memory. `node:process`, which
 * the test harness reads its deadlines from, becomes an environment (`env`, default empty);
 * any other `node:*` import fails the bundle, which is the point: the core must not need one.
 */
export async function bundleForBrowser(entry: string, options: BrowserBundleOptions = {}): Promise<string> {
  const result = await buildForBrowser({ sourcemap: "inline", ...options }, { entryPoints: [entry] });
  return result.outputFiles![0]!.text;
}

/** esbuild for the browser, in memory: `options` over the defaults, then `fixed` over both. */
function buildForBrowser(options: BrowserBundleOptions, fixed: BuildOptions, plugins: Plugin[] = []) {
  const { env, ...rest } = options;
  return build({
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
    ...rest,
    ...fixed,
    plugins: [processShim(env), ...plugins, ...(rest.plugins ?? [])],
  });
}

function processShim(env: Record<string, string | undefined> = {}): Plugin {
  return {
    name: "process-shim",
    setup(b) {
      b.onResolve({ filter: /^(node:)?process$/ }, () => ({ path: "process", namespace: "process-shim" }));
      b.onLoad({ filter: /.*/, namespace: "process-shim" }, () => ({
        contents: `const env = ${
          JSON.stringify(env)
        }; export default { env, argv: [], exitCode: undefined }; export { env };`,
        loader: "js",
      }));
    },
  };
}

/** The first Node built-in an import reaches, and the module that imports it. */
export interface NodeOnly {
  readonly module: string;
  readonly importer: string;
}

/** A bundle of many entries at once: see {@link bundleManyForBrowser}. */
export interface ManyBundle {
  /** One ES module. */
  readonly script: string;
  /** Its source map, for {@link stackMapper}. */
  readonly sourceMap: string;
  /** Per specifier the entry imports: the first Node built-in it reaches, for those that reach one. */
  readonly nodeOnly: Map<string, NodeOnly>;
}

/**
 * Bundles `source` (an entry module's text, its imports resolved from `resolveDir`) for the
 * browser as {@link bundleForBrowser} does, however many files it imports, but a Node built-in
 * does not fail the bundle. Each specifier `source` imports that reaches one (depth first, in
 * import order) is listed in `nodeOnly`, with the first built-in it reaches and that built-in's
 * importer: it is what would fail to bundle on its own. `source` should import its files with
 * `import()`, which esbuild makes lazy, and must load none of those listed: each is a module
 * that throws.
 *
 * Two esbuild passes: the first reads the project's own modules only, leaving packages out, so
 * a file whose own code needs a built-in is known without reading its packages (the README's
 * test would bring in all of TypeScript); the second bundles the rest with their packages,
 * where a built-in becomes a module that throws when evaluated.
 */
export async function bundleManyForBrowser(
  source: string,
  resolveDir: string,
  options: BrowserBundleOptions = {},
): Promise<ManyBundle> {
  // The repository: the source map names files from here (`test/…`, `src/…`).
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const sourcefile = "acktor-entry.js";
  const entry = { stdin: { contents: source, resolveDir, sourcefile, loader: "js" as const }, absWorkingDir: root };
  const own = await buildForBrowser(options, { ...entry, metafile: true, sourcemap: false }, [
    nodeOnlyStubs,
    packagesLeftOut,
  ]);
  const nodeOnly = entryImportsReaching(own.metafile!);
  const full = await buildForBrowser(options, {
    ...entry,
    outfile: join(root, "acktor-bundle.js"),
    sourcemap: "external",
    metafile: true,
  }, [leftOut(join(resolveDir, sourcefile), [...nodeOnly.keys()]), nodeOnlyStubs]);
  for (const [specifier, found] of entryImportsReaching(full.metafile!)) nodeOnly.set(specifier, found);
  const script = full.outputFiles!.find((f) => f.path.endsWith(".js"))!.text;
  const sourceMap = full.outputFiles!.find((f) => f.path.endsWith(".js.map"))!.text;
  return { script, sourceMap, nodeOnly };
}

/** Per specifier the entry (`acktor-entry.js`) imports: the first built-in it reaches, if any. */
function entryImportsReaching(metafile: Metafile): Map<string, NodeOnly> {
  const inputs = metafile.inputs;
  const entry = Object.keys(inputs).find((path) => path.endsWith("acktor-entry.js"))!;
  const reached = new Map<string, NodeOnly>();
  for (const { path, original } of inputs[entry]!.imports) {
    const found = firstNodeOnly(inputs, path);
    if (found !== null && original !== undefined) reached.set(original, found);
  }
  return reached;
}

/** Packages (bare specifiers that are not built-ins) stay out of the bundle. */
const packagesLeftOut: Plugin = {
  name: "packages-left-out",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => ({ path: args.path, external: true }));
  },
};

/** The `specifiers` that `importer` imports are left out: each becomes a module that throws. */
function leftOut(importer: string, specifiers: string[]): Plugin {
  const filter = new RegExp(`^(${specifiers.map(escapeRegExp).join("|")})$`);
  return {
    name: "left-out",
    setup(b) {
      if (specifiers.length === 0) return;
      b.onResolve(
        { filter },
        (args) => args.importer === importer ? { path: args.path, namespace: "left-out" } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: "left-out" }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} needs Node built-ins: it is not in this bundle`)});`,
        loader: "js",
      }));
    },
  };
}

const STUB = "node-only";
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const BUILTIN = new RegExp(`^(${builtinModules.map(escapeRegExp).join("|")})(/.*)?$`);

/**
 * `node:*` modules, and bare built-in names that resolve to no browser package (a polyfill
 * such as `events` is used where one is installed), become modules that throw when evaluated.
 */
const nodeOnlyStubs: Plugin = {
  name: "node-only-stubs",
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: STUB }));
    b.onResolve({ filter: BUILTIN }, async (args) => {
      if (args.pluginData === STUB) return undefined;
      const { kind, importer, resolveDir } = args;
      const resolved = await b.resolve(args.path, { kind, importer, resolveDir, pluginData: STUB });
      // Resolvable (a polyfill, or a module the package's `browser` field disables): esbuild's own.
      return resolved.errors.length > 0 ? { path: args.path, namespace: STUB } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: STUB }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not available in a browser`)});`,
      loader: "js",
    }));
  },
};

/** Depth first from `start`, imports in order: the first stubbed built-in and its importer. */
function firstNodeOnly(inputs: Metafile["inputs"], start: string): NodeOnly | null {
  const seen = new Set<string>();
  const visit = (path: string): NodeOnly | null => {
    if (seen.has(path)) return null;
    seen.add(path);
    for (const next of inputs[path]?.imports ?? []) {
      if (next.path.startsWith(`${STUB}:`)) return { module: next.path.slice(STUB.length + 1), importer: path };
      const found = visit(next.path);
      if (found !== null) return found;
    }
    return null;
  };
  return visit(start);
}

/**
 * Rewrites `url:line:column` positions (a page's stack lines) into the original
 * `file:line:column`, through a bundle's source map.
 */
export function stackMapper(sourceMap: string, url: string): (text: string) => string {
  const map = new SourceMap(JSON.parse(sourceMap));
  const position = new RegExp(`${escapeRegExp(url)}:(\\d+):(\\d+)`, "g");
  return (text) =>
    text.replace(position, (whole, line: string, column: string) => {
      const entry = map.findEntry(Number(line) - 1, Number(column) - 1) as {
        originalSource?: string;
        originalLine?: number;
        originalColumn?: number;
      };
      if (entry.originalSource === undefined) return whole;
      return `${entry.originalSource}:${entry.originalLine! + 1}:${entry.originalColumn! + 1}`;
    });
}

/** What a page printed and threw while it ran. */
export interface PageLog {
  /** Console lines, as `type: text`. */
  readonly lines: string[];
  /** Console errors and uncaught page errors. */
  readonly errors: string[];
}

/** Files a page is served: path (from `/`) to contents and type. */
export type Site = Record<string, { body: string | Uint8Array; type: string }>;

/**
 * Opens `path` of `site` (served at {@link ORIGIN}) in a new page of `browser`, recording the
 * console; runs `fn`, then closes the page whatever happened. `beforeLoad` runs before the page
 * loads (`page.exposeFunction`, `page.addInitScript`).
 */
export async function withPage<T>(
  browser: Browser,
  site: Site,
  path: string,
  fn: (page: Page, log: PageLog) => Promise<T>,
  options: { beforeLoad?: (page: Page, log: PageLog) => Promise<void> } = {},
): Promise<T> {
  const page = await browser.newPage();
  const log: PageLog = { lines: [], errors: [] };
  page.on("console", (message) => {
    const line = `${message.type()}: ${message.text()}`;
    log.lines.push(line);
    if (message.type() === "error") log.errors.push(line);
  });
  page.on("pageerror", (error) => log.errors.push(`pageerror: ${error.stack ?? error.message}`));
  try {
    await page.route(`${ORIGIN}/**`, async (route) => {
      const file = site[new URL(route.request().url()).pathname];
      if (file === undefined) await route.fulfill({ status: 404, body: "not found" });
      else await route.fulfill({ status: 200, contentType: file.type, body: file.body as string });
    });
    await options.beforeLoad?.(page, log);
    await page.goto(`${ORIGIN}${path}`);
    return await fn(page, log);
  } finally {
    await page.close().catch(() => {});
  }
}

/** A page that loads one bundled module script. */
export function modulePage(script: string, title = "acktor"): Site {
  return {
    "/": {
      type: "text/html",
      body:
        `<!doctype html><meta charset="utf-8"><title>${title}</title><script type="module" src="/main.js"></script>`,
    },
    "/main.js": { type: "text/javascript", body: script },
  };
}

/**
 * The Chromium helper the browser runtime stands on (`test/helpers/chromium.ts`): a page's
 * console errors and uncaught errors are reported, a module that needs a Node built-in fails
 * to bundle naming it (or, bundled with others, is singled out with the module importing it),
 * the page sees the environment it was given, and its stack positions map back to the sources.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as assert from "uvu/assert";
import type { Browser } from "playwright-core";
import { suite } from "../helpers/harness.ts";
import {
  bundleForBrowser,
  bundleManyForBrowser,
  launchChromium,
  modulePage,
  ORIGIN,
  stackMapper,
  withPage,
} from "../helpers/chromium.ts";

const test = suite("chromium helper");
const dir = mkdtempSync(join(tmpdir(), "acktor-chromium-"));
let browser: Browser;

/** Writes `name` in the scratch folder; returns its path. */
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test.before(async () => {
  browser = await launchChromium();
});

test.after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a page's console error and its uncaught error are both reported", async () => {
  const script = `console.log("hello"); console.error("something broke"); throw new Error("nobody caught this");`;
  const log = await withPage(browser, modulePage(script), "/", async (page, log) => {
    await page.evaluate(() => 0); // every event of the load is in by now
    return log;
  });
  assert.ok(log.lines.includes("log: hello"), log.lines.join("\n"));
  assert.ok(log.errors.includes("error: something broke"), log.errors.join("\n"));
  assert.ok(
    log.errors.some((e) => e.startsWith("pageerror:") && e.includes("nobody caught this")),
    log.errors.join("\n"),
  );
});

test("an entry that imports a Node built-in fails to bundle, naming the module", async () => {
  const entry = file("fs-user.ts", `import { readFileSync } from "node:fs";\nexport const read = readFileSync;\n`);
  let error: unknown;
  try {
    await bundleForBrowser(entry);
  } catch (e) {
    error = e;
  }
  assert.instance(error, Error, "the bundle must fail");
  assert.match((error as Error).message, "node:fs");
});

test("bundled together, each file that reaches a built-in is named with the module that imports it", async () => {
  file("pure.ts", `export const answer = 42;\n`);
  file("net-helper.ts", `import { connect } from "node:net";\nexport const dial = connect;\n`);
  file(
    "uses-net.ts",
    `import { answer } from "./pure.ts";\nimport { dial } from "./net-helper.ts";\nexport { answer, dial };\n`,
  );
  // A package that needs one is found in the second pass, the one that reads packages.
  mkdirSync(join(dir, "node_modules", "tls-package"), { recursive: true });
  file("node_modules/tls-package/package.json", `{ "name": "tls-package", "main": "index.js" }`);
  file("node_modules/tls-package/index.js", `export { connect } from "node:tls";\n`);
  file("uses-package.ts", `export { connect } from "tls-package";\n`);
  const entry = [
    `export const pure = () => import("./pure.ts");`,
    `export const usesNet = () => import("./uses-net.ts");`,
    `export const usesPackage = () => import("./uses-package.ts");`,
  ].join("\n");
  const bundle = await bundleManyForBrowser(entry, dir);
  assert.is(bundle.nodeOnly.has("./pure.ts"), false);
  const own = bundle.nodeOnly.get("./uses-net.ts");
  assert.is(own?.module, "node:net");
  assert.match(own?.importer ?? "", /net-helper\.ts$/);
  const viaPackage = bundle.nodeOnly.get("./uses-package.ts");
  assert.is(viaPackage?.module, "node:tls");
  assert.match(viaPackage?.importer ?? "", /tls-package\/index\.js$/);
});

test("the page sees the environment it is given as node:process, and its stacks map to the sources", async () => {
  const entry = file(
    "env.ts",
    [
      `import process from "node:process";`,
      `console.log("deadline " + process.env.ACKTOR_TEST_DEADLINE_MS);`,
      `function fail(): never {`,
      `  throw new Error("mapped");`,
      `}`,
      `try { fail(); } catch (e) { console.log((e as Error).stack); }`,
    ].join("\n"),
  );
  const many = await bundleManyForBrowser(`import ${JSON.stringify(entry)};`, dir, {
    env: { ACKTOR_TEST_DEADLINE_MS: "1234" },
  });
  const lines = await withPage(browser, modulePage(many.script), "/", async (page, log) => {
    await page.evaluate(() => 0);
    return log.lines;
  });
  assert.ok(lines.includes("log: deadline 1234"), lines.join("\n"));
  const stack = lines.find((l) => l.includes("Error: mapped")) ?? "";
  assert.match(stack, `${ORIGIN}/main.js:`);
  const mapped = stackMapper(many.sourceMap, `${ORIGIN}/main.js`)(stack);
  assert.match(mapped, /env\.ts:4:\d+/, mapped);
});

test.run();

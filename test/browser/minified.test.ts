/**
 * acktor as an application ships it: bundled for the browser and minified. Minifiers rename
 * classes, so an error whose name came from its class read "V: invalid config …" in a
 * minified page; every error must keep the name its documentation and `String(error)` use.
 */
import { fileURLToPath } from "node:url";
import * as assert from "uvu/assert";
import { test } from "../helpers/harness.ts";
import * as acktor from "../../src/index.ts";
import { bundleForBrowser, launchChromium, modulePage, withPage } from "../helpers/chromium.ts";

const entry = fileURLToPath(new URL("./minified.page.ts", import.meta.url));

/** Every exported error class, by the name it is exported under. */
const errorClasses = Object.entries(acktor)
  .filter(([, value]) => typeof value === "function" && value.prototype instanceof Error)
  .map(([name]) => name)
  .sort();

test("every error keeps its class name in a minified browser bundle", async () => {
  assert.ok(errorClasses.length > 30, `found only ${errorClasses.length} error classes`);
  const script = await bundleForBrowser(entry, { minify: true, sourcemap: false });
  const browser = await launchChromium();
  try {
    await withPage(browser, modulePage(script), "/", async (page, log) => {
      const names = await page.evaluate(() =>
        (globalThis as unknown as { errorNames: Promise<string[][]> }).errorNames
      );
      assert.equal(log.errors, []);
      const wrong = names.filter(([exported, name]) => exported !== name);
      assert.equal(wrong, [], "exported name → error.name in the minified page");
      assert.equal(names.map(([exported]) => exported).sort(), errorClasses, "every error class was checked");
    });
  } finally {
    await browser.close();
  }
});

test.run();

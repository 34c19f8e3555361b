/**
 * The delivery lab (`npm run lab`), in headless Chromium: the real dev server serves a page
 * that loads without console errors; then, from the same files served by the test, a run with
 * a fixed seed renders the table `npm run demo -- --json` prints for that seed, its screenshot
 * is not blank, the keyboard reaches Run and starts a run, and "crash a consumer" crashes one
 * (lost records under before-processing, handler reruns under after-processing).
 *
 * `ACKTOR_LAB_SCREENSHOT=PATH` also runs the demo's default settings and saves the page to
 * PATH: that is how `src/lab/screenshot.png`, the README's, is made.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import * as assert from "uvu/assert";
import { describeCrash } from "../../src/demo/consume.ts";
import type { DemoRow } from "../../src/demo/semantics.ts";
import { PAGE_DIR, pageBuildOptions, STATIC_FILES } from "../../src/lab/build.ts";
import { launchChromium, type Site, withPage } from "../helpers/chromium.ts";
import { test } from "../helpers/harness.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "acktor-lab-"));
const SEED = 11;
const RECORDS = 2_000;

/** The page's table headers (the demo's wide table) and the row fields they show. */
const FIELDS: Record<string, (row: DemoRow) => string> = {
  "semantic": (r) => r.semantic,
  "consumer commit": (r) => r.commit,
  "sent": (r) => String(r.sent),
  "in log": (r) => String(r.delivered),
  "lost (producer)": (r) => String(r.lost),
  "dup (producer)": (r) => String(r.duplicated),
  "reported failed": (r) => String(r.reportedFailed),
  "processed": (r) => String(r.processed),
  "lost (consumer)": (r) => String(r.lostByConsumer),
  "processed twice": (r) => String(r.processedTwice),
  "handler reruns": (r) => String(r.handlerReruns),
  "crashes": (r) => String(r.crashes.length),
};

/** The page's files, built as the dev server builds them. */
async function labSite(): Promise<Site> {
  const result = await build(pageBuildOptions());
  const site: Site = {};
  for (const file of result.outputFiles!) {
    site[`/${file.path.slice(PAGE_DIR.length)}`] = { type: "text/javascript", body: file.text };
  }
  for (const [path, type] of Object.entries(STATIC_FILES)) {
    site[path] = { type, body: readFileSync(join(PAGE_DIR, path.slice(1)), "utf8") };
  }
  site["/"] = site["/index.html"]!;
  return site;
}

/** `npm run demo -- --json ARGS`, as its script runs it. */
function demoRows(args: readonly string[]): Promise<DemoRow[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/demo/cli.ts", "--json", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`the demo exited with ${code}: ${stderr.slice(-2000)}`));
      else resolve(stdout.trim().split("\n").map((line) => JSON.parse(line) as DemoRow));
    });
  });
}

/** The reconciliation table as the page shows it: per row, header to cell text. */
function pageTable(page: Page): Promise<Record<string, string>[]> {
  // A string, not a function: tsx would compile a function with helpers the page does not have.
  return page.evaluate(`(() => {
    const headers = [...document.querySelectorAll("#results thead th")].map((th) => th.textContent);
    return [...document.querySelectorAll("#results tbody tr[data-semantic]")].map((tr) =>
      Object.fromEntries([...tr.children].map((cell, i) => [headers[i], cell.textContent])));
  })()`);
}

/** Sets the form's fields by id, as typed values. */
async function fill(page: Page, values: Record<string, string | number>): Promise<void> {
  for (const [id, value] of Object.entries(values)) await page.fill(`#${id}`, String(value));
}

/** Waits for the run to end; fails with the page's status line if it failed. */
async function finished(page: Page, timeout = 120_000): Promise<void> {
  await page.waitForFunction(`["done", "failed"].includes(document.body.dataset.state)`, null, { timeout });
  const state = await page.evaluate("document.body.dataset.state");
  assert.is(state, "done", `the run ended ${state}: ${await page.textContent("#status")}`);
}

/** Clicks Run and waits for the run to end. */
async function runToEnd(page: Page, timeout?: number): Promise<void> {
  await page.click("#run");
  await finished(page, timeout);
}

let browser: Browser;
let site: Site;
test.before(async () => {
  [browser, site] = await Promise.all([launchChromium(), labSite()]);
});
test.after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("npm run lab serves the page, which loads without console errors", { deadlineMs: 90_000 }, async () => {
  let server: ChildProcess | null = null;
  const page = await browser.newPage();
  try {
    // What `npm run lab -- --port 0` runs, without npm in between, so the process is ours to stop.
    server = spawn(process.execPath, ["--import", "tsx", "src/lab/serve.ts", "--port", "0"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      server!.stdout!.on("data", (chunk: Buffer) => {
        out += chunk;
        const found = /http:\/\/\S+\//.exec(out);
        if (found) resolve(found[0]);
      });
      server!.stderr!.on("data", (chunk: Buffer) => (out += chunk));
      server!.on("close", (code) => reject(new Error(`the server exited with ${code}: ${out}`)));
    });
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    const response = await page.goto(url);
    assert.is(response?.status(), 200);
    await page.waitForFunction(`document.body.dataset.state === "ready"`, null, { timeout: 30_000 });
    assert.is(await page.title(), "acktor delivery lab");
    assert.is(await page.inputValue("#seed"), "7", "the demo's default seed");
    assert.is(await page.locator(".column").count(), 3);
    assert.equal(errors, [], "console errors");
  } finally {
    await page.close().catch(() => {});
    server?.kill();
  }
});

test(`a run with seed ${SEED} shows the table of npm run demo -- --json --seed ${SEED}`, {
  deadlineMs: 120_000,
}, async () => {
  const expected = demoRows(["--seed", String(SEED), "--records", String(RECORDS)]);
  await withPage(browser, site, "/", async (page, log) => {
    await page.setViewportSize({ width: 1200, height: 900 });
    await page.waitForFunction(`document.body.dataset.state === "ready"`);
    await fill(page, { seed: SEED, records: RECORDS });
    assert.match(await page.textContent("#equivalent") ?? "", `npm run demo -- --seed ${SEED} --records ${RECORDS}`);
    await runToEnd(page);
    const rows = await expected;
    const shown = await pageTable(page);
    assert.is(shown.length, 3);
    rows.forEach((row, i) => {
      for (const [header, field] of Object.entries(FIELDS)) {
        assert.is(shown[i]![header], field(row), `${row.semantic}: ${header}`);
      }
    });
    // Under the table, as under the demo's: where the consumers crashed, and the simulated time.
    const notes = await page.locator("#notes li").allTextContents();
    rows.forEach((row, i) => {
      assert.match(notes[i]!, `crashed at: ${row.crashes.map(describeCrash).join(", ")}`);
      assert.match(notes[i]!, `${row.simulatedMs.toLocaleString("en-US")} ms simulated`);
    });
    // The live counters end on the table's numbers.
    const inLog = await page.locator('.column dd[data-key="inLog"]').allTextContents();
    assert.equal(inLog, rows.map((r) => r.delivered.toLocaleString("en-US")));

    // (3) The screenshot: written, and not blank.
    const path = join(dir, "lab.png");
    await page.screenshot({ path, fullPage: true });
    const png = readFileSync(path);
    assert.ok(png.length > 20_000, `a ${png.length}-byte screenshot`);
    const colours = await page.evaluate(`(async () => {
      const image = new Image();
      image.src = "data:image/png;base64,${png.toString("base64")}";
      await image.decode();
      const canvas = document.createElement("canvas");
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext("2d");
      context.drawImage(image, 0, 0);
      const data = context.getImageData(0, 0, image.width, image.height).data;
      const seen = new Set();
      for (let i = 0; i < data.length; i += 4 * 7) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      return { width: image.width, colours: seen.size };
    })()`) as { width: number; colours: number };
    assert.is(colours.width, 1200);
    assert.ok(colours.colours > 100, `only ${colours.colours} colours in the screenshot`);
    assert.equal(log.errors, [], "console errors");
  });
});

test("the keyboard reaches Run, and Enter starts a run", { deadlineMs: 90_000 }, async () => {
  await withPage(browser, site, "/", async (page, log) => {
    await page.waitForFunction(`document.body.dataset.state === "ready"`);
    await fill(page, { records: 500 });
    await page.evaluate("document.activeElement.blur()");
    let focused = "";
    for (let i = 0; i < 10 && focused !== "run"; i++) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate("document.activeElement.id");
    }
    assert.is(focused, "run", "Tab reaches the Run button");
    const outline = await page.evaluate(`getComputedStyle(document.activeElement).outlineStyle`);
    assert.is.not(outline, "none", "the focused button shows its focus");
    await page.keyboard.press("Enter");
    await page.waitForFunction(`document.body.dataset.state !== "ready"`, null, { timeout: 10_000 });
    await finished(page);
    assert.equal((await pageTable(page)).map((row) => row.sent), ["500", "500", "500"]);
    assert.equal(log.errors, [], "console errors");
  });
});

test("crash a consumer: lost records under before-processing, reruns under after-processing", {
  deadlineMs: 120_000,
}, async () => {
  await withPage(browser, site, "/", async (page, log) => {
    await page.waitForFunction(`document.body.dataset.state === "ready"`);
    // No faults and no planned crashes: whatever is lost or handled again, the button did it.
    const none = { dropRequest: 0, dropResponse: 0, disconnect: 0, crashes: 0 };
    await fill(page, { seed: 3, records: 20_000, ...none });
    await page.click("#run");
    // Clicked from inside the page, on the first frame each button is enabled: while the
    // producers run, which arms the crash for the first consumer instance (without faults or
    // crashes, a consumer side may take less than a frame).
    const clicked = await page.evaluate(`new Promise((resolve) => {
      const ids = ["crash-0", "crash-1"];
      const clicked = [];
      const tick = () => {
        for (const id of ids) {
          const button = document.getElementById(id);
          if (!button.disabled && !clicked.includes(id)) {
            button.click();
            clicked.push(id);
          }
        }
        if (clicked.length === ids.length || document.body.dataset.state !== "running") resolve(clicked);
        else requestAnimationFrame(tick);
      };
      tick();
    })`);
    const why = `${await page.textContent("#status")} ${await page.evaluate("document.body.dataset.state")}`;
    assert.equal(clicked, ["crash-0", "crash-1"], `both crash buttons were enabled while their consumers ran (${why})`);
    await finished(page);
    const [atMostOnce, atLeastOnce] = await pageTable(page);
    assert.is(atMostOnce!["crashes"], "1");
    assert.ok(Number(atMostOnce!["lost (consumer)"]) > 0, "before-processing lost the rest of the batch in hand");
    assert.is(atMostOnce!["processed twice"], "0");
    assert.is(atLeastOnce!["crashes"], "1");
    assert.ok(Number(atLeastOnce!["handler reruns"]) > 0, "after-processing handed the batch in hand out again");
    assert.is(atLeastOnce!["lost (consumer)"], "0");
    const notes = await page.locator("#notes li").allTextContents();
    assert.match(notes[0]!, "crashed at: manual");
    assert.match(notes[1]!, "crashed at: manual");
    assert.equal(log.errors, [], "console errors");
  });
});

test("bad settings: a clear reason, no run, no page error; the demo line follows every field", {
  deadlineMs: 90_000,
}, async () => {
  await withPage(browser, site, "/", async (page, log) => {
    await page.waitForFunction(`document.body.dataset.state === "ready"`);
    await fill(page, { records: 300 });
    assert.match(await page.textContent("#equivalent") ?? "", /npm run demo -- --seed \d+ --records 300/);
    // A field outside the <form> element (attached with form="controls") changes the line too.
    await fill(page, { dropRequest: 3 });
    assert.match(await page.textContent("#equivalent") ?? "", /^Custom settings/);
    // A policy the producer refuses: reported up front, and Run starts nothing.
    await fill(page, { initialDelay: 500, maxDelay: 10 });
    assert.match(await page.textContent("#equivalent") ?? "", /maxDelay.*initialDelay/);
    await page.click("#run");
    await page.waitForFunction(`document.body.dataset.state === "failed"`);
    assert.match(await page.textContent("#status") ?? "", /^Cannot run: .*maxDelay.*initialDelay/);
    // A run that fails as it goes (every request lost) says why, and throws nothing into the page.
    await fill(page, { initialDelay: 5, maxDelay: 20, maxRetries: 1, dropRequest: 100 });
    await page.click("#run");
    await page.waitForFunction(`document.body.dataset.state === "failed"`, null, { timeout: 60_000 });
    assert.match(await page.textContent("#status") ?? "", /^The run failed: /);
    // Enter on a select runs too, as on every other field.
    await fill(page, { dropRequest: 0, maxRetries: 20, maxDelay: 200 });
    await page.focus("#strategy");
    await page.keyboard.press("Enter");
    await finished(page);
    assert.equal(log.errors, [], "console and page errors");
  });
});

const readmeShot = process.env.ACKTOR_LAB_SCREENSHOT;
if (readmeShot) {
  test("the README's screenshot: the demo's settings, run to the end", { deadlineMs: 300_000 }, async () => {
    await withPage(browser, site, "/", async (page, log) => {
      await page.setViewportSize({ width: 1200, height: 900 });
      await page.waitForFunction(`document.body.dataset.state === "ready"`);
      await runToEnd(page, 280_000);
      await page.evaluate("document.activeElement.blur()");
      writeFileSync(readmeShot, await page.screenshot({ fullPage: true }));
      assert.equal(log.errors, [], "console errors");
    });
  });
}

test.run();

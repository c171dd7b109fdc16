// Helpers for Bellhop's browser tests: scripts drive Debian's Chromium with playwright-core
// and print one `RESULT {json}` line that the Rust side (tests/src/browser.rs) parses.
//
// BROWSER_TESTS_CHROMIUM: the browser (default /usr/bin/chromium).
// BROWSER_TESTS_SCREENSHOTS: where screenshots go (default the workspace's target/screenshots).

import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.BROWSER_TESTS_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = resolve(here, process.env.BROWSER_TESTS_SCREENSHOTS || '../../target/screenshots');

/** Starts headless Chromium. Close it in a `finally`. */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Saves a full-page PNG as `<SCREENSHOTS>/<name>.png`; returns its path. */
export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Records the main thread's long tasks (over 50 ms) from the start of every document the page
 * loads next; call before `page.goto`. Returns an async getter of the tasks recorded so far
 * in the main frame (`[{ start, duration }]`, milliseconds), or null if nothing was recorded.
 */
export async function longTasks(page) {
  await page.addInitScript(() => {
    const tasks = [];
    window.__bellhopLongTasks = tasks;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        tasks.push({ start: entry.startTime, duration: entry.duration });
      }
    }).observe({ type: 'longtask', buffered: true });
  });
  return () => page.evaluate(() => window.__bellhopLongTasks ?? null);
}

/** Runs axe-core on the page's main frame; returns its results (`.violations`, …). */
export async function axe(page, options = {}) {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  return page.evaluate((opts) => window.axe.run(document, opts), options);
}

/** Prints the scenario's outcome as the one line the Rust side reads. */
export function result(obj) {
  process.stdout.write(`RESULT ${JSON.stringify(obj)}\n`);
}

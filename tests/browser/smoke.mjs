// The harness works: Chromium starts, runs a page's script, screenshots it, and axe-core and
// the long-task observer run in it. Run by tests/tests/browser_smoke.rs.

import { axe, launch, longTasks, result, screenshot } from './lib.mjs';

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Bellhop browser smoke</title>
<style>
  body { margin: 2rem; font: 16px/1.5 system-ui, sans-serif; background: #f6f7f9; color: #1d2330; }
  .bubble { position: fixed; right: 24px; bottom: 24px; width: 56px; height: 56px;
            border-radius: 50%; background: #2557d6; }
</style>
</head>
<body>
<main>
  <h1>Bellhop browser smoke</h1>
  <p>Script ran: <span id="ran">no</span></p>
</main>
<div class="bubble" aria-hidden="true"></div>
<script>document.getElementById('ran').textContent = 'yes';</script>
</body>
</html>`;

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 800, height: 500 } });
  const tasks = await longTasks(page);
  await page.goto(`data:text/html;charset=utf-8,${encodeURIComponent(html)}`);
  const shot = await screenshot(page, 'smoke');
  const a11y = await axe(page);
  const recorded = await tasks();
  result({
    browser: browser.version(),
    title: await page.title(),
    script_ran: (await page.textContent('#ran')) === 'yes',
    screenshot: shot,
    long_tasks: recorded === null ? null : recorded.length,
    axe_violations: a11y.violations.map((v) => v.id),
  });
} finally {
  await browser.close();
}
